"""Send alarms to a webhook (setting ``ALARM_WEBHOOK_URL``) as one JSON POST."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from archive import __version__


def post_json(url: str, message: dict[str, Any], timeout: float = 10) -> str | None:
    """POST ``message`` to ``url``; return None on success, else what went wrong.

    A webhook that is down must not hide the alarm: the caller prints it either way.
    """
    request = urllib.request.Request(
        url, data=json.dumps(message, ensure_ascii=False).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8",
                 "User-Agent": f"portal-archive/{__version__}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except (urllib.error.URLError, OSError, ValueError) as e:
        return f"webhook {url} failed: {e}"
    return None
