"""The SQLite index: what the WARC files hold, in tables that answer questions fast.

Everything here can be rebuilt from the WARC files (``portal-archive reindex``): every row
that comes from a capture points at its WARC file, offset and length.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Container, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils
from sqlite_utils import Migrations

from . import search, units
from .dberror import REINDEX_HINT, is_damage

migrations = Migrations("portal-archive")

# The source of a capture made by our own crawl; recovered ones name their archive ("ia",
# "cc" or the archive's own name: archive/recover/).
LIVE = "live"
# Text columns the full-text index covers, in the order bm25() weights refer to.
FTS_COLUMNS = ["title", "summary", "text"]


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["portals"].create(
        {"id": str, "name": str, "base_url": str, "province": str, "district": str,
         "family": str},
        pk="id",
    )
    db["runs"].create(
        {"id": int, "started": str, "ended": str, "portals": str, "stats": str,
         "status": str},
        pk="id",
    )
    db["captures"].create(
        {"id": int, "run_id": int, "portal": str, "url": str, "time": str, "status": int,
         "content_type": str, "page_type": str, "record_type": str, "record_id": str,
         "payload_digest": str, "warc_file": str, "warc_offset": int, "warc_length": int},
        pk="id",
    )
    db["captures"].create_index(["url"])
    db["captures"].create_index(["payload_digest"])
    db["articles"].create(
        {"id": str, "url": str, "portal": str, "title": str, "published": str,
         "date_source": str, "author": str, "category": str, "summary": str, "text": str,
         "captions": str, "attachments": str, "word_count": int, "language": str,
         "digest": str, "alternate_urls": str, "first_seen": str, "last_seen": str,
         "version": int, "record_id": str, "warc_file": str, "warc_offset": int,
         "warc_length": int, "payload_digest": str},
        pk="id",
    )
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["portal", "digest"])
    db["articles"].create_index(["published"])
    db["article_versions"].create(
        {"article_id": str, "version": int, "digest": str, "captured": str, "title": str,
         "text": str, "warc_file": str, "warc_offset": int, "warc_length": int},
        pk=("article_id", "version"),
    )
    db["templates"].create({"host": str, "data": str, "updated": str}, pk="host")
    db["articles"].enable_fts(
        FTS_COLUMNS, create_triggers=True, tokenize="unicode61 remove_diacritics 2"
    )


@migrations()
def m002_vietnamese_search(db: sqlite_utils.Database) -> None:
    # FTS5's own folding cannot match Vietnamese (see archive/search/): the unicode61
    # table goes; the tables fed with folded and exact word forms that replace it are made
    # by the last search migration (m_search_002), for the articles' columns of that time.
    for trigger in db.triggers:
        if trigger.table == "articles":
            db.execute(f"drop trigger [{trigger.name}]")
    db["articles_fts"].drop()


@migrations()
def m003_capture_record_ids(db: sqlite_utils.Database) -> None:
    # Page types, revisits and verify look captures up by their WARC record id.
    db["captures"].create_index(["record_id"], if_not_exists=True)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def article_id(url: str) -> str:
    """A stable id for an article: the same canonical URL always gives the same id."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]


class DamagedIndex(sqlite3.DatabaseError):
    """The index file cannot be read as an SQLite database: it is to be rebuilt from WARC."""

    def __init__(self, path: Path, error: Exception) -> None:
        super().__init__(f"{path}: the index cannot be read ({error}): {REINDEX_HINT}")


