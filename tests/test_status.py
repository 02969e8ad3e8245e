"""``portal-archive status``: per portal, what the last runs did and whether it is healthy."""

from __future__ import annotations

import json

from tests.conftest import gold_records, run_cli


def test_status_lists_every_crawled_portal_with_its_figures(crawled_archive):
    rows = json.loads(run_cli("status", "--json", data=crawled_archive).stdout)
    gold_portals = sorted({g["portal"] for g in gold_records()})
    assert [r["portal"] for r in rows] == gold_portals
    for row in rows:
        gold_count = sum(g["portal"] == row["portal"] for g in gold_records())
        assert row["articles"] == gold_count
        assert row["last_run"]["result"] == "ok" and row["last_run"]["pages"] > 0
        assert row["new_in_recent_runs"] >= gold_count
        assert 0 < row["error_rate"] < 0.5  # each portal has a page that fails once
        assert row["health"] == "ok" and row["alarms"] == []


def test_status_as_a_table(crawled_archive):
    out = run_cli("status", data=crawled_archive).stdout.splitlines()
    assert out[0].split()[:3] == ["portal", "last", "run"]
    body = [line for line in out[2:] if line.strip()]
    assert len(body) == len({g["portal"] for g in gold_records()})
    assert all(line.rstrip().endswith("OK") for line in body)


def test_status_without_an_archive_says_so(tmp_path):
    proc = run_cli("status", data=tmp_path / "nothing", check=False)
    assert proc.returncode == 1
    assert "no archive" in proc.stderr and "Traceback" not in proc.stderr
