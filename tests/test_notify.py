"""The alarm webhook: retried while it fails for a moment, given up on what will not pass."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from archive.notify import post_json

MESSAGE = {"source": "portal-archive", "text": "portal-archive ALARM hà-nội: liveness"}


@pytest.fixture()
def webhook() -> Iterator[tuple[str, list[int], list[dict]]]:
    """A receiver on 127.0.0.1 that answers each POST with the next status of ``answers``
    (204 once they run out) and keeps the bodies it was sent."""
    answers: list[int] = []
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(answers.pop(0) if answers else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", answers, received
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("failures", [[503], [502, 429, 500]])
def test_a_webhook_that_fails_then_recovers_gets_the_message(webhook, failures):
    url, answers, received = webhook
    answers += failures
    assert post_json(url, MESSAGE, first_wait=0.01) is None
    assert received == [MESSAGE] * (len(failures) + 1)


def test_a_webhook_that_keeps_failing_is_given_up_after_the_last_attempt(webhook):
    url, answers, received = webhook
    answers += [503] * 10
    problem = post_json(url, MESSAGE, attempts=3, first_wait=0.01)
    assert problem == f"webhook {url} failed (3 tries): HTTP Error 503: Service Unavailable"
    assert len(received) == 3


@pytest.mark.parametrize("status", [400, 404, 410])
def test_an_answer_that_cannot_change_is_not_retried(webhook, status):
    url, answers, received = webhook
    answers.append(status)
    problem = post_json(url, MESSAGE, first_wait=0.01)
    assert problem is not None and f"(1 try): HTTP Error {status}" in problem
    assert received == [MESSAGE]


def test_a_webhook_that_is_not_listening_is_retried_then_reported():
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    problem = post_json(f"http://127.0.0.1:{port}/hook", MESSAGE, attempts=2, first_wait=0.01)
    assert problem is not None and "(2 tries)" in problem and "refused" in problem.lower()


def test_a_url_that_is_not_http_is_reported_without_retrying():
    problem = post_json("not a url", MESSAGE, first_wait=0.01)
    assert problem is not None and problem.startswith("webhook not a url failed (1 try)")
