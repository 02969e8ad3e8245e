"""One crawl of the bundled fixture portals, all the way through: WARC, index, search."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

from warcio.archiveiterator import ArchiveIterator

from cleaners import HostTemplate
from tests.conftest import gold_records, run_cli


def articles(data) -> list[dict]:
    conn = sqlite3.connect(data / "index.db")
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("select * from articles")]
    conn.close()
    return rows


def test_every_gold_article_is_stored_once(crawled_archive):
    stored = Counter(row["url"] for row in articles(crawled_archive))
    missing = [g["url"] for g in gold_records() if stored[g["url"]] != 1]
    assert missing == []
    # ... and not again under its second URL (tracking parameters, swapped parameters).
    for gold in gold_records():
        for alternate in gold.get("alternate_urls") or []:
            assert stored[alternate] == 0, alternate


def test_stored_article_fields_come_from_the_page(crawled_archive):
    by_url = {row["url"]: row for row in articles(crawled_archive)}
    for gold in gold_records():
        row = by_url[gold["url"]]
        assert row["portal"] == gold["portal"]
        assert gold["body"][-1][:40] in row["text"]
        assert row["extractor"] in ("cleaners", "trafilatura", "both")


def test_warc_files_read_back_with_a_response_for_every_article(crawled_archive):
    warcs = sorted((crawled_archive / "warc").glob("*.warc.gz"))
    assert warcs, "no WARC written"
    assert not list((crawled_archive / "warc").glob("*.open")), "a WARC file was left open"
    responses: dict[str, dict] = {}
    for path in warcs:
        with path.open("rb") as fh:
            records = list(ArchiveIterator(fh))
        assert records[0].rec_type == "warcinfo"
        for record in records:
            if record.rec_type == "response":
                responses[record.rec_headers.get_header("WARC-Record-ID")] = {
                    "uri": record.rec_headers.get_header("WARC-Target-URI"),
                    "file": path.name,
                }
    for row in articles(crawled_archive):
        # The article points at the capture its text came from, under the portal's own URL.
        with (crawled_archive / "warc" / row["warc_file"]).open("rb") as fh:
            fh.seek(row["warc_offset"])
            record = next(iter(ArchiveIterator(fh)))
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Target-URI").startswith("http://")
        assert ".test/" in record.rec_headers.get_header("WARC-Target-URI")
        assert record.rec_headers.get_header("WARC-Record-ID") in responses


def test_search_finds_a_known_article(crawled_archive):
    gold = next(g for g in gold_records() if g["portal"] == "vinhbao-hp")
    proc = run_cli("search", gold["title"], "--json", data=crawled_archive)
    hits = json.loads(proc.stdout)
    assert hits and hits[0]["url"] == gold["url"]


def test_search_without_an_archive_says_so(tmp_path):
    proc = run_cli("search", "hội đồng", data=tmp_path / "nothing", check=False)
    assert proc.returncode == 1
    assert "no archive" in proc.stderr and "Traceback" not in proc.stderr


def test_each_portal_template_is_learned_and_kept_in_the_index(crawled_archive):
    # Later crawls start from what this one learned: the templates table holds, per host,
    # lines that repeat across the portal's pages, such as its slogan banner.
    conn = sqlite3.connect(crawled_archive / "index.db")
    stored = {host: HostTemplate.from_json(data)
              for host, data in conn.execute("select host, data from templates")}
    conn.close()
    hosts = {g["url"].split("/")[2] for g in gold_records()}
    assert hosts <= set(stored)
    for host in hosts:  # every article of the crawl taught it
        articles = [g for g in gold_records() if g["url"].split("/")[2] == host]
        assert stored[host].pages >= len(articles)
    # The header clock of the newspaper is the same line on every page: chrome by template,
    # though no wording rule knows it.
    clock = next(b for g in gold_records() if g["portal"] == "baonghean"
                 for b in g["boilerplate"] if "(GMT +7)" in b)
    assert stored["baonghean.test"].is_chrome(clock)
