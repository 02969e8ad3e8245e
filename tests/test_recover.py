"""Recovering dead portals from web archives simulated on loopback: pywb as a Wayback-compatible
archive (CDX API + id_ replay) and a Common Crawl look-alike (CDX per crawl + WARC ranges),
both behind fronts that throw 429s, 503s, resets and torn bodies at the client."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from archive.cdxj import REPLAYED
from archive.recover.discover import match_district
from archive.warc import PROVENANCE_URN
from archive.warcfiles import iter_members, parse_record, read_member
from crawler.registry import RegistryError, load_fixture_portals, load_registry, select
from portal_archive.demo.archives import CommonCrawlServer, FaultFront, Wayback
from tests.conftest import FIXTURES, gold_records, run_cli

# Our loopback archives owe no politeness; the retries must still wait what they are told.
FAST = ["-s", "RECOVER_RATE=6000", "-s", "RECOVER_CC_RATE=6000",
        "-s", "RECOVER_BACKOFF_FIRST_DELAY=0.05", "-s", "RECOVER_BACKOFF_MAX_DELAY=2"]
WAYBACK_NAME = "loopback-wayback"


@pytest.fixture(scope="session")
def archives(crawled_archive, tmp_path_factory):
    """The live crawl of the fixture portals, served as a Wayback archive and as a Common
    Crawl one, each behind a faulty front."""
    work = tmp_path_factory.mktemp("archives")
    warc = work / "warc"
    shutil.copytree(crawled_archive / "warc", warc)
    with (Wayback(warc, work / "pywb") as wayback, CommonCrawlServer(warc) as cc,
          FaultFront(wayback.url) as wayback_front,
          FaultFront(cc.url, cdx_path="-index") as cc_front):
        yield {"warc": warc, "wayback": wayback_front, "cc": cc_front, "cc_server": cc,
               "args": [*FAST, "-s", f"RECOVER_CC_INDEX={cc_front.url}collinfo.json",
                        "-s", f"RECOVER_CC_DATA={cc_front.url}",
                        "--cdx", f"{wayback_front.url}archive/cdx",
                        "--replay", f"{wayback_front.url}archive/", "--name", WAYBACK_NAME]}


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Path:
    """The fixture portals as a registry file of the user's."""
    path = tmp_path_factory.mktemp("registry") / "portals.toml"
    lines = []
    for portal in load_fixture_portals(FIXTURES).values():
        lines += ["[[portal]]", f"id = {json.dumps(portal.id)}",
                  f"base_url = {json.dumps(portal.base_url)}",
                  f"province = {json.dumps(portal.province)}"]
        if portal.district:
            lines.append(f"district = {json.dumps(portal.district)}")
        lines += ['status = "dead"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def recover(data: Path, registry: Path, archives: dict, *args: str, check: bool = True):
    proc = run_cli("recover", "--registry", str(registry), "--dead", "--source", "cc",
                   *archives["args"], "--json", *args, data=data, check=check)
    return json.loads(proc.stdout), proc


@pytest.fixture(scope="session")
def recovered(archives, registry, tmp_path_factory):
    """A new data directory recovered from both archives (Common Crawl first)."""
    data = tmp_path_factory.mktemp("recovered")
    first, _ = recover(data, registry, archives)
    second, _ = recover(data, registry, archives)
    return {"data": data, "first": first, "second": second}


def query(data: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(data / "index.db")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def live_capture_times(crawled_archive: Path) -> dict[str, str]:
    return dict(query(crawled_archive, "select url, min(time) from captures where "
                      "record_type = 'response' and status = 200 group by url"))


def test_every_gold_article_is_recovered_once_with_its_source_and_date(recovered,
                                                                       crawled_archive):
    data = recovered["data"]
    gold = gold_records()
    rows = query(data, "select url, alternate_urls, portal, source, captured from articles")
    assert Counter(r[2] for r in rows) == Counter(g["portal"] for g in gold)
    by_url = {}
    for url, alternates, *rest in rows:
        for u in [url, *json.loads(alternates or "[]")]:
            by_url.setdefault(u, []).append((url, *rest))
    live_times = live_capture_times(crawled_archive)
    for g in gold:
        found = {r[0] for r in by_url.get(g["url"], [])}
        assert len(found) == 1, (g["url"], found)
        (_, _, source, captured), = {r for r in by_url[g["url"]]}
        # Common Crawl came first: its copies are the captures; the Wayback's are revisits.
        assert source == "cc"
        assert captured[:19] == live_times[g["url"]][:19]  # when the archive captured it


def test_recovery_fetched_everything_through_the_faults(recovered, archives):
    first = recovered["first"]
    assert {r["portal"] for r in first} == {g["portal"] for g in gold_records()}
    for result in first:
        for source in result["sources"]:
            assert source["given_up"] is None and source["failed"] == 0, source
            assert source["fetched"] == source["wanted"] > 0
    by_source = {s["source"]: s for r in first for s in r["sources"]}
    assert set(by_source) == {"cc", WAYBACK_NAME}
    for front in (archives["wayback"], archives["cc"]):
        assert front.injected["cdx"] == 1  # the CDX page that failed once
        assert {"429", "503", "reset", "truncate"} <= set(front.injected)
    retries = sum(s["retries"] for r in first for s in r["sources"])
    assert retries >= sum(archives["wayback"].injected.values()) - 1


def test_a_second_recover_fetches_nothing(recovered):
    for result in recovered["second"]:
        for source in result["sources"]:
            assert source["fetched"] == 0 and source["known"] == source["wanted"], source
        assert sum(result["articles"].values()) == 0


def test_the_same_pages_from_two_archives_are_stored_once(recovered):
    data = recovered["data"]
    wayback = dict(query(data, "select record_type, count(*) from captures where source = ? "
                               "group by record_type", (WAYBACK_NAME,)))
    # pywb decodes gzip bodies: the same content under another digest is still a revisit.
    assert wayback.get("revisit", 0) > 0 and wayback.get("response", 0) == 0, wayback


def test_common_crawl_records_are_copied_byte_for_byte(recovered, archives):
    originals = {}  # record id -> the gzip member as stored in the archive's WARC file
    for path in sorted(archives["warc"].glob("*.warc.gz")):
        raw = path.read_bytes()
        for member in iter_members(path):
            record_id = parse_record(member.data).rec_headers.get_header("WARC-Record-ID")
            originals[record_id] = raw[member.offset:member.offset + member.length]
    data = recovered["data"]
    rows = query(data, "select record_id, warc_file, warc_offset, warc_length from captures "
                       "where source = 'cc' and record_type = 'response'")
    assert rows
    for record_id, warc_file, offset, length in rows:
        with open(data / "warc" / warc_file, "rb") as fh:
            fh.seek(offset)
            assert fh.read(length) == originals[record_id]


def test_each_recovered_record_is_followed_by_its_provenance(recovered):
    data = recovered["data"]
    seen = Counter()
    for path in sorted((data / "warc").glob("*.warc.gz")):
        members = [parse_record(m.data) for m in iter_members(path)]
        for record, after in zip(members, members[1:], strict=False):
            if record.rec_type not in ("response", "revisit"):
                continue
            assert after.rec_type == "metadata"
            assert after.rec_headers.get_header("WARC-Refers-To") == \
                record.rec_headers.get_header("WARC-Record-ID")
            origin = json.loads(after.payload)
            assert origin["cdx"]["url"] == record.rec_headers.get_header("WARC-Target-URI")
            # Not under the page's URL, where pywb's own index would replay it as the page.
            assert after.rec_headers.get_header("WARC-Target-URI") == \
                PROVENANCE_URN + origin["cdx"]["url"]
            assert origin["retrieved"] and (origin.get("replay_url") or origin.get("range"))
            seen[origin["source"]] += 1
    assert set(seen) == {"cc", WAYBACK_NAME}


def test_a_wayback_capture_keeps_its_date_and_original_headers(archives, registry,
                                                               crawled_archive, tmp_path):
    # Wayback alone, into a new archive: its captures are responses of their own.
    data = tmp_path / "data"
    proc = run_cli("recover", "--registry", str(registry), "--portal", "aluoi-tth",
                   *archives["args"], "--json", data=data)
    assert json.loads(proc.stdout)[0]["sources"][0]["fetched"] > 0
    url, time, warc_file, offset, length = query(
        data, "select url, time, warc_file, warc_offset, warc_length from captures "
              "where record_type = 'response' and status = 200 and url like '%tc=1628'")[0]
    record = parse_record(read_member(data / "warc" / warc_file, offset, length))
    assert record.rec_headers.get_header("WARC-Date") == time
    live = query(crawled_archive, "select warc_file, warc_offset, warc_length from captures "
                                  "where url = ? and record_type = 'response'", (url,))[0]
    original = parse_record(read_member(crawled_archive / "warc" / live[0], live[1], live[2]))
    assert time[:19] == original.rec_headers.get_header("WARC-Date")[:19]
    # The portal's own headers, restored from X-Archive-Orig-*; the encoding pywb removed
    # stays named as the original's, not as this body's.
    assert record.http_headers.get_header("Server") == \
        original.http_headers.get_header("Server")
    assert record.http_headers.get_header("Content-Encoding") is None
    assert record.http_headers.get_header("X-Archive-Orig-Content-Encoding") == "gzip"
    assert record.http_headers.get_header("Memento-Datetime") is None


def test_verify_search_export_and_reindex_know_the_source(recovered, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(recovered["data"], data)
    run_cli("verify", data=data)
    gold = gold_records()[0]
    hits = json.loads(run_cli("search", gold["title"], "--source", "cc", "--json",
                              data=data).stdout)
    assert gold["url"] in {h["url"] for h in hits}
    assert json.loads(run_cli("search", gold["title"], "--source", "live", "--json",
                              data=data).stdout) == []
    run_cli("export", "--format", "jsonl", "--output", str(tmp_path / "out"), "--source", "cc",
            data=data)
    records = [json.loads(line) for line in
               (tmp_path / "out" / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(gold_records())
    assert all(r["source"] == "cc" and r["captured"] for r in records)
    before = query(data, "select source, record_type, count(*) from captures "
                         "group by 1, 2 order by 1, 2")
    articles = query(data, "select url, source, captured from articles order by url")
    run_cli("reindex", data=data)
    assert query(data, "select source, record_type, count(*) from captures "
                       "group by 1, 2 order by 1, 2") == before
    assert query(data, "select url, source, captured from articles order by url") == articles
    status = json.loads(run_cli("status", "--json", data=data).stdout)
    assert {s["portal"] for s in status} == {g["portal"] for g in gold_records()}
    assert all(set(s["sources"]) == {"cc", WAYBACK_NAME} for s in status)


def test_recovery_into_the_live_archive_writes_revisits(archives, registry, crawled_archive,
                                                        tmp_path):
    data = tmp_path / "data"
    shutil.copytree(crawled_archive, data)
    articles = query(data, "select count(*) from articles")[0][0]
    proc = run_cli("recover", "--registry", str(registry), "--portal", "vinhbao-hp",
                   "--source", "cc", *archives["args"], "--json", data=data)
    [result] = json.loads(proc.stdout)
    for source in result["sources"]:
        assert source["fetched"] > 0 and source["revisits"] == source["fetched"], source
    assert query(data, "select count(*) from articles")[0][0] == articles
    assert result["articles"].get("new", 0) == 0


def test_dry_run_counts_by_type_and_year_and_fetches_nothing(archives, registry, tmp_path):
    proc = run_cli("recover", "--registry", str(registry), "--portal", "baonghean",
                   *archives["args"], "--dry-run", data=tmp_path / "data")
    assert "baonghean from " + WAYBACK_NAME in proc.stdout and "page " in proc.stdout
    assert not (tmp_path / "data" / "index.db").exists()


def test_a_source_that_keeps_failing_is_given_up(registry, tmp_path):
    proc = run_cli("recover", "--registry", str(registry), "--portal", "baonghean",
                   "--cdx", "http://127.0.0.1:9/cdx", "--replay", "http://127.0.0.1:9/",
                   "-s", "RECOVER_ATTEMPTS=2", *FAST, data=tmp_path / "data", check=False)
    assert proc.returncode == 1
    assert "given up" in proc.stderr and "Traceback" not in proc.stderr


def listed_days(warc_dir: Path) -> list[tuple[str, str]]:
    """(host, day) of every capture a Wayback archive of ``warc_dir`` lists: its responses,
    and its revisits (a URL fetched twice with the same payload, as robots.txt is)."""
    found = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        for member in iter_members(path):
            headers = parse_record(member.data).rec_headers
            if headers.get_header("WARC-Type") in REPLAYED.split(","):
                found.append((headers.get_header("WARC-Target-URI").split("/")[2],
                              headers.get_header("WARC-Date")[:10]))
    return found


def test_discover_lists_the_archived_hosts_and_their_districts(archives, tmp_path):
    mine = tmp_path / "mine.toml"
    proc = run_cli("discover", "--domain", "test", "--cdx",
                   f"{archives['wayback'].url}archive/cdx", "--offline", "--json",
                   "--write", str(mine), *FAST)
    hosts = {h["host"]: h for h in json.loads(proc.stdout)}
    days = listed_days(archives["warc"])
    expected = Counter(host for host, _ in days)
    assert set(hosts) == set(expected)
    for host, n in expected.items():
        stamps = sorted(day for h, day in days if h == host)
        assert hosts[host]["captures"] == n
        assert (hosts[host]["first"], hosts[host]["last"]) == (stamps[0], stamps[-1])
    for portal in load_fixture_portals(FIXTURES).values():
        if portal.district:
            host = portal.base_url.split("/")[2]
            assert hosts[host]["district"] == portal.district
    written = mine.read_text(encoding="utf-8")
    assert written.count("[[portal]]") == len(expected)
    assert 'district = "A Lưới"' in written


def test_district_matching_needs_the_name_not_the_fixture():
    assert match_district("aluoi.hue.gov.vn", "Thừa Thiên Huế") == ("A Lưới", "Thừa Thiên Huế")
    assert match_district("tienlang.haiphong.gov.vn", "Hải Phòng")[0] == "Tiên Lãng"
    assert match_district("www.haiphong.gov.vn", "Hải Phòng") is None


def test_a_dead_portal_is_recovered_not_crawled(registry):
    portals = load_registry(registry)
    assert select(portals, []) == []  # crawl --all leaves dead portals out
    with pytest.raises(RegistryError, match="recover --portal aluoi-tth"):
        select(portals, ["aluoi-tth"])
