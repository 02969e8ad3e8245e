"""The shared state of a distributed crawl, kept in one Redis server (not Redis Cluster).

Which portals wait, which worker holds which portal, each portal's frontier, what the archive
knows of each portal, and the workers themselves. A portal is crawled by one worker at a time:
its *lease* is a key that names the worker and expires unless the worker renews it. Every
operation on a portal's frontier is a Lua script that first checks the lease, so a worker that
lost its lease (stalled past the timeout, or cut off) can no longer change anything.

Keys, all under ``pa:``::

    queue              zset   portal id -> when it may be taken (epoch seconds)
    active             set    portals leased, or whose lease ran out and await a taker
    job:<portal>       hash   portal and settings (JSON), enqueued, attempts, worker, state
    lease:<portal>     string the worker holding the portal; expires unless renewed
    requests:<portal>  hash   request id -> the request (JSON)
    frontier:<portal>  zset   ids of requests to fetch: priority first, then newest first
    inflight:<portal>  zset   ids handed to a worker's downloader and not yet handled
    seen:<portal>      set    fingerprints of every request of the portal's current run
    known:<portal>     hash   article URL -> its last full capture and validators (JSON)
    template:<host>    string the host template the cleaners learned (JSON)
    done               zset   portal id -> when its last run ended
    recover:queue      list   recovery jobs (a portal, JSON); recover:queued their portal ids
    recover:lease      string the worker running recovery jobs (one at a time in the cluster)
    recover:current    string the job under way (taken up again if its worker dies)
    workers            zset   worker id -> its last heartbeat (epoch seconds)
    worker:<id>        hash   host, pid, data directory, started, pages, pages per minute
    seq, run-id        counters: request ids, and run ids unique across the cluster
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
from tenacity import Retrying, retry_if_exception_type, wait_exponential

logger = logging.getLogger(__name__)

PREFIX = "pa:"
# Run ids from the cluster start here, far above those a data directory numbers itself.
RUN_ID_BASE = 10**9
# Scores of a frontier: -priority * SPAN - id, so that ZPOPMIN takes the highest priority
# first and, within it, the newest request (Scrapy's default order, depth first).
SPAN = 2**40
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)

T = TypeVar("T")


class Unreachable(Exception):
    """Redis cannot be reached (said in one line)."""


class LeaseLost(Exception):
    """The portal's lease is no longer this worker's."""


def safe_url(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


# -- scripts ---------------------------------------------------------------------------------

ENQUEUE = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return 0
end
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'portal', ARGV[2], 'settings', ARGV[3], 'enqueued', ARGV[4],
           'attempts', 0, 'state', 'queued')
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
"""

# A portal whose lease ran out (its worker died) is taken first, then the oldest waiting one.
CLAIM = """
local prefix, worker, now, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local mine = {}  -- portals this worker's crawls still hold (one closing after a lost lease)
for i = 5, #ARGV do mine[ARGV[i]] = true end
local function take(portal)
  redis.call('SET', prefix .. 'lease:' .. portal, worker, 'PX', ttl)
  redis.call('HINCRBY', prefix .. 'job:' .. portal, 'attempts', 1)
  redis.call('HSET', prefix .. 'job:' .. portal, 'worker', worker, 'leased', now,
             'state', 'leased')
  return portal
end
for _, portal in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if not mine[portal] and redis.call('EXISTS', prefix .. 'lease:' .. portal) == 0 then
    return take(portal)
  end
end
for _, portal in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 100)) do
  if not mine[portal] then
    redis.call('ZREM', KEYS[1], portal)
    redis.call('SADD', KEYS[2], portal)
    return take(portal)
  end
end
return false
"""

# Take one named portal (``scrapy crawl portal -a portal=ID`` in a cluster, or the portal the
# worker loop claimed): '' when this worker holds it now, else the id of the worker that does.
TAKE = """
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then return holder end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[3])
if holder then return '' end
redis.call('ZREM', KEYS[1], ARGV[4])
if redis.call('SADD', KEYS[2], ARGV[4]) == 1 then
  redis.call('DEL', KEYS[4])
  redis.call('HSET', KEYS[4], 'portal', ARGV[5], 'settings', ARGV[6], 'enqueued', ARGV[2],
             'attempts', 0)
end
redis.call('HINCRBY', KEYS[4], 'attempts', 1)
redis.call('HSET', KEYS[4], 'worker', ARGV[1], 'leased', ARGV[2], 'state', 'leased')
return ''
"""

RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# A finished run forgets the portal's frontier; an interrupted one goes back in the queue,
# not to be taken before ``not_before`` (the host's delay after its last request).
RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], ARGV[2])
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[5], KEYS[6], KEYS[7], KEYS[8])
  redis.call('HSET', KEYS[4], 'state', 'done', 'finished', ARGV[5])
  redis.call('ZADD', KEYS[9], ARGV[5], ARGV[2])
else
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
  redis.call('HSET', KEYS[4], 'state', 'queued')
end
return 1
"""

# A request enters the frontier unless its fingerprint was seen in this run; a retry or a
# redirect of a request under way replaces it (the old id leaves the in-flight set).
PUSH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if ARGV[5] ~= '' then
  redis.call('ZREM', KEYS[4], ARGV[5])
  redis.call('HDEL', KEYS[5], ARGV[5])
end
if ARGV[2] ~= '' and redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 0 end
local id = redis.call('INCR', KEYS[6])
redis.call('HSET', KEYS[5], id, ARGV[4])
redis.call('ZADD', KEYS[3], -tonumber(ARGV[3]) * tonumber(ARGV[6]) - id, id)
return 1
"""

POP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local top = redis.call('ZPOPMIN', KEYS[2])
if #top == 0 then return 0 end
redis.call('ZADD', KEYS[3], top[2], top[1])
return {top[1], redis.call('HGET', KEYS[4], top[1]), redis.call('ZCARD', KEYS[2])}
"""

ACK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
for i = 2, #ARGV do
  redis.call('ZREM', KEYS[2], ARGV[i])
  redis.call('HDEL', KEYS[3], ARGV[i])
end
return 1
"""

# A worker taking a portal over puts the requests its last holder had under way back in the
# frontier: they may not have been fetched, or their pages not read.
RESTORE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local back = redis.call('ZCARD', KEYS[3])
if back > 0 then
  redis.call('ZUNIONSTORE', KEYS[2], 2, KEYS[2], KEYS[3], 'AGGREGATE', 'MIN')
  redis.call('DEL', KEYS[3])
end
return {back, redis.call('ZCARD', KEYS[2]), redis.call('SCARD', KEYS[4])}
"""


ENQUEUE_RECOVERY = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
return 1
"""

# Recovery jobs run one at a time in the whole cluster, under one lease, so that each web
# archive's rate limit holds across workers. A job whose worker died is taken up again.
CLAIM_RECOVERY = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return false end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local current = redis.call('GET', KEYS[3])
if current then return current end
local job = redis.call('LPOP', KEYS[2])
if not job then
  redis.call('DEL', KEYS[1])
  return false
end
redis.call('SET', KEYS[3], job)
return job
"""

FINISH_RECOVERY = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
return 1
"""


