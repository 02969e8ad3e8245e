"""Resumable crawls: the queue of an interrupted crawl is kept, and the next run goes on with it.

Scrapy keeps a crawl's pending requests, the fingerprints it has seen and the spider's state in
a job directory (``JOBDIR``). Each portal gets one under ``DATA/jobs/<portal>/``; it is kept
only when the crawl was stopped cleanly before its end (``KEPT``: Ctrl-C or SIGTERM, its time
budget used up, the portal down), and marked so. The next run of that portal resumes from it;
any other ending (finished, closed by a limit) removes it, so that the next scheduled crawl
starts afresh.

A directory without the mark belongs to a crawl that was killed: its queue was never written
out while its seen fingerprints were, so resuming would skip URLs nobody fetched. It is thrown
away; the incremental crawl that starts instead still fetches no stored article again.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from scrapy.settings import Settings

from archive.paths import remove_file, remove_tree
from archive.runs import DOWN, SHUTDOWN, TIME_BUDGET

logger = logging.getLogger(__name__)

MARK = "interrupted.json"
# Endings that leave work to do: Scrapy's "shutdown" (a signal), and the stops of
# crawler/extensions/stopping.py (time budget) and liveness.py (down).
KEPT = frozenset({SHUTDOWN, TIME_BUDGET, DOWN})


def kept(reason: str) -> bool:
    """Whether a crawl that ended for ``reason`` keeps its queue for the next run."""
    return reason in KEPT


def keep_job(settings: Settings, portal_id: str) -> Keeper | None:
    """Set ``JOBDIR`` for the portal's crawl and return its keeper, or None when resuming is off
    or the user chose a ``JOBDIR`` themselves (theirs to manage). Call with the data
    directory's lock held (a running crawl's queue is not ours to judge), before the crawler's
    settings freeze."""
    if not settings.getbool("PORTAL_RESUME") or settings.get("JOBDIR"):
        return None
    jobs = Path(settings["ARCHIVE_DATA_DIR"]) / "jobs"
    path = jobs / portal_id
    mark = path / MARK
    if mark.exists():
        stopped = json.loads(mark.read_text(encoding="utf-8"))
        logger.info("resuming the crawl of %s interrupted at %s", portal_id, stopped["stopped"])
        remove_file(path, mark)  # if this run is killed in turn, its queue is not trusted
    elif path.exists():
        logger.warning("discarding the queue of a crawl of %s that did not stop cleanly",
                       portal_id)
        remove_tree(jobs, path)
    settings.set("JOBDIR", str(path), priority="spider")
    return Keeper(jobs, path)


class Keeper:
    """Keeps the job directory of a crawl interrupted cleanly, removes it otherwise."""

    def __init__(self, jobs: Path, path: Path) -> None:
        self.jobs = jobs
        self.path = path

    def finish(self, reason: str) -> None:
        """Call once the engine has stopped: Scrapy has written the queue and the spider's
        state by then."""
        if kept(reason):
            stopped = datetime.now(UTC).isoformat(timespec="seconds")
            (self.path / MARK).write_text(json.dumps({"stopped": stopped, "reason": reason}),
                                         encoding="utf-8")
        else:
            remove_tree(self.jobs, self.path)