def open_index(path: Path | str) -> sqlite_utils.Database:
    """Open (creating or migrating as needed) the index at ``path``; DamagedIndex when the
    file is not a readable SQLite database."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite_utils.Database(path)
        db.enable_wal()
        db.execute("PRAGMA synchronous=NORMAL")  # WAL makes NORMAL crash-safe for committed data
        migrations.apply(db)
    except sqlite3.DatabaseError as e:
        if is_damage(e):
            raise DamagedIndex(path, e) from None
        raise
    return db


class OutdatedIndex(Exception):
    """A read-only index written by an older version, which only a write can bring up to date."""


def open_index_readonly(path: Path | str) -> sqlite_utils.Database:
    """Open the index at ``path`` for reading only: nothing is created, migrated or written,
    so a read-only copy, a snapshot or a user without write access can read it.

    SQLite opens it with ``mode=ro``; where WAL cannot make its ``-shm`` file (a directory the
    process cannot write, which has none), with ``immutable=1``, which reads the database
    file alone: a committed crawl leaves no ``-wal`` behind it. Raises OutdatedIndex when the
    index needs a migration, which reading alone cannot apply."""
    path = Path(path)
    writable = os.access(path.parent, os.W_OK)
    mode = "mode=ro" if writable or Path(f"{path}-shm").exists() else "immutable=1"
    db = sqlite_utils.Database(sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True))
    try:
        pending = migrations.pending(db)
    except sqlite3.DatabaseError as e:
        db.close()
        if is_damage(e):
            raise DamagedIndex(path, e) from None
        raise
    if pending:
        db.close()
        raise OutdatedIndex(f"{path} was written by an older portal-archive: open it once "
                            "with write access (any command as its owner) to update it")
    return db


def upsert_portal(db: sqlite_utils.Database, portal: dict[str, Any]) -> None:
    columns = ("id", "name", "base_url", "province", "district", "family")
    db["portals"].upsert({key: portal.get(key) for key in columns}, pk="id")
    with db.conn:
        _store_province_names(db, portal["id"], portal.get("province"))


def _store_province_names(db: sqlite_utils.Database, portal: str, province: str | None) -> None:
    # No commit here: a migration calls this inside its own transaction.
    db.execute("delete from portal_provinces where portal = ?", [portal])
    db.conn.executemany("insert into portal_provinces (name, portal) values (?, ?)",
                        [(name, portal) for name in units.province_keys(province)])


def insert_captures(db: sqlite_utils.Database, rows: Iterable[dict[str, Any]]) -> None:
    db["captures"].insert_all(rows, batch_size=200)


def article_by_key(db: sqlite_utils.Database, key: str) -> dict[str, Any] | None:
    """The stored article whose id, URL or one of whose other URLs is ``key``."""
    for sql in ("select * from articles where id = ?", "select * from articles where url = ?",
                "select a.* from articles a, json_each(a.alternate_urls) j where j.value = ?"):
        row = next(db.query(sql, [key]), None)
        if row:
            return row
    return None


def find_article(db: sqlite_utils.Database, portal: str, *, url: str, digest: str) -> dict | None:
    """The stored article at ``url``, or failing that one of ``portal`` with the same body."""
    for sql, params in (
        ("select * from articles where url = ?", [url]),
        ("select * from articles where portal = ? and digest = ?", [portal, digest]),
    ):
        row = next(db.query(sql, params), None)
        if row:
            return row
    return None


def store_article(
    db: sqlite_utils.Database, article: dict[str, Any], *, captured: str,
    search_columns: list[str] | None = None,
) -> tuple[str, str]:
    """Insert or update one clean article; return (article id, "new" | "changed" | "unchanged").
    ``search_columns`` are the article's word forms (``search.search_columns``), if the
    caller has them.

    An article already stored under another URL with the same body (a tracking-parameter or
    second-path copy) is not stored twice: the URL is remembered in ``alternate_urls``.
    """
    # Where and when the capture this text comes from was made (a recovered capture is dated
    # when the web archive made it).
    article = {"source": LIVE, **article, "captured": article.get("captured") or captured}
    existing = find_article(db, article["portal"], url=article["url"], digest=article["digest"])
    if existing is None:
        row = dict(article, id=article_id(article["url"]), first_seen=captured,
                   last_seen=captured, version=1, alternate_urls="[]")
        db["articles"].insert(row)
        search.index_article(db, _rowid(db, row["id"]), row, search_columns)
        _store_version(db, row, captured)
        return row["id"], "new"

    if existing["url"] != article["url"]:
        urls = set(json.loads(existing["alternate_urls"] or "[]")) | {article["url"],
                                                                       existing["url"]}
        # Which copy the crawl meets first depends on timing: keep the simplest URL as the
        # canonical one so that every crawl (and a reindex) stores the article under the same URL.
        canonical = min(urls, key=_url_complexity)
        changes = {"url": canonical, "id": article_id(canonical),
                   "alternate_urls": json.dumps(sorted(urls - {canonical})),
                   "last_seen": captured}
        db["articles"].update(existing["id"], changes)
        if changes["id"] != existing["id"]:
            db.execute("update article_versions set article_id = ? where article_id = ?",
                       [changes["id"], existing["id"]])
        return changes["id"], "unchanged"
    if existing["digest"] == article["digest"]:
        db["articles"].update(existing["id"], {"last_seen": captured})
        return existing["id"], "unchanged"
    row = dict(article, id=existing["id"], last_seen=captured, version=existing["version"] + 1)
    if existing["captured"] and captured[:19] < existing["captured"][:19]:
        # An older capture met late (recovered from an archive after a crawl): a past version
        # of the article, not its current text.
        _store_version(db, dict(row, last_seen=existing["last_seen"]), captured)
        db["articles"].update(existing["id"], {"version": row["version"]})
        return existing["id"], "changed"
    rowid = _rowid(db, existing["id"])
    search.unindex_article(db, rowid, existing)
    db["articles"].update(existing["id"], row)
    search.index_article(db, rowid, row, search_columns)
    _store_version(db, row, captured)
    return existing["id"], "changed"


def add_alternate_urls(db: sqlite_utils.Database, alternates: dict[str, list[str]]) -> None:
    """Remember more URLs of stored articles: ``{canonical url: [other urls]}`` (the crawler
    finds tracking or reordered links to an article after it stored it; see reindex too)."""
    for url, others in alternates.items():
        row = next(db.query("select id, alternate_urls from articles where url = ?", [url]), None)
        if row is not None:
            known = set(json.loads(row["alternate_urls"] or "[]"))
            merged = sorted((known | set(others)) - {url})
            if merged != sorted(known):
                db["articles"].update(row["id"], {"alternate_urls": json.dumps(merged)})


def stored_articles(db: sqlite_utils.Database, portal: str) -> Iterator[tuple[str, list[str]]]:
    """``(url, alternate urls)`` of each stored article of ``portal``."""
    for row in db.query("select url, alternate_urls from articles where portal = ?", [portal]):
        yield row["url"], json.loads(row["alternate_urls"] or "[]")


def last_full_captures(db: sqlite_utils.Database, portal: str,
                       urls: Container[str]) -> dict[str, dict[str, Any]]:
    """The WARC pointer (``warc_file``, ``warc_offset``) of the last 200 response captured
    for each of ``urls``."""
    found: dict[str, dict[str, Any]] = {}
    for row in db.query(
            "select url, warc_file, warc_offset from captures where portal = ? and "
            "record_type = 'response' and status = 200 order by time", [portal]):
        if row["url"] in urls:
            found[row["url"]] = row
    return found


def wanted_documents(db: sqlite_utils.Database, portal: str) -> list[str]:
    """The documents stored articles of ``portal`` link to that no crawl has archived yet: no
    2xx capture, nor an answer that settles it (a redirect, 404 or 410 Gone). A document
    whose download failed (a timeout, a 5xx, a crawl killed first) is asked for again."""
    return [row[0] for row in db.execute(
        "select distinct t.url from attachments t join articles a on a.id = t.article_id "
        "where a.portal = ? and not exists (select 1 from captures c where c.url = t.url and "
        "(c.status between 200 and 399 or c.status in (404, 410))) order by t.url", [portal])]


def missing_alternate_urls(db: sqlite_utils.Database, portal: str,
                           others: dict[str, set[str]]) -> dict[str, list[str]]:
    """Of ``{url: other urls}``, the other URLs of stored articles their ``alternate_urls``
    lack (URLs that are no stored article of ``portal`` are left out)."""
    found: dict[str, list[str]] = {}
    for url, seen in others.items():
        row = next(db.query("select alternate_urls from articles where portal = ? and url = ?",
                            [portal, url]), None)
        if row is not None:
            new = seen - set(json.loads(row["alternate_urls"] or "[]")) - {url}
            if new:
                found[url] = sorted(new)
    return found


def _rowid(db: sqlite_utils.Database, article_id: str) -> int:
    return db.execute("select rowid from articles where id = ?", [article_id]).fetchone()[0]


def _url_complexity(url: str) -> tuple[int, int, str]:
    """Fewer query parameters, then shorter, then alphabetical: the likelier canonical URL."""
    return (len(urlsplit(url).query.split("&")) if "?" in url else 0, len(url), url)


def _store_version(db: sqlite_utils.Database, row: dict[str, Any], captured: str) -> None:
    db["article_versions"].insert(
        {"article_id": row["id"], "version": row["version"], "digest": row["digest"],
         "captured": captured, "title": row["title"], "text": row["text"],
         "warc_file": row["warc_file"], "warc_offset": row["warc_offset"],
         "warc_length": row["warc_length"]},
        replace=True,
    )


def load_template(db: sqlite_utils.Database, host: str) -> str | None:
    row = next(db.query("select data from templates where host = ?", [host]), None)
    return row["data"] if row else None


def save_template(db: sqlite_utils.Database, host: str, data: str) -> None:
    db["templates"].upsert({"host": host, "data": data, "updated": now()}, pk="host")


# -- export (issue 5) ------------------------------------------------------------------------

@migrations()
def m_export_001_article_clusters(db: sqlite_utils.Database) -> None:
    """Near-duplicate clusters (archive/clusters.py): one row per article, its MinHash signature
    of the body it was computed from (``digest``) and the id of its cluster."""
    db["article_clusters"].create(
        {"article_id": str, "digest": str, "signature": bytes, "cluster": str},
        pk="article_id",
    )
    db["article_clusters"].create_index(["cluster"])


# -- Operations (issue 6): run figures and portal health; see archive/runs.py, archive/health.py
@migrations()
def m_ops_001_run_history_and_health(db: sqlite_utils.Database) -> None:
    db["runs"].add_column("job", str)  # one `portal-archive crawl` invocation: its log file name
    for column in ("pages", "new", "changed", "unchanged", "revisits", "bytes", "home_status",
                   "exit_status", "full"):
        db["runs"].add_column(column, int)
    for column in ("errors", "home_url", "home_error", "home_sample"):
        db["runs"].add_column(column, str)
    db["runs"].create_index(["job"])
    db["captures"].create_index(["run_id"])
    db["portal_health"].create(
        {"portal": str, "state": str, "alarms": str, "since": str, "updated": str,
         "full_crawl_due": int},
        pk="portal",
    )


@migrations()
def m_ops_002_template_match(db: sqlite_utils.Database) -> None:
    # Share of the learned template's chrome lines the home page still shows
    # (crawler/extensions/recorder.py)
    db["runs"].add_column("template_match", float)


# -- Archive (issue 7): a 304 Not Modified keeps an article unchanged --------------------------
def touch_article(db: sqlite_utils.Database, url: str, seen: str) -> str | None:
    """The server answered 304 Not Modified for ``url``: the article stored from it (under
    this or another of its URLs) is unchanged and was seen at ``seen``. Return its id, or
    None when no article came from that URL."""
    row = next(db.query(
        "select id from articles where url = :url union all "
        "select a.id from articles a, json_each(a.alternate_urls) j where j.value = :url "
        "limit 1", {"url": url}), None)
    if row is None:
        return None
    db.execute("update articles set last_seen = max(coalesce(last_seen, ''), ?) where id = ?",
               [seen, row["id"]])
    return row["id"]


@migrations()
def m_archive_001_attachments(db: sqlite_utils.Database) -> None:
    """One row per document an article links to (``articles.attachments`` as a table), kept in
    step by triggers so that the crawl and a reindex fill it through ``store_article`` alike;
    join ``captures`` on ``url`` for the archived copy."""
    db["attachments"].create({"article_id": str, "url": str, "title": str},
                             pk=("article_id", "url"))
    db["attachments"].create_index(["url"])
    rows = ("insert or ignore into attachments (article_id, url, title) "
            "select {id}, json_extract(j.value, '$.url'), json_extract(j.value, '$.title') "
            "from json_each({attachments}) j where json_extract(j.value, '$.url') is not null")
    db.executescript(f"""
        create trigger articles_attachments_ai after insert on articles begin
            {rows.format(id="new.id", attachments="new.attachments")};
        end;
        create trigger articles_attachments_au after update of id, attachments on articles begin
            delete from attachments where article_id = old.id;
            {rows.format(id="new.id", attachments="new.attachments")};
        end;
        create trigger articles_attachments_ad after delete on articles begin
            delete from attachments where article_id = old.id;
        end;
    """)
    db.execute(rows.format(id="articles.id", attachments="articles.attachments")
               .replace("from json_each", "from articles, json_each"))


# -- Recovery (issue 16): where each capture came from --------------------------------------
@migrations()
def m_recover_001_capture_sources(db: sqlite_utils.Database) -> None:
    """A capture's source (``live`` for our crawl, else the web archive it was recovered from)
    and, per article, the source and time of the capture its current text comes from. A
    reindex restores both from WARC: recovered records are followed by a metadata record
    naming their source, and conversion records carry the article's."""
    db["captures"].add_column("source", str, not_null_default=LIVE)
    db["captures"].create_index(["portal", "source"])
    db["articles"].add_column("source", str, not_null_default=LIVE)
    db["articles"].add_column("captured", str)
    db.execute("update articles set captured = (select v.captured from article_versions v "
               "where v.article_id = articles.id and v.version = articles.version)")
    db["articles"].create_index(["source"])


