"""The scheduler's queues: Scrapy's, with folder names a file system accepts, and without the
proxy a request was last sent through.

Priority queue.
Scrapy's ``DownloaderAwarePriorityQueue`` keeps each download slot's queue of a job directory in
a folder named after the slot (the host) plus a 33-character hash. A legal host name may have
253 characters, a folder name 255 bytes: a portal of a long host name stopped its crawl with
"File name too long". Here a long slot name is shortened before its hash; the folder of a host
of ordinary length is named exactly as Scrapy names it, so existing job directories resume.

Disk queue. An interrupted crawl keeps its queue on disk (crawler/resume.py), and a request
that was sent once (a retry, a redirect) carries the proxy it went through in ``meta``: the
run that resumed sent it to the previous run's proxy (the loopback server of a crawl long
gone, or a proxy the operator has since changed). The queue forgets it; the run that pops the
request sends it through its own proxy, if any.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from scrapy import Request
from scrapy.pqueues import DownloaderAwarePriorityQueue, ScrapyPriorityQueue, _path_safe
from scrapy.squeues import PickleLifoDiskQueue

# What Scrapy's proxy middlewares put on a request (ours and HttpProxyMiddleware).
PROXY_META = ("proxy", "_auth_proxy", "_scheme_proxy")
MAX_SLOT_NAME = 120  # characters of the slot name kept in a folder name, before the hash


def slot_folder(slot: str) -> str:
    if len(slot) <= MAX_SLOT_NAME:
        return _path_safe(slot)
    kept = "".join(c if c.isalnum() or c in "-._" else "_" for c in slot[:MAX_SLOT_NAME])
    return f"{kept}-{hashlib.md5(slot.encode('utf-8')).hexdigest()}"  # noqa: S324 - a name


class ShortPathPriorityQueue(DownloaderAwarePriorityQueue):
    def pqfactory(self, slot: str, startprios: Iterable[int] = ()) -> ScrapyPriorityQueue:
        return ScrapyPriorityQueue(self.crawler, self.downstream_queue_cls,
                                   self.key + "/" + slot_folder(slot), startprios,
                                   start_queue_cls=self._start_queue_cls)


def without_proxy(request: Request) -> Request:
    """``request`` without the proxy it was last sent through, nor that proxy's credentials."""
    meta = {k: v for k, v in request.meta.items() if k not in PROXY_META}
    if len(meta) == len(request.meta) and b"Proxy-Authorization" not in request.headers:
        return request
    headers = request.headers.copy()
    headers.pop(b"Proxy-Authorization", None)
    return request.replace(meta=meta, headers=headers)


class ProxylessDiskQueue(PickleLifoDiskQueue):
    def push(self, request: Request) -> None:
        super().push(without_proxy(request))
