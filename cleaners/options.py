"""Extraction options: read once from the shipped settings.cfg plus an optional user file."""

from __future__ import annotations

import configparser
from dataclasses import dataclass, fields
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).with_name("settings.cfg")
SECTION = "cleaners"


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """Tunable thresholds of the extractor; see settings.cfg for what each one does."""

    min_body_chars: int = 80
    min_block_chars: int = 25
    max_link_ratio: float = 0.5
    listing_links: int = 4
    max_author_chars: int = 60
    max_caption_chars: int = 300
    template_share: float = 0.5
    template_min_pages: int = 3
    require_date: bool = True

    @classmethod
    def from_config(cls, path: str | Path | None = None) -> Options:
        """Defaults from settings.cfg, overridden by the keys present in ``path``."""
        parser = configparser.ConfigParser()
        parser.read(DEFAULT_CONFIG, encoding="utf-8")
        if path is not None:
            path = Path(path)
            if not path.is_file():
                raise FileNotFoundError(f"options file not found: {path}")
            parser.read(path, encoding="utf-8")
        section = parser[SECTION]
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name not in section:
                continue
            kind = type(getattr(cls(), f.name))
            if kind is bool:
                values[f.name] = section.getboolean(f.name)
            elif kind is int:
                values[f.name] = section.getint(f.name)
            else:
                values[f.name] = section.getfloat(f.name)
        unknown = set(section) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown option(s) in [{SECTION}]: {', '.join(sorted(unknown))}")
        return cls(**values)  # type: ignore[arg-type]


_DEFAULT: Options | None = None


def default_options() -> Options:
    """The shipped defaults, parsed once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Options.from_config()
    return _DEFAULT