class Cluster:
    """A client of the shared crawl state at ``url`` (``redis://HOST:PORT/DB``).

    With ``wait`` (workers), an operation that finds Redis unreachable logs one line and tries
    again with a growing delay until Redis answers; without (commands a person runs), it
    raises ``Unreachable`` with one line.
    """

    def __init__(self, url: str, *, wait: bool = False) -> None:
        self.url = url
        try:
            self.redis = redis.Redis.from_url(url, decode_responses=True,
                                              socket_connect_timeout=5, socket_timeout=30,
                                              health_check_interval=30)
        except ValueError as e:
            raise Unreachable(f"{safe_url(url)} is not a Redis URL: {e}") from None
        self.wait = wait
        self.retrying = Retrying(retry=retry_if_exception_type(REDIS_ERRORS),
                                 wait=wait_exponential(min=1, max=30),
                                 before_sleep=self._say_waiting, reraise=True)
        self.scripts = {name: self.redis.register_script(source) for name, source in (
            ("enqueue", ENQUEUE), ("claim", CLAIM), ("take", TAKE), ("renew", RENEW),
            ("release", RELEASE), ("push", PUSH), ("pop", POP), ("ack", ACK),
            ("restore", RESTORE), ("enqueue_recovery", ENQUEUE_RECOVERY),
            ("claim_recovery", CLAIM_RECOVERY), ("finish_recovery", FINISH_RECOVERY))}

    def _say_waiting(self, state: Any) -> None:
        error = state.outcome.exception() if state.outcome else None
        # An error (on stderr, which cron mails), one line per try, never a traceback.
        logger.error("Redis at %s is unreachable (%s): trying again in %.0f s",
                     safe_url(self.url), error, state.next_action.sleep)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, through Redis outages as the client was told."""
        if not self.wait:
            try:
                return fn(*args, **kwargs)
            except REDIS_ERRORS as e:
                raise Unreachable(f"Redis at {safe_url(self.url)} is unreachable: {e}") from None
        result = self.retrying(fn, *args, **kwargs)
        if self.retrying.statistics.get("attempt_number", 1) > 1:
            logger.warning("Redis at %s answers again", safe_url(self.url))
        return result

    def script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return self.call(self.scripts[name], keys=keys, args=args)

    def ping(self) -> None:
        self.call(self.redis.ping)

    # -- portals ---------------------------------------------------------------------------

    def enqueue(self, portal: dict[str, Any], settings: dict[str, Any] | None = None) -> bool:
        """Queue a run of ``portal`` (``Portal.to_dict()``); False when one is queued or under
        way already."""
        pid = portal["id"]
        return bool(self.script("enqueue", [key("queue"), key("active"), key("job", pid),
                                            key("done")],
                                [pid, json.dumps(portal, ensure_ascii=False),
                                 json.dumps(settings or {}), time.time()]))

    def claim(self, worker: str, ttl: float, busy: Iterable[str] = ()) -> str | None:
        """Lease the next portal to crawl to ``worker``: one whose last holder died, else the
        one waiting longest, but none of ``busy`` (the worker's own crawls); None when there
        is none."""
        return self.script("claim", [key("queue"), key("active")],
                           [PREFIX, worker, time.time(), int(ttl * 1000), *busy])

    def take(self, portal: dict[str, Any], worker: str, ttl: float,
             settings: dict[str, Any] | None = None) -> str:
        """Lease ``portal`` to ``worker``; '' when done, else the id of the worker holding it."""
        pid = portal["id"]
        return self.script("take", [key("queue"), key("active"), key("lease", pid),
                                    key("job", pid)],
                           [worker, time.time(), int(ttl * 1000), pid,
                            json.dumps(portal, ensure_ascii=False), json.dumps(settings or {})])

    def renew(self, portal: str, worker: str, ttl: float) -> bool:
        return bool(self.script("renew", [key("lease", portal)], [worker, int(ttl * 1000)]))

    def release(self, portal: str, worker: str, *, finished: bool,
                not_before: float = 0.0) -> bool:
        """Give the portal back: its run ``finished`` (its frontier is forgotten), or not (it
        waits in the queue again until ``not_before``). False when the lease was lost."""
        return bool(self.script(
            "release",
            [key("lease", portal), key("queue"), key("active"), key("job", portal),
             key("requests", portal), key("frontier", portal), key("inflight", portal),
             key("seen", portal), key("done")],
            [worker, portal, "1" if finished else "0", not_before, time.time()]))

    def job(self, portal: str) -> dict[str, Any]:
        """The portal and settings a run was queued with ({} if none)."""
        job = self.call(self.redis.hgetall, key("job", portal))
        return {"portal": json.loads(job["portal"]),
                "settings": json.loads(job.get("settings") or "{}")} if job else {}

    def idle(self) -> bool:
        """Nothing queued and nothing under way anywhere in the cluster."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(key("queue"))
        pipe.scard(key("active"))
        queued, active = self.call(pipe.execute)
        return not queued and not active

    def new_run_id(self) -> int:
        return RUN_ID_BASE + int(self.call(self.redis.incr, key("run-id")))

    # -- recovery from web archives ---------------------------------------------------------

    def enqueue_recovery(self, portal: dict[str, Any]) -> bool:
        """Queue the recovery of ``portal``; False when it is queued or under way already."""
        return bool(self.script("enqueue_recovery", [key("recover", "queue"),
                                                     key("recover", "queued")],
                                [portal["id"], json.dumps(portal, ensure_ascii=False)]))

    def claim_recovery(self, worker: str, ttl: float) -> dict[str, Any] | None:
        """The recovery job to run now, with the cluster's recovery lease, or None (another
        worker holds the lease, or nothing is queued)."""
        job = self.script("claim_recovery", [key("recover", "lease"), key("recover", "queue"),
                                             key("recover", "current")],
                          [worker, int(ttl * 1000)])
        return json.loads(job) if job else None

    def renew_recovery(self, worker: str, ttl: float) -> bool:
        return bool(self.script("renew", [key("recover", "lease")], [worker, int(ttl * 1000)]))

    def finish_recovery(self, worker: str, portal: str) -> None:
        self.script("finish_recovery", [key("recover", "lease"), key("recover", "current"),
                                        key("recover", "queued")], [worker, portal])

    def recovery_idle(self) -> bool:
        """No recovery job queued or under way."""
        return not self.call(self.redis.scard, key("recover", "queued"))

    # -- knowledge -------------------------------------------------------------------------

    def known(self, portal: str) -> dict[str, dict[str, Any]]:
        """What the cluster knows of the portal's stored articles, by URL."""
        found = self.call(self.redis.hgetall, key("known", portal))
        return {url: json.loads(value) for url, value in found.items()}

    def remember(self, portal: str, articles: dict[str, dict[str, Any]]) -> None:
        if articles:
            self.call(self.redis.hset, key("known", portal), mapping={
                url: json.dumps(value, ensure_ascii=False) for url, value in articles.items()})

    def template(self, host: str) -> str | None:
        return self.call(self.redis.get, key("template", host))

    def save_template(self, host: str, data: str) -> None:
        self.call(self.redis.set, key("template", host), data)

    # -- workers ---------------------------------------------------------------------------

    def beat(self, worker: str, info: dict[str, Any]) -> None:
        """The worker is alive; ``info`` says what it is doing."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key("worker", worker), mapping={k: json.dumps(v) for k, v in info.items()})
        pipe.expire(key("worker", worker), 7 * 86400)
        pipe.zadd(key("workers"), {worker: time.time()})
        self.call(pipe.execute)

    def snapshot(self) -> dict[str, Any]:
        """Everything ``status`` shows of the cluster: workers, queue, portals under way."""
        r = self.redis
        beats = self.call(r.zrange, key("workers"), 0, -1, withscores=True)
        workers = []
        for worker, beat in beats:
            found = self.call(r.hgetall, key("worker", worker))
            info = {k: json.loads(v) for k, v in found.items()}
            workers.append({"id": worker, "last_beat": beat, **info})
        active = sorted(self.call(r.smembers, key("active")))
        portals = []
        for pid in active:
            pipe = r.pipeline(transaction=False)
            pipe.hgetall(key("job", pid))
            pipe.get(key("lease", pid))
            pipe.zcard(key("frontier", pid))
            pipe.zcard(key("inflight", pid))
            pipe.scard(key("seen", pid))
            job, holder, frontier, inflight, seen = self.call(pipe.execute)
            portals.append({"portal": pid, "worker": holder, "attempts": int(job.get(
                "attempts", 0)), "leased": float(job.get("leased") or 0), "queued": frontier,
                "in_flight": inflight, "seen": seen})
        pipe = r.pipeline(transaction=False)
        pipe.zcard(key("queue"))
        pipe.zrange(key("queue"), 0, 9)
        pipe.zcard(key("done"))
        queued, first, done = self.call(pipe.execute)
        return {"workers": workers, "queue": queued, "next": first, "portals": portals,
                "done": done}


def key(*parts: str) -> str:
    return PREFIX + ":".join(parts)


@functools.cache
def worker_id() -> str:
    """A name for this process, unique in the cluster: host, pid and a random tag (one per
    process: every crawl of the process works under it)."""
    return f"{socket.gethostname()}-{os.getpid()}-{random.getrandbits(16):04x}"


class Frontier:
    """One portal's requests in the cluster, as seen by the worker holding its lease."""

    def __init__(self, cluster: Cluster, portal: str, worker: str) -> None:
        self.cluster = cluster
        self.worker = worker
        self.lease = key("lease", portal)
        self.requests = key("requests", portal)
        self.queued = key("frontier", portal)
        self.inflight = key("inflight", portal)
        self.seen = key("seen", portal)

    def _checked(self, result: Any) -> Any:
        if result == -1:
            raise LeaseLost(self.lease)
        return result

    def restore(self) -> tuple[int, int, int]:
        """Put back what a previous holder had under way; ``(put back, queued, seen)``."""
        back, queued, seen = self._checked(self.cluster.script(
            "restore", [self.lease, self.queued, self.inflight, self.seen], [self.worker]))
        return back, queued, seen

    def push(self, data: str, *, fingerprint: str | None, priority: int,
             replaces: str | None = None) -> bool:
        """Add a request unless its ``fingerprint`` was seen (None: never filtered); True
        when it was added."""
        return self._checked(self.cluster.script(
            "push", [self.lease, self.seen, self.queued, self.inflight, self.requests,
                     key("seq")],
            [self.worker, fingerprint or "", priority, data, replaces or "", SPAN])) == 1

    def pop(self) -> tuple[str, str, int] | None:
        """The next request ``(id, data, requests left)``, now under way; None when empty."""
        found = self._checked(self.cluster.script(
            "pop", [self.lease, self.queued, self.inflight, self.requests], [self.worker]))
        return (found[0], found[1], int(found[2])) if found else None

    def ack(self, request_ids: list[str]) -> None:
        """These requests are handled: their pages read, links queued, articles stored."""
        if request_ids:
            self._checked(self.cluster.script(
                "ack", [self.lease, self.inflight, self.requests], [self.worker, *request_ids]))
