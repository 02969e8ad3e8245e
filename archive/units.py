"""Vietnam's administrative units: the province a pre-2025 province belongs to since the reform.

On 1 July 2025 the 63 provinces were merged into 34 (Resolution 202/2025/QH15). The mapping
comes from the ``vietnamadminunits`` package, which ships the old (63) and new (34) unit lists
and the merger table between them as data. We use its parser and that table at province level
only: its full address converter may geocode a street address over the network, which an
archive export must never do.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import sqlite_utils

from archive.vietnamese import fold_word

# The package names units with their type; portals and analysts name provinces without it.
UNIT_PREFIX = re.compile(r"^(tỉnh|thành phố|tp\.?)\s+", re.IGNORECASE)


def short_name(name: str) -> str:
    """``Thành phố Huế`` -> ``Huế``: a province's name without its unit type."""
    return UNIT_PREFIX.sub("", unicodedata.normalize("NFC", name).strip())


@lru_cache(maxsize=256)
def province_2025(province: str | None) -> str | None:
    """The post-2025 province a pre-2025 province (or a current one) belongs to, or None when
    the name is not a known province."""
    if not province or not province.strip():
        return None
    from vietnamadminunits import parse_address
    from vietnamadminunits.converter.converter_2025 import DICT_PROVINCE
    from vietnamadminunits.parser import ParseMode

    try:
        old = parse_address(unicodedata.normalize("NFC", province), mode=ParseMode.LEGACY,
                            level=1)
    except Exception:  # the package raises bare Exceptions for names it cannot parse
        return None
    new_key = next((new for new, olds in DICT_PROVINCE.items() if old.province_key in olds),
                   None)
    if new_key is None:
        return None
    return short_name(parse_address(new_key, mode=ParseMode.FROM_2025, level=1).province)


def portals_in_province(db: sqlite_utils.Database, province: str) -> list[str]:
    """Ids of the portals whose province, as the portal knew it or the one it joined in 2025,
    is ``province`` (with or without its unit type and diacritics)."""
    wanted = fold_word(short_name(province))
    return [row["id"] for row in db.query("select id, province from portals")
            if row["province"] and wanted in (fold_word(short_name(row["province"])),
                                              fold_word(province_2025(row["province"]) or ""))]
