"""Vietnam's administrative units: the province a pre-2025 province belongs to since the reform.

On 1 July 2025 the 63 provinces were merged into 34 (Resolution 202/2025/QH15). The mapping
comes from the ``vietnamadminunits`` package, which ships the old and new unit lists and the
converter between them as data: we convert the province name alone, so no street, ward or
geocoding lookup is involved.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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
    from vietnamadminunits import convert_address

    try:
        unit = convert_address(unicodedata.normalize("NFC", province))
    except Exception:  # the package raises bare Exceptions for names it cannot parse
        return None
    return short_name(unit.province) if unit.province else None
