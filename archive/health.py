"""Alarms: a portal whose template changed, that went silent, or that is dying.

``evaluate`` looks at a portal's run history and archive after a crawl and returns its alarms;
``record`` keeps the verdict in ``portal_health`` and flags a dying portal for one last full
crawl; ``judge_job`` does both for every portal of a crawl job and tells how each crawl ended.
Thresholds are settings (``HEALTH_*`` in ``crawler/settings.py``).
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from archive import index, runs
from archive.runs import DOWN, FORCED, SHUTDOWN, TIME_BUDGET

# Words of parked domains, hosting placeholders and "site closed" notices (English, Vietnamese).
PARKED_WORDS = re.compile(
    r"domain (is )?for sale|buy this domain|parked (free|domain|by)|domain parking|"
    r"this domain (has expired|may be for sale)|coming soon|under construction|"
    r"welcome to nginx|apache2? (ubuntu |debian )?default page|it works!|"
    r"iis windows server|default web site page|account (has been )?suspended|"
    r"tên miền (này )?(đã hết hạn|đang được rao bán|chưa được kích hoạt)|"
    r"website đang (được )?(xây dựng|bảo trì|nâng cấp)|trang (web )?đang (xây dựng|bảo trì)|"
    r"đã (dừng|ngừng) hoạt động",
    re.IGNORECASE,
)
PARKED_MAX_LINKS = 15  # a real portal home links to dozens of pages; a placeholder to a few
RECENT_RUNS = 5  # runs a portal's status sums new articles and errors over
# A run's download failures, stored by reason (crawler/stats.py), as an operator would say them.
FAILURE_WORDS = {
    "dns": "host does not resolve", "timeout": "timed out", "refused": "connection refused",
    "cannot_connect": "cannot connect", "connection_reset": "connection lost",
    "no_response": "no response",
}
# The home page's "error" when robots.txt forbids it: the portal answers (no liveness alarm),
# and asks not to be crawled; the operator is told, the crawl archives nothing more.
FORBIDDEN = "robots_forbidden"
FORBIDDEN_WORDS = "robots.txt forbids crawling it"


@dataclass
class Thresholds:
    dead_runs: int = 3  # consecutive runs with the home down before a liveness alarm
    drift_share: float = 0.5  # share of article pages lost (known ones, or among new pages)
    template_match: float = 0.25  # least share of learned chrome lines the home page shows
    drift_min_pages: int = 3  # pages (known articles refetched, or new pages) to judge on
    silence_factor: float = 3.0  # times the usual interval between published dates
    silence_min_days: float = 14.0
    silence_min_articles: int = 5  # dated articles needed to know a portal's rhythm

    @classmethod
    def from_settings(cls, settings: Any) -> Thresholds:
        return cls(
            dead_runs=int(settings.get("HEALTH_DEAD_RUNS", cls.dead_runs)),
            drift_share=float(settings.get("HEALTH_DRIFT_SHARE", cls.drift_share)),
            template_match=float(settings.get("HEALTH_TEMPLATE_MATCH", cls.template_match)),
            drift_min_pages=int(settings.get("HEALTH_DRIFT_MIN_PAGES", cls.drift_min_pages)),
            silence_factor=float(settings.get("HEALTH_SILENCE_FACTOR", cls.silence_factor)),
            silence_min_days=float(settings.get("HEALTH_SILENCE_MIN_DAYS",
                                                cls.silence_min_days)),
            silence_min_articles=int(settings.get("HEALTH_SILENCE_MIN_ARTICLES",
                                                  cls.silence_min_articles)),
        )


@dataclass
class Alarm:
    portal: str
    kind: str  # "liveness", "drift" or "silence"
    reason: str

    @property
    def dying(self) -> bool:
        return self.kind == "liveness"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def evaluate(db: sqlite_utils.Database, portal: str, base_url: str, *,
             now: datetime | None = None, thresholds: Thresholds | None = None) -> list[Alarm]:
    """The alarms of ``portal`` after its latest run."""
    limits = thresholds or Thresholds()
    history = runs.portal_history(db, portal, max(limits.dead_runs, 2))
    if not history:
        return []
    reasons = [("liveness", r) for r in liveness(history, base_url, limits)]
    reasons += [("drift", r) for r in drift(db, history, limits)]
    reason = silence(db, portal, now or datetime.now(UTC), limits)
    if reason:
        reasons.append(("silence", reason))
    return [Alarm(portal, kind, text) for kind, text in reasons]


def home_down(run: dict[str, Any]) -> str | None:
    """Why the home page failed in ``run``, or None when it answered (a home page robots.txt
    forbids is the portal answering)."""
    if run["home_error"] and run["home_error"] != FORBIDDEN:
        kinds = run["home_error"].split(", ")
        return ", ".join(dict.fromkeys(FAILURE_WORDS.get(k, k) for k in kinds))
    if run["home_status"] is not None and run["home_status"] >= 500:
        return f"HTTP {run['home_status']}"
    return None


def liveness(history: list[dict[str, Any]], base_url: str, limits: Thresholds) -> list[str]:
    latest = history[0]
    down = [home_down(run) for run in history[:limits.dead_runs]]
    if len(down) >= limits.dead_runs and all(down):
        return [f"home down for {len(down)} runs ({', '.join(dict.fromkeys(down))})"]
    reasons = []
    home_host = urlsplit(latest["home_url"] or "").hostname
    if home_host and bare(home_host) != bare(urlsplit(base_url).hostname or ""):
        reasons.append(f"home redirects to another host: {home_host}")
    sample = json.loads(latest["home_sample"] or "{}")
    if sample and latest["home_status"] == 200 and parked(sample):
        reasons.append(f"home is a parked or placeholder page: {sample['title'] or 'no title'!r}")
    return reasons


def bare(host: str) -> str:
    return host.removeprefix("www.")


def parked(sample: dict[str, Any]) -> bool:
    """A home page that is a parking, hosting-default or closure page, not a portal."""
    if sample.get("links", 0) > PARKED_MAX_LINKS:
        return False
    text = f"{sample.get('title', '')} {sample.get('text', '')}"
    return bool(PARKED_WORDS.search(text)) or len(text.split()) < 5


def drift(db: sqlite_utils.Database, history: list[dict[str, Any]],
          limits: Thresholds) -> list[str]:
    """The home page lost the furniture learned from the portal's pages, pages that held an
    article before hold none now, or new pages hold articles far less often than they used to:
    the template changed under us."""
    latest = history[0]
    if latest["template_match"] is not None and latest["template_match"] < limits.template_match:
        return [f"the home page shows {latest['template_match']:.0%} of the portal's learned "
                "page furniture (redesigned?)"]
    known, lost = db.execute(
        """select count(*), coalesce(sum(c.page_type = 'page'), 0)
           from captures c join articles a on a.url = c.url
           where c.run_id = ? and c.status = 200 and c.page_type in ('article', 'page')
             and a.first_seen < ?""",
        [latest["id"], latest["started"]]).fetchone()
    if known >= limits.drift_min_pages and lost / known >= limits.drift_share:
        return [f"{lost} of {known} known article pages now give no article body "
                "(template changed?)"]
    articles, pages = new_pages(db, latest["id"])
    before = [new_pages(db, run["id"]) for run in history[1:]]
    articles_before, pages_before = sum(a for a, _ in before), sum(p for _, p in before)
    if pages < limits.drift_min_pages or pages_before < limits.drift_min_pages:
        return []
    share, usual = articles / pages, articles_before / pages_before
    if usual and share <= usual * (1 - limits.drift_share):
        return [f"{share:.0%} of {pages} new pages give an article body, usually {usual:.0%} "
                "(template changed?)"]
    return []


def new_pages(db: sqlite_utils.Database, run_id: int) -> tuple[int, int]:
    """(pages with an article body, HTML pages) among the URLs ``run_id`` fetched first.

    Only first fetches count: an incremental run refetches listings, not old articles, and a
    quiet run has no new pages to judge.
    """
    return db.execute(
        """select coalesce(sum(c.page_type = 'article'), 0), count(*) from captures c
           where c.run_id = ? and c.status = 200 and c.page_type in ('article', 'page')
             and not exists (select 1 from captures p where p.url = c.url and p.run_id < ?)""",
        [run_id, run_id]).fetchone()


def publishing_dates(db: sqlite_utils.Database, portal: str) -> list[date]:
    days = {row[0][:10] for row in db.execute(
        "select published from articles where portal = ? and published is not null", [portal])}
    return sorted(date.fromisoformat(d) for d in days if re.fullmatch(r"\d{4}-\d\d-\d\d", d))


def silence(db: sqlite_utils.Database, portal: str, now: datetime,
            limits: Thresholds) -> str | None:
    days = publishing_dates(db, portal)
    if len(days) < limits.silence_min_articles:
        return None
    usual = statistics.median((b - a).days for a, b in zip(days, days[1:], strict=False))
    allowed = max(limits.silence_factor * usual, limits.silence_min_days)
    quiet = (now.date() - days[-1]).days
    if quiet > allowed:
        return (f"no new article for {quiet} days (last {days[-1].isoformat()}; "
                f"usually one every {usual:g} days)")
    return None


def record(db: sqlite_utils.Database, portal: str, alarms: list[Alarm],
           *, ran_full: bool) -> dict[str, Any]:
    """Keep the verdict for ``portal``; a portal newly found dying is due a full crawl."""
    before = next(db.query("select * from portal_health where portal = ?", [portal]), None)
    was_dying = bool(before) and any(a["kind"] == "liveness"
                                     for a in json.loads(before["alarms"] or "[]"))
    dying = any(a.dying for a in alarms)
    state = "alarm" if alarms else "ok"
    due = bool(before and before["full_crawl_due"]) and not ran_full
    if dying and not was_dying:
        due = True
    row = {
        "portal": portal, "state": state, "alarms": json.dumps([a.to_dict() for a in alarms],
                                                                ensure_ascii=False),
        "since": before["since"] if before and before["state"] == state else index.now(),
        "updated": index.now(), "full_crawl_due": int(due),
    }
    db["portal_health"].upsert(row, pk="portal")
    return row


def full_crawl_due(db: sqlite_utils.Database) -> set[str]:
    return {r["portal"] for r in db.query("select portal from portal_health "
                                          "where full_crawl_due = 1")}


# -- a crawl job's verdicts -------------------------------------------------------------------

UNRECORDED = "unrecorded"  # the ending of a portal whose crawl left no run row
ERROR = "error"  # the ending of a crawl that failed otherwise (why: what failed)
FINISHED = "finished"


@dataclass
class Ending:
    """How one portal's crawl in a job ended: ``kind`` is ``finished``, ``unrecorded``,
    ``error``, ``FORBIDDEN`` or a run status (shutdown, forced, down, time_budget)."""

    portal: str
    kind: str
    failed: bool  # the portal failed this run (the job exits 1 unless an alarm was raised)
    why: str | None = None  # down: why the home page failed; error: what ended the crawl


def ending(portal: str, run: dict[str, Any] | None) -> Ending:
    """How ``run``, the crawl of ``portal`` in a job, ended."""
    if run is None:
        return Ending(portal, UNRECORDED, failed=True)
    status, down = run["status"], home_down(run)
    if status in (SHUTDOWN, FORCED):
        return Ending(portal, status, failed=True)
    if run["home_error"] == FORBIDDEN:
        return Ending(portal, FORBIDDEN, failed=True)
    if status == DOWN:
        return Ending(portal, DOWN, failed=True, why=down or "no answer")
    if status == TIME_BUDGET:  # not a failure: the next crawl goes on
        return Ending(portal, TIME_BUDGET, failed=False)
    if down or status != FINISHED:
        return Ending(portal, ERROR, failed=True, why=down or f"crawl ended: {status}")
    return Ending(portal, FINISHED, failed=False)


def judge_job(db: sqlite_utils.Database, job: str, portals: Iterable[tuple[str, str]],
              settings: Any, clock: Mapping[str, datetime] | None = None,
              ) -> tuple[list[Ending], list[Alarm]]:
    """Record the figures of ``job``'s runs, judge the health of each of its ``portals`` (id,
    base URL) and keep the verdicts; return how each crawl ended, and the alarms raised.

    Half a crawl (stopped by a signal, or at once) says nothing of a portal's health: it is
    not judged. Silence counts to ``HEALTH_NOW`` when set, else to the portal's time in
    ``clock`` (a simulated portal is frozen at the moment its copy was made), else to now.
    """
    job_runs = {r["portals"]: r for r in runs.summarize_job(db, job)}
    limits = Thresholds.from_settings(settings)
    fixed = settings.get("HEALTH_NOW")
    fixed = datetime.fromisoformat(fixed).replace(tzinfo=UTC) if fixed else None
    endings: list[Ending] = []
    alarms: list[Alarm] = []
    for portal, base_url in portals:
        run = job_runs.get(portal)
        endings.append(ending(portal, run))
        if run is None or run["status"] in (SHUTDOWN, FORCED):
            continue
        now = fixed or (clock or {}).get(portal) or datetime.now(UTC)
        found = evaluate(db, portal, base_url, now=now, thresholds=limits)
        record(db, portal, found, ran_full=bool(run["full"]))
        alarms += found
    return endings, alarms


# -- status ----------------------------------------------------------------------------------

def run_result(run: dict[str, Any]) -> str:
    """``ok``, ``failed`` (the home page did not answer), what robots.txt said, or how Scrapy
    ended the crawl."""
    if home_down(run):
        return "failed"
    if run["home_error"] == FORBIDDEN:
        return FORBIDDEN_WORDS
    return "ok" if run["status"] == FINISHED else run["status"]


def portal_status(db: sqlite_utils.Database, portal: str, *,
                  recent: int = RECENT_RUNS) -> dict[str, Any]:
    """A portal's last run, articles, new articles and error rate over its ``recent`` runs,
    and its health as judged after its last crawl."""
    history = runs.portal_history(db, portal, recent)
    last = history[0] if history else None
    verdict = next(db.query("select * from portal_health where portal = ?", [portal]), None)
    pages = sum(r["pages"] or 0 for r in history)
    errors = sum(runs.failures(json.loads(r["errors"] or "{}")) for r in history)
    return {
        "portal": portal,
        "last_run": last and {"job": last["job"], "started": last["started"],
                              "ended": last["ended"], "status": last["status"],
                              "result": run_result(last), "pages": last["pages"],
                              "new": last["new"], "errors": json.loads(last["errors"] or "{}")},
        "articles": db.execute("select count(*) from articles where portal = ?",
                               [portal]).fetchone()[0],
        "recent_runs": len(history),
        "new_in_recent_runs": sum(r["new"] or 0 for r in history),
        "error_rate": round(errors / pages, 3) if pages else None,
        "health": verdict["state"] if verdict else "unknown",
        "alarms": json.loads(verdict["alarms"]) if verdict else [],
        "full_crawl_due": bool(verdict and verdict["full_crawl_due"]),
        # What came from where: captures and articles by source (live, ia, cc...).
        "sources": {r["source"]: {"captures": r["captures"], "articles": r["articles"]}
                    for r in db.query(
            "select c.source, count(*) as captures, (select count(*) from articles a "
            "where a.portal = c.portal and a.source = c.source) as articles from captures c "
            "where c.portal = ? group by c.source order by c.source", [portal])},
    }