@migrations()
def m_cleaners_001_extractor(db: sqlite_utils.Database) -> None:
    """Which engine chose each article's text: cleaners, trafilatura, or both agreeing
    (``cleaners.Article.extractor``); null for articles stored before it was recorded."""
    db["articles"].add_column("extractor", str)


# -- Interop (issue 15): full-text search for Datasette and sqlite-utils -----------------------
TOOLS_FTS = "articles_fts"


@migrations()
def m_interop_001_articles_fts(db: sqlite_utils.Database) -> None:
    """``articles_fts``: an FTS5 index of the articles' title, summary and text in the shape
    Datasette and sqlite-utils look for (``content="articles"``), so that Datasette's
    ``_search=`` and ``sqlite-utils search index.db articles`` work with no configuration.

    Our own search reads ``search_fts`` (archive/search/), which holds folded and exact
    word forms FTS5's tokenizer cannot make and which those tools cannot query. This one is
    tokenized by FTS5 itself (``unicode61 remove_diacritics 2``: case, tone and vowel marks
    ignored, đ kept apart from d, as a tool's user types), with external content (the text
    stays in ``articles``; the index itself is about half the text's size). Positions are
    kept (``detail=full``): without them FTS5 refuses every phrase, and Datasette quotes a
    hyphenated word (``Covid-19``, ``vắc-xin``) as one. Triggers keep it in step with
    ``articles``, on the columns it holds only."""
    db.execute(f"""create virtual table {TOOLS_FTS} using fts5({TOOLS_FTS_COLUMNS},
                   content="articles", tokenize="unicode61 remove_diacritics 2")""")
    tools_fts_in_step(db)


