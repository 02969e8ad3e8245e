"""Pre-2025 provinces mapped to the provinces they were merged into on 1 July 2025."""

from __future__ import annotations

import socket

import pytest

from archive.units import province_2025

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
]


@pytest.mark.parametrize(("before", "after"), MERGERS)
def test_province_2025(before, after, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the province mapping must not use the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert province_2025.__wrapped__(before) == after  # uncached: really looked up


def test_unknown_or_missing_province_has_no_successor():
    assert province_2025(None) is None
    assert province_2025("") is None
    assert province_2025("Atlantis") is None
