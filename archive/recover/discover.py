"""Discovery: which hosts existed under a province's government domains, according to web
archives, with their first and last captures, and which pre-2025 district each one served.

Provinces and their domains come from ``archive/provinces.toml``; district names from the
``vietnamadminunits`` package: its data file, read without importing the package, whose
address parser loads geopy, shapely and aiohttp (half a second) and may geocode over the
network, which discovery needs neither of. A host matches a
district when its first label spells the district's name without diacritics
(``aluoi.hue.gov.vn`` -> A Lưới), allowing a short suffix (``vinhbao-hp``).
"""

from __future__ import annotations

import importlib.util
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from archive.units import POST_2025, PRE_2025, match_key, names, province_2025, provinces

from . import cdx
from .fetch import Fetcher


@dataclass
class Host:
    host: str
    first: str  # first capture, YYYY-MM-DD
    last: str
    captures: int
    district: str | None = None
    province: str | None = None
    answers: bool | None = None  # None: not checked (--offline)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def province_domains(name: str) -> list[tuple[str, str]]:
    """(domain, pre-2025 province) pairs of ``name``, a pre- or post-2025 province: a
    post-2025 province brings the domains of every province merged into it."""
    wanted = match_key(name)
    entries = provinces()
    found: list[tuple[str, str]] = []
    for entry in entries:
        if wanted not in map(match_key, names(entry)):
            continue
        parts = entry.get("merged_from") or [entry["name"]]
        for part in parts:
            for other in entries:
                if other["era"] == PRE_2025 and other["name"] == part:
                    found.append((other["domain"], part))
        if entry["era"] == POST_2025:
            found.append((entry["domain"], entry["name"]))
    return list(dict.fromkeys(found))


@lru_cache(maxsize=1)
def _district_table() -> dict[str, dict[str, str]]:
    """Province key -> {district key: district name}, pre-2025, from vietnamadminunits."""
    spec = importlib.util.find_spec("vietnamadminunits")  # found, not imported
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("vietnamadminunits is not installed: pip install "
                                  "vietnamadminunits (it names the pre-2025 districts)")
    data = json.loads(Path(next(iter(spec.submodule_search_locations)), "data",
                           "parser_legacy.json").read_text(encoding="utf-8"))
    table: dict[str, dict[str, str]] = {}
    for key, province in data["DICT_PROVINCE"].items():
        districts = data["DICT_PROVINCE_DISTRICT"].get(key, {})
        table[match_key(province["provinceShort"])] = {
            match_key(d["districtShort"]): unicodedata.normalize("NFC", d["districtShort"])
            for d in districts.values()}
    return table


def match_district(host: str, province: str | None = None) -> tuple[str, str] | None:
    """(district, province) whose name the host's first label spells, searched in
    ``province`` when given, else in every province (unique matches only)."""
    label = host.removeprefix("www.").split(".")[0].lower()
    stem = label.split("-")[0]
    table = _district_table()
    if province:
        # The package names Thừa Thiên Huế as it was named from January 2025: Huế.
        pairs = (table.get(match_key(province))
                 or table.get(match_key(province_2025(province) or ""), {}))
        candidates = [(pairs[k], province) for k in (label, stem) if k in pairs]
        return candidates[0] if candidates else None
    candidates = [(districts[k], name) for name, districts in table.items()
                  for k in dict.fromkeys((label, stem)) if k in districts]
    if len(candidates) == 1:
        district, key = candidates[0]
        return district, _province_name(key)
    return None


def _province_name(key: str) -> str:
    """The pre-2025 province (districts were its units) the package's province key names."""
    for entry in provinces():
        if entry["era"] == PRE_2025 and key in map(match_key, names(entry)):
            return entry["name"]
    return key


def hosts(fetcher: Fetcher, endpoint: str, domain: str, *, paged: bool = False,
          page_size: int = 5000) -> dict[str, Host]:
    """Every host under ``domain`` the CDX API at ``endpoint`` knows, collapsed by host."""
    found: dict[str, Host] = {}
    listing = cdx.captures(fetcher, endpoint, cdx.query(endpoint, domain, match="domain"),
                           page_size=page_size, paged=paged)
    for capture in listing:
        host = capture.host.removeprefix("www.")
        if not host:
            continue
        day = capture.warc_date[:10]
        seen = found.get(host)
        if seen is None:
            found[host] = Host(host, day, day, 1)
        else:
            seen.first, seen.last = min(seen.first, day), max(seen.last, day)
            seen.captures += 1
    return found


def merge(into: dict[str, Host], more: Iterable[Host]) -> None:
    for host in more:
        seen = into.get(host.host)
        if seen is None:
            into[host.host] = host
        else:
            seen.first, seen.last = min(seen.first, host.first), max(seen.last, host.last)
            seen.captures += host.captures


def registry_entries(found: Iterable[Host], existing: Iterable[str]) -> list[dict[str, Any]]:
    """Registry tables for the hosts not in ``existing`` (base URLs), one per host."""
    known = {u.split("://", 1)[-1].removeprefix("www.").rstrip("/") for u in existing}
    entries = []
    for host in found:
        if host.host in known:
            continue
        entry: dict[str, Any] = {"id": host.host.replace(".", "-"),
                                 "base_url": f"http://{host.host}/"}
        if host.province:
            entry["province"] = host.province
        if host.district:
            entry["district"] = host.district
        if host.answers is False:
            entry["status"] = "dead"
        entry["checked"] = False
        entries.append(entry)
    return entries


def toml_tables(entries: list[dict[str, Any]], note: str) -> str:
    """``[[portal]]`` tables to append to a registry file."""
    out = [f"\n# {note}\n"]
    for entry in entries:
        out.append("[[portal]]")
        for key, value in entry.items():
            out.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        out.append("")
    return "\n".join(out)