TOOLS_FTS_COLUMNS = "title, summary, text"
TOOLS_FTS_TRIGGERS = [f"{TOOLS_FTS}_{kind}" for kind in ("ai", "ad", "au")]


def pause_tools_fts(db: sqlite_utils.Database) -> None:
    """Stop keeping ``articles_fts`` in step, until ``tools_fts_in_step``."""
    for name in TOOLS_FTS_TRIGGERS:
        db.execute(f"drop trigger if exists {name}")


def tools_fts_in_step(db: sqlite_utils.Database) -> None:
    """Fill ``articles_fts`` from ``articles``, then keep it in step with triggers (a
    reindex drops them while it stores every article, and calls this once at the end: one
    pass over the text is faster than one insert per article)."""
    names = TOOLS_FTS_COLUMNS
    new = ", ".join(f"new.{c}" for c in names.split(", "))
    old = ", ".join(f"old.{c}" for c in names.split(", "))
    db.executescript(f"""
        insert into {TOOLS_FTS}({TOOLS_FTS}) values ('rebuild');
        create trigger {TOOLS_FTS}_ai after insert on articles begin
            insert into {TOOLS_FTS}(rowid, {names}) values (new.rowid, {new});
        end;
        create trigger {TOOLS_FTS}_ad after delete on articles begin
            insert into {TOOLS_FTS}({TOOLS_FTS}, rowid, {names})
                values ('delete', old.rowid, {old});
        end;
        create trigger {TOOLS_FTS}_au after update of {names} on articles begin
            insert into {TOOLS_FTS}({TOOLS_FTS}, rowid, {names})
                values ('delete', old.rowid, {old});
            insert into {TOOLS_FTS}(rowid, {names}) values (new.rowid, {new});
        end;
    """)


# -- Search at national scale (issue 17) -------------------------------------------------------
@migrations()
def m_search_001_filter_terms_tiers_provinces(db: sqlite_utils.Database) -> None:
    """The province names each portal answers to, so that a search never loads the
    administrative-unit tables. (This migration also built the search tables of its time:
    the next one rebuilds them.)"""
    db["portal_provinces"].create({"name": str, "portal": str}, pk=("name", "portal"))
    db["portal_provinces"].create_index(["portal"])
    for portal, province in db.execute("select id, province from portals").fetchall():
        _store_province_names(db, portal, province)


@migrations(name=search.SEARCH_MIGRATION)
def m_search_002_word_pairs(db: sqlite_utils.Database) -> None:
    """Search tables with filter terms, prefixes, impact tiers and word pairs, without word
    positions (archive/search/), every article indexed again: a few minutes per hundred
    thousand articles. A search reads an index that has this migration without loading
    this module (``search.connect``): a later migration that search depends on must become
    ``search.SEARCH_MIGRATION``."""
    search.create_index(db)
