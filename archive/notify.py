"""Send alarms to a webhook (setting ``ALARM_WEBHOOK_URL``) as one JSON POST.

A webhook that fails for a moment (a restart, a 502 from its proxy, a rate limit) gets the
message on a later attempt: tenacity retries what may pass, with exponential waits, and gives
up at once on what will not (a 404, a 400, a URL that is not http).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from archive import __version__

if TYPE_CHECKING:
    from archive.health import Alarm

ATTEMPTS = 4  # tries of one message before it is given up
FIRST_WAIT = 1.0  # seconds before the second try; doubled for each next one
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


def passing(error: BaseException) -> bool:
    """Whether a failed POST may succeed if tried again."""
    if isinstance(error, urllib.error.HTTPError):
        return error.code in RETRY_STATUSES
    return isinstance(error, OSError)  # refused, reset, timed out, no DNS (URLError included)


def _post(request: urllib.request.Request, timeout: float) -> None:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as e:
        e.close()  # its connection: the error itself is all a retry or a report needs
        raise


def post_json(url: str, message: dict[str, Any], *, timeout: float = 10,
              attempts: int = ATTEMPTS, first_wait: float = FIRST_WAIT) -> str | None:
    """POST ``message`` to ``url``; return None on success, else what went wrong.

    A webhook that is down must not hide the alarm: the caller prints it either way.
    """
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": f"portal-archive/{__version__}"}
    retrying = Retrying(stop=stop_after_attempt(attempts),
                        wait=wait_exponential(multiplier=first_wait, max=60),
                        retry=retry_if_exception(passing), reraise=True)
    try:
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        for attempt in retrying:
            with attempt:
                _post(request, timeout)
    except (OSError, ValueError) as e:
        tries = retrying.statistics.get("attempt_number", 1)
        return f"webhook {url} failed ({tries} {'try' if tries == 1 else 'tries'}): {e}"
    return None


def alarm_message(job: str, data_dir: Path, alarms: list[Alarm],
                  exit_status: int) -> dict[str, Any]:
    """The webhook message of a crawl job's alarms."""
    return {
        "source": "portal-archive", "job": job, "data": str(Path(data_dir).resolve()),
        "alarms": [a.to_dict() for a in alarms], "exit_status": exit_status,
        # Chat webhooks (Slack, Mattermost, Google Chat) show ``text``.
        "text": "\n".join(f"portal-archive ALARM {a.portal}: {a.kind}: {a.reason}"
                          for a in alarms),
    }
