"""Pre-2025 provinces mapped to the provinces they were merged into on 1 July 2025.

The mapping is the table shipped in ``archive/provinces.toml``; these tests hold it against the
``vietnamadminunits`` package (its 63 pre-2025 units, its 34 units since, and its merger table),
so that the shipped data cannot drift from the package silently.
"""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from functools import cache
from importlib.resources import files

import pytest
import vietnamadminunits
from vietnamadminunits import ParseMode, parse_address

from archive.units import POST_2025, PRE_2025, names, province_2025, provinces
from archive.vietnamese import fold_word


@cache
def package_table(name: str) -> dict:
    return json.loads(files(vietnamadminunits).joinpath(f"data/{name}.json")
                      .read_text(encoding="utf-8"))["DICT_PROVINCE"]


def short(unit: dict) -> str:
    return unicodedata.normalize("NFC", unit["provinceShort"])


def package_successors() -> dict[str, str]:
    """The package's pre-2025 province key -> the short name of the province it joined."""
    current = package_table("parser_from_2025")
    return {old: short(current[new])
            for new, olds in package_table("converter_2025").items() for old in olds}


def spellings(unit: dict) -> list[str]:
    """How a person writes a province: with or without its unit type, with or without
    diacritics, and the package's other keywords for it ("hcm", "vungtau")."""
    written = [unit["province"], unit["provinceShort"]]
    written += [fold_word(n) for n in written]
    return written + [k for k in unit["provinceKeywords"][1:] if k != fold_word(short(unit))]


LEGACY = sorted(package_table("parser_legacy").items())
CURRENT = sorted(package_table("parser_from_2025").items())


def test_the_package_has_63_provinces_before_and_34_after():
    assert (len(LEGACY), len(CURRENT)) == (63, 34)
    assert len([e for e in provinces() if e["era"] == PRE_2025]) == 63
    assert len([e for e in provinces() if e["era"] == POST_2025]) == 34


@pytest.mark.parametrize(("key", "unit"), LEGACY, ids=[k for k, _ in LEGACY])
def test_each_pre_2025_province_maps_as_the_package_maps_it(key, unit):
    expected = package_successors()[key]
    for name in spellings(unit):
        assert province_2025(name) == expected, name


@pytest.mark.parametrize(("key", "unit"), CURRENT, ids=[k for k, _ in CURRENT])
def test_each_2025_province_maps_to_itself(key, unit):
    for name in spellings(unit):
        assert province_2025(name) == short(unit), name


def test_the_shipped_names_are_the_packages_provinces():
    """Every name and alias of the table is one the package reads as the same province, and
    every 2025 province lists exactly the package's pre-2025 provinces merged into it."""
    successors = package_successors()
    current = dict(CURRENT)
    before = {e["name"]: e for e in provinces() if e["era"] == PRE_2025}
    merged = []
    for entry in provinces():
        for name in names(entry):
            if entry["era"] == PRE_2025:
                found = successors[parse_address(name, mode=ParseMode.LEGACY,
                                                 level=1).province_key]
            else:
                found = short(current[parse_address(name, mode=ParseMode.FROM_2025,
                                                    level=1).province_key])
            assert found == province_2025(name), name
        if entry["era"] == POST_2025:
            merged += entry["merged_from"]
            assert {province_2025(n) for n in entry["merged_from"]} == {entry["name"]}
    assert sorted(merged) == sorted(before)  # each pre-2025 province merged exactly once


MERGERS = [  # (province before the reform, province it belongs to since), per Resolution 202
    ("Hà Giang", "Tuyên Quang"),
    ("Hải Dương", "Hải Phòng"),
    ("Bình Dương", "Hồ Chí Minh"),
    ("Bà Rịa - Vũng Tàu", "Hồ Chí Minh"),
    ("Kon Tum", "Quảng Ngãi"),
    ("Bến Tre", "Vĩnh Long"),
    ("Hà Nam", "Ninh Bình"),
    ("Thừa Thiên Huế", "Huế"),
    ("Quảng Ninh", "Quảng Ninh"),  # not merged
    ("Thành phố Hồ Chí Minh", "Hồ Chí Minh"),
    ("tinh ha giang", "Tuyên Quang"),
    ("TP. Hồ Chí Minh", "Hồ Chí Minh"),
]


@pytest.mark.parametrize(("before", "after"), MERGERS)
def test_province_2025(before, after):
    assert province_2025(before) == after


def test_unknown_or_missing_province_has_no_successor():
    assert province_2025(None) is None
    assert province_2025("") is None
    assert province_2025("Atlantis") is None


def test_naming_a_province_or_a_district_loads_no_address_parser():
    # What every crawl, search and discovery pays: the shipped table and the package's data
    # file, not the package's geocoding stack.
    code = ("import sys; from archive.units import province_2025; province_2025('Huế'); "
            "from archive.recover.discover import match_district; "
            "assert match_district('aluoi.hue.gov.vn') == ('A Lưới', 'Thừa Thiên Huế'); "
            "print(sorted(m for m in ('vietnamadminunits', 'geopy', 'shapely') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "[]"
