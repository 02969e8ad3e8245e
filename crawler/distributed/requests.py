"""Requests as JSON text for the shared frontier (never pickle: whoever can write to Redis must
not be able to run code on the workers)."""

from __future__ import annotations

import json
from typing import Any

from scrapy import Request, Spider
from scrapy.utils.request import request_from_dict

from crawler.queues import without_proxy

# Set on a request taken from the frontier: its id there.
REQUEST_ID = "frontier_request_id"


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def encode(request: Request, spider: Spider) -> str:
    """The request as JSON; meta values that are not JSON (the WARC pointer of an earlier
    answer, say) are left out, as no request needs them before it is downloaded again, and so
    is the proxy a retry or a redirect was last sent through: the worker that pops it sends it
    through its own (crawler/queues.py)."""
    data = without_proxy(request).to_dict(spider=spider)
    data["headers"] = {name.decode("latin-1"): [v.decode("latin-1") for v in values]
                       for name, values in data["headers"].items()}
    data["body"] = data["body"].decode("latin-1")
    data["meta"] = {k: v for k, v in data["meta"].items()
                    if k != REQUEST_ID and _jsonable(v)}
    return json.dumps(data, ensure_ascii=False)


def decode(text: str, spider: Spider) -> Request:
    data = json.loads(text)
    data["headers"] = {name.encode("latin-1"): [v.encode("latin-1") for v in values]
                       for name, values in data["headers"].items()}
    data["body"] = data["body"].encode("latin-1")
    return request_from_dict(data, spider=spider)
