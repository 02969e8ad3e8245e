"""A loopback web server that plays simulated portals from a fixture directory.

The directory has the layout of the project's fixtures (``index.json``,
``sites/<id>/manifest.json``, ``sites/<id>/files/...``). The server answers as an HTTP proxy
that routes by host, so a crawler configured to use it as its proxy requests
``http://<portal-id>.test/...`` with the real URLs, and the WARC records carry those URLs.
Plain requests with a ``Host`` header work as well.

Manifests and files are read again when they change on disk, so a test can change what a portal
answers between two crawls. Run it as ``python -m portal_archive.demo.server DIR``: it binds
127.0.0.1 on a free port and prints its URL on its first line of output, as Scrapy's mock server
does.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

COMPRESSIBLE = ("text/", "application/xml", "application/rss+xml", "application/json")


class Site:
    """One portal's manifest, reloaded when the file changes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._mtime = 0.0
        self.manifest: dict = {}
        self.failures: dict[str, int] = {}
        self.reload()

    def reload(self) -> None:
        path = self.folder / "manifest.json"
        mtime = path.stat().st_mtime
        if mtime != self._mtime:
            self.manifest = json.loads(path.read_text(encoding="utf-8"))
            self._mtime = mtime
            self.traps = [
                (re.compile(rule["pattern"]), rule) for rule in self.manifest.get("trap_rules", [])
            ]

    def read(self, relative: str) -> bytes:
        return (self.folder / relative).read_bytes()


