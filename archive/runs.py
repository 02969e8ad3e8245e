"""Run history: one ``runs`` row per portal and crawl, grouped by job (one ``portal-archive
crawl`` invocation), with the figures an operator looks at.

The crawl fills a row in three steps: the session opens it, ``crawler.extensions.recorder``
adds what the crawler saw (pages, errors by kind, the home page), and ``summarize_job`` adds
what the index and WARC files got once every portal has closed.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

# How a run ended (its ``status``), besides Scrapy's "finished": the crawler writes them, the
# health verdicts read them.
SHUTDOWN = "shutdown"  # Scrapy's reason for a stop on a signal: the next crawl resumes
FORCED = "forced"  # the process was stopped at once (a second Ctrl-C): the next crawl starts afresh
DOWN = "down"  # the portal never answered
TIME_BUDGET = "time_budget"  # PORTAL_TIME_BUDGET used up: the next crawl goes on

# Counted elsewhere, dropped on purpose ("IgnoreRequest": as older runs kept it), or dropped
# by a stopping crawl (kept for its next run).
NOT_FAILURES = {"retry_max_reached", "ignored", "IgnoreRequest", "abandoned"}


def failures(errors: dict[str, int]) -> int:
    """Errors that mean a fetch failed: not 404s and other 4xx, which portals answer by design
    for removed pages, nor requests dropped on purpose (robots.txt)."""
    return sum(n for kind, n in errors.items()
               if not kind.startswith("http_4") and kind not in NOT_FAILURES)


def record_crawl(db: sqlite_utils.Database, run_id: int, **columns: Any) -> None:
    columns["errors"] = json.dumps(columns.get("errors") or {})
    db["runs"].update(run_id, columns)


def summarize_job(db: sqlite_utils.Database, job: str) -> list[dict[str, Any]]:
    """Fill the article and WARC figures of every run of ``job``; return its runs."""
    rows = list(db.query("select * from runs where job = ? order by id", [job]))
    for row in rows:
        stats = json.loads(row["stats"] or "{}")
        revisits = db.execute(
            "select count(*) from captures where run_id = ? and record_type = 'revisit'",
            [row["id"]]).fetchone()[0]
        figures = {"new": stats.get("new", 0), "changed": stats.get("changed", 0),
                   "unchanged": stats.get("unchanged", 0), "bytes": stats.get("warc_bytes", 0),
                   "revisits": revisits}
        db["runs"].update(row["id"], figures)
        row.update(figures)
    return rows


def set_exit_status(db: sqlite_utils.Database, job: str, status: int) -> None:
    db.execute("update runs set exit_status = ? where job = ?", [status, job])
    db.conn.commit()


def portal_history(db: sqlite_utils.Database, portal: str, limit: int = 10) -> list[dict]:
    """The last ``limit`` finished runs of ``portal``, newest first. A run killed before it
    could record its figures (``verify --repair`` marks it ``killed``) says nothing of the
    portal's health, and is left out."""
    return list(db.query(
        "select * from runs where portals = ? and ended is not null and status != 'killed' "
        "order by id desc limit ?", [portal, limit]))


def archived_portals(db: sqlite_utils.Database) -> list[str]:
    """Portals crawled, or recovered from web archives without a crawl."""
    return [r[0] for r in db.execute(
        "select portals from runs union select portal from captures where source != 'live' "
        "order by 1")]
