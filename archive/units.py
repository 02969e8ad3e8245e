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
from typing import TYPE_CHECKING

from archive.vietnamese import fold_word

if TYPE_CHECKING:
    import sqlite_utils

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
    # Imported here, at the first province named: the package loads geopy, shapely and aiohttp
    # for its address converter (half a second), which every search and crawl would pay.
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


def province_key(name: str) -> str:
    """How a province name is looked up: no unit type, no diacritics, no case."""
    return fold_word(short_name(name))


def province_keys(province: str | None) -> set[str]:
    """The names a portal of ``province`` answers to: that province, and the one it joined
    in 2025 (kept in the index's ``portal_provinces``, so that no search loads the unit
    tables)."""
    if not province or not province.strip():
        return set()
    return {province_key(province)} | ({province_key(p)} if (p := province_2025(province))
                                       else set())


def portals_in_province(db: sqlite_utils.Database, province: str) -> list[str]:
    """Ids of the portals whose province, as the portal knew it or the one it joined in 2025,
    is ``province`` (with or without its unit type and diacritics)."""
    return [portal for (portal,) in db.execute(
        "select portal from portal_provinces where name = ? order by portal",
        [province_key(province)])]
