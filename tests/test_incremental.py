"""Second and later crawls: listings, feeds and sitemaps again, article pages only when new or
changed; the learned host template carried from one crawl to the next."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from tests.conftest import FAST_CRAWL, FIXTURES, gold_records, run_cli

PORTALS = ("vinhbao-hp", "aluoi-tth")  # articles with ETag/Last-Modified, and without


def crawl(fixtures: Path, data: Path) -> None:
    args = [a for p in PORTALS for a in ("--portal", p)]
    run_cli("crawl", "--fixtures", str(fixtures), *args, *FAST_CRAWL, data=data)


def last_run_captures(db: sqlite3.Connection, portal: str) -> list[sqlite3.Row]:
    run = db.execute("select max(run_id) from captures where portal = ?", [portal]).fetchone()[0]
    return db.execute("select url, status, record_type from captures where run_id = ?",
                      [run]).fetchall()


def template_pages(db: sqlite3.Connection) -> dict[str, int]:
    return {r["host"]: json.loads(r["data"])["pages"]
            for r in db.execute("select host, data from templates")}


def change_one_article(fixtures: Path) -> str:
    """Edit the text of one vinhbao-hp article (and its ETag, as a server would); its URL."""
    site = fixtures / "sites" / "vinhbao-hp"
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    for gold in gold_records(fixtures):
        if gold["portal"] != "vinhbao-hp":
            continue
        path = gold["url"].split(".test", 1)[1]
        entry = manifest["urls"][path]
        page = site / entry["file"]
        html = page.read_text(encoding="utf-8")
        sentence = gold["body"][-1][:40]
        if sentence in html:
            page.write_text(html.replace(sentence, "Bản cập nhật: " + sentence), "utf-8")
            entry["headers"]["ETag"] = 'W/"changed-by-test"'
            (site / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False),
                                                encoding="utf-8")
            return gold["url"]
    raise AssertionError("no vinhbao-hp article whose text could be edited")


def test_recrawls_fetch_only_new_or_changed_articles(tmp_path):
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, fixtures)
    data = tmp_path / "data"
    gold_urls = {g["url"] for g in gold_records() if g["portal"] in PORTALS}

    crawl(fixtures, data)
    with closing(sqlite3.connect(data / "index.db")) as db:
        db.row_factory = sqlite3.Row
        first_templates = template_pages(db)
        assert {r["url"] for r in db.execute("select url from articles")} == gold_urls

        crawl(fixtures, data)  # nothing changed
        for portal in PORTALS:
            captures = last_run_captures(db, portal)
            assert any(c["status"] == 200 for c in captures)  # listings were fetched again
            assert not [c["url"] for c in captures if c["url"] in gold_urls and c["status"] == 200]
        # No article page fetched: the template learned in the first crawl is kept as it was.
        assert template_pages(db) == first_templates

        changed = change_one_article(fixtures)
        crawl(fixtures, data)
        versions = {r["url"]: r["version"] for r in db.execute("select url, version from articles")}
        assert set(versions) == gold_urls
        assert {u for u, v in versions.items() if v > 1} == {changed}
        text = db.execute("select text from articles where url = ?", [changed]).fetchone()[0]
        assert "Bản cập nhật" in text
        # The template was loaded from the index and learned the changed page on top.
        vinhbao = "vinhbao-hp.test"
        assert template_pages(db)[vinhbao] == first_templates[vinhbao] + 1
