"""A recovery worker of a distributed crawl (``portal-archive recover --redis URL``): runs the
recovery jobs queued with ``enqueue --recover``, one at a time in the whole cluster.

Recovery is polite per web archive (a rate limit and a concurrency per source, Retry-After
obeyed: archive/recover/). Two workers recovering at once would double every source's rate,
so a worker runs jobs only while it holds the cluster's recovery lease, renewed by a
heartbeat thread (a job is blocking work). A job whose worker died is run again by the next
holder, into its own data directory: what the first had recovered is fetched again there
(each data directory knows only its own recovered captures), and ``merge`` stores each
article once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from crawler.distributed.cluster import Cluster

logger = logging.getLogger(__name__)

IDLE_WAIT = 2.0  # seconds between two looks at the queue when there is nothing to do


def work(cluster: Cluster, worker: str, run: Callable[[dict[str, Any]], None], *,
         ttl: float, until_done: bool, stopped: threading.Event) -> int:
    """Run recovery jobs until ``stopped`` (or, with ``until_done``, until none is left);
    return how many were run."""
    done = 0
    while not stopped.is_set():
        job = cluster.claim_recovery(worker, ttl)
        if job is None:
            if until_done and cluster.recovery_idle():
                break
            stopped.wait(IDLE_WAIT)
            continue
        portal = job["id"]
        logger.info("recovering %s", portal)
        beating = threading.Event()
        heartbeat = threading.Thread(target=_renew, args=(cluster, worker, ttl, beating),
                                     daemon=True)
        heartbeat.start()
        try:
            run(job)
        finally:
            beating.set()
            heartbeat.join()
        cluster.finish_recovery(worker, portal)
        done += 1
    return done


def _renew(cluster: Cluster, worker: str, ttl: float, stop: threading.Event) -> None:
    while not stop.wait(ttl / 3):
        if not cluster.renew_recovery(worker, ttl):
            logger.error("lost the recovery lease (silent past %g s): another worker may run "
                         "this job again", ttl)
            return
