"""The scheduler's priority queue: Scrapy's, with folder names a file system accepts.

Scrapy's ``DownloaderAwarePriorityQueue`` keeps each download slot's queue of a job directory in
a folder named after the slot (the host) plus a 33-character hash. A legal host name may have
253 characters, a folder name 255 bytes: a portal of a long host name stopped its crawl with
"File name too long". Here a long slot name is shortened before its hash; the folder of a host
of ordinary length is named exactly as Scrapy names it, so existing job directories resume.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from scrapy.pqueues import DownloaderAwarePriorityQueue, ScrapyPriorityQueue, _path_safe

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