class FixtureIndex:
    """All sites of a fixture directory, by host name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sites: dict[str, Site] = {}
        index = json.loads((root / "index.json").read_text(encoding="utf-8"))
        for portal in index["portals"]:
            site = Site((root / portal["manifest"]).parent)
            host = urlsplit(portal["base_url"]).hostname
            self.sites[host] = site
        self.lock = threading.Lock()


def _render_trap(site: Site, rule: dict, match: re.Match) -> bytes:
    day = date.fromisoformat(match.group("date"))
    text = site.read(rule["template"]).decode(rule.get("charset") or "utf-8")
    replacements = {
        "@@DATE@@": day.isoformat(),
        "@@DATE_VN@@": day.strftime("%d/%m/%Y"),
        "@@PREV@@": (day - timedelta(days=1)).isoformat(),
        "@@NEXT@@": (day + timedelta(days=1)).isoformat(),
    }
    for key, value in replacements.items():
        text = text.replace(key, value)
    return text.encode(rule.get("charset") or "utf-8")


_BOMBS: dict[int, bytes] = {}


def _gzip_zeros(mb: int) -> bytes:
    if mb not in _BOMBS:
        _BOMBS[mb] = gzip.compress(b"\0" * (mb << 20), compresslevel=1, mtime=0)
    return _BOMBS[mb]


def _content_type(entry: dict) -> str:
    content_type = entry.get("content_type") or "application/octet-stream"
    if entry.get("charset"):
        content_type += f"; charset={entry['charset']}"
    return content_type


class PortalHandler(BaseHTTPRequestHandler):
    server_version = "fixture-portal/1.0"
    protocol_version = "HTTP/1.1"
    fixtures: FixtureIndex

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:  # type: ignore[attr-defined]
            super().log_message(format, *args)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:  # noqa: N802 - stdlib naming
        target = urlsplit(self.path)
        host = (target.hostname or self.headers.get("Host", "")).split(":")[0].lower()
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        if not target.scheme:
            path = self.path
        started = time.time()
        request_log = self.server.request_log  # type: ignore[attr-defined]
        if request_log:
            # When each request arrived: what politeness tests measure.
            with self.server.fixtures.lock, open(request_log, "a") as fh:  # type: ignore[attr-defined]
                fh.write(f"{time.time():.6f} {host} {path}\n")
        site = self.server.fixtures.sites.get(host)  # type: ignore[attr-defined]
        if site is None:
            # What a proxy answers when the name does not resolve.
            self.respond(502, {"Content-Type": "text/plain; charset=utf-8"},
                         f"unknown host {host!r}\n".encode(), head)
            return
        with self.server.fixtures.lock:  # type: ignore[attr-defined]
            site.reload()
            status, headers, body = self.resolve(site, path)
            misbehave = (site.manifest["urls"].get(path) or {}).get("misbehave")
        if self.server.latency:  # type: ignore[attr-defined]
            # A remote portal's round trip, for the crawl benchmark (bench/crawl_bench.py).
            time.sleep(self.server.latency)  # type: ignore[attr-defined]
        if misbehave:
            self.misbehave(misbehave, status, headers, body)
            return
        self.respond(status, headers, body, head)
        exchanges = self.server.exchange_log  # type: ignore[attr-defined]
        if exchanges:
            # Each exchange whole, for tests that measure load at the server: when it began
            # and ended (concurrency per host), what was answered, which server (process)
            # answered, and whether the request was conditional.
            line = json.dumps({"host": host, "path": path, "start": started, "end": time.time(),
                               "status": status, "server": os.getpid(),
                               "conditional": bool(self.headers.get("If-None-Match")
                                                   or self.headers.get("If-Modified-Since"))})
            with self.server.fixtures.lock, open(exchanges, "a") as fh:  # type: ignore[attr-defined]
                fh.write(line + "\n")

    def misbehave(self, how: dict, status: int, headers: dict[str, str], body: bytes) -> None:
        """Answers real servers give on bad days, for the crawler's bad-input tests:
        ``reset`` (the connection dies mid-body), ``hang`` (no answer at all),
        ``gzip_bomb`` (a small gzip body that inflates to ``mb`` MB), ``gzip_truncated`` (the
        gzip body cut short), ``huge`` (a ``mb`` MB body) and ``attributes`` (one element with
        ``count`` attributes, which parsers take minutes over)."""
        kind = how["kind"]
        if kind == "hang":
            time.sleep(float(how.get("seconds", 30)))
            self.close_connection = True
            return
        if kind == "gzip_bomb":
            body = _gzip_zeros(int(how.get("mb", 200)))
            headers = {**headers, "Content-Encoding": "gzip"}
        elif kind == "huge":
            body = b"<html><body>" + b"x" * (int(how.get("mb", 60)) << 20)
        elif kind == "gzip_truncated":  # a whole HTTP answer whose gzip body was cut short
            packed = gzip.compress(body, mtime=0)
            body = packed[: len(packed) * 2 // 3]
            headers = {**headers, "Content-Encoding": "gzip"}
        elif kind == "attributes":
            attributes = " ".join(f'data-a{i}="{i}"' for i in range(int(how.get("count", 1000))))
            body = f"<html><body><div {attributes}><p>…</p></div></body></html>".encode()
        self.send_response_only(status, HTTPStatus(status).phrase)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "reset":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            # SO_LINGER 0: close with a TCP reset, as a crashed server process does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        try:
            self.wfile.write(body)
        except OSError:  # the crawler hung up on a body it refuses: that is the point
            self.close_connection = True

    def resolve(self, site: Site, path: str) -> tuple[int, dict[str, str], bytes]:
        manifest = site.manifest
        entry = manifest["urls"].get(path)
        if entry is None:
            for pattern, rule in site.traps:
                match = pattern.match(path)
                if match:
                    try:
                        body = _render_trap(site, rule, match)
                    except ValueError:  # not a real date: fall through to 404
                        break
                    return rule.get("status", 200), {"Content-Type": _content_type(rule)}, body
            body = site.read(manifest["not_found_file"])
            return 404, {"Content-Type": "text/html; charset=utf-8"}, body

        served = site.failures.get(path, 0)
        if served < entry.get("fail_first_n", 0):
            site.failures[path] = served + 1
            body = site.read(entry["fail_file"]) if entry.get("fail_file") else b""
            headers = {"Content-Type": "text/html; charset=utf-8", **entry.get("fail_headers", {})}
            return entry.get("fail_status", 500), headers, body

        headers = {"Content-Type": _content_type(entry)}
        headers.update(entry.get("headers") or {})
        if entry.get("redirect_to") and "Location" not in headers:
            headers["Location"] = entry["redirect_to"]
        if self.not_modified(headers):
            return 304, {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified")}, b""
        body = site.read(entry["file"]) if entry.get("file") else b""
        return entry["status"], headers, body

    def not_modified(self, headers: dict[str, str]) -> bool:
        etag = headers.get("ETag")
        if etag and self.headers.get("If-None-Match") == etag:
            return True
        since, modified = self.headers.get("If-Modified-Since"), headers.get("Last-Modified")
        if since and modified and not self.headers.get("If-None-Match"):
            try:
                return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False

    def respond(self, status: int, headers: dict[str, str], body: bytes, head: bool) -> None:
        content_type = headers.get("Content-Type", "")
        if (
            body
            and "gzip" in self.headers.get("Accept-Encoding", "")
            and content_type.startswith(COMPRESSIBLE)
        ):
            # Real portals (IIS, nginx) compress text; the archive must keep those bytes as sent.
            body = gzip.compress(body, mtime=0)
            headers = {**headers, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        self.send_response_only(status, reason)
        for name, value in headers.items():
            for one in value if isinstance(value, list) else [value]:  # Set-Cookie, repeated
                self.send_header(name, one)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Date", self.date_time_string())
        self.end_headers()
        if not head:
            self.wfile.write(body)


class PortalServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A crawler that hangs up mid-answer (a stopping crawl drops its downloads) is no
        # error of the server's.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def make_server(
    root: Path, port: int = 0, *, verbose: bool = False, latency: float = 0.0
) -> ThreadingHTTPServer:
    """Build (not start) a server for the fixture directory ``root`` on 127.0.0.1.

    ``latency`` (seconds) is added before every answer, as a remote portal's round trip would.
    """
    server = PortalServer(("127.0.0.1", port), PortalHandler)
    server.daemon_threads = True
    server.fixtures = FixtureIndex(Path(root))  # type: ignore[attr-defined]
    server.verbose = verbose  # type: ignore[attr-defined]
    # PORTAL_ARCHIVE_FIXTURE_LATENCY (seconds) holds every answer that long, so that a test
    # can see at the server how many requests a crawl keeps open at once.
    server.latency = latency or float(  # type: ignore[attr-defined]
        os.environ.get("PORTAL_ARCHIVE_FIXTURE_LATENCY") or 0)
    server.request_log = os.environ.get("PORTAL_ARCHIVE_FIXTURE_LOG")  # type: ignore[attr-defined]
    # One JSON line per exchange, once answered (see PortalHandler.do_GET).
    server.exchange_log = os.environ.get(  # type: ignore[attr-defined]
        "PORTAL_ARCHIVE_FIXTURE_EXCHANGES")
    return server


class FixtureServer:
    """Run the server in a child process for as long as the ``with`` block lasts.

    ``url`` is the proxy address to give the crawler (``PORTAL_PROXY``).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> FixtureServer:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "portal_archive.demo.server", str(self.root),
             "--exit-with-stdin"],
            stdin=subprocess.PIPE,  # closed when this process ends, even by SIGKILL
            stdout=subprocess.PIPE,
            text=True,
            # Out of the terminal's process group: a Ctrl-C meant for the crawl must not stop
            # the server while the crawl finishes its last requests.
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://127.0.0.1:"):
            self.proc.kill()
            raise RuntimeError(f"fixture server did not start for {self.root}")
        self.url = line
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.terminate()
            self.proc.wait(timeout=10)
            if self.proc.stdout:
                self.proc.stdout.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="fixture directory (with index.json)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: free)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds added before every answer (benchmarks; default: 0)")
    parser.add_argument("--exit-with-stdin", action="store_true",
                        help="stop when standard input closes (the parent process ended)")
    args = parser.parse_args(argv)
    server = make_server(args.root, args.port, verbose=args.verbose, latency=args.latency)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    if args.exit_with_stdin:
        def wait_for_parent() -> None:
            sys.stdin.read()
            server.shutdown()
        threading.Thread(target=wait_for_parent, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
