"""Web archives on loopback, for the recovery tests, the benchmark and trying ``recover`` out.

- ``CommonCrawlServer``: a Common Crawl look-alike over a folder of WARC files: a crawl list
  (``/collinfo.json``), a pywb-style CDX API per crawl, paged (``showNumPages``, ``page``), and
  the WARC files themselves with HTTP Range requests.
- ``Wayback``: a real pywb over the same WARC files (CDX API and ``id_`` replay), run from the
  project's pywb venv (``make test`` installs it in ``.venv/pywb``).
- ``FaultFront``: a reverse proxy that puts an archive's bad days in front of either: 429 with
  ``Retry-After``, 503, connection resets, truncated bodies and records, and a CDX page that
  fails once. Each faulty URL fails on its first request only, so that polite retries heal.

Everything binds 127.0.0.1 on a port the system chooses.
"""

from __future__ import annotations

import json
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from archive.cdxj import write_cdxj
from archive.paths import remove_tree
from archive.warcfiles import iter_members, parse_record

CRAWL = "CC-MAIN-TEST-01"
CDX_PAGE_SIZE = 25  # lines per CDX page: small, so that paging is exercised


def surt(url: str) -> str:
    """The sort key archives index a URL under (host reversed, without ``www.``)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return ",".join(reversed(host.split("."))) + ")" + (parts.path or "/").lower() + (
        f"?{query}" if query else "")


def cdx_lines(warc_dir: Path, prefix: str = "") -> list[dict[str, Any]]:
    """One pywb-style CDX line per response record of the WARC files in ``warc_dir``."""
    lines = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        for member in iter_members(path):
            record = parse_record(member.data)
            if record.rec_type != "response" or record.http_headers is None:
                continue
            headers = record.rec_headers
            url = headers.get_header("WARC-Target-URI")
            date = headers.get_header("WARC-Date")
            lines.append({
                "urlkey": surt(url), "timestamp": "".join(c for c in date if c.isdigit())[:14],
                "url": url,
                "mime": (record.http_headers.get_header("Content-Type") or "").split(";")[0],
                "status": record.http_headers.get_statuscode(),
                "digest": (headers.get_header("WARC-Payload-Digest") or "").removeprefix(
                    "sha1:"),
                "length": str(member.length), "offset": str(member.offset),
                "filename": prefix + path.name,
            })
    lines.sort(key=lambda line: (line["urlkey"], line["timestamp"]))
    return lines


def matches(line: dict[str, Any], url: str, match: str) -> bool:
    target = url.split("://", 1)[-1].removeprefix("www.")
    parts = urlsplit(line["url"])
    host = (parts.hostname or "").removeprefix("www.")
    if match == "domain":
        domain = target.split("/", 1)[0].removeprefix("*.")
        return host == domain or host.endswith("." + domain)
    if match == "host":
        return host == target.split("/", 1)[0]
    here = host + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return here.startswith(target) if match == "prefix" else here == target


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Background:
    """A ThreadingHTTPServer on 127.0.0.1:0, served from a thread: ``with`` starts and stops."""

    handler: type[BaseHTTPRequestHandler]

    def __enter__(self) -> _Background:
        self.httpd = _Server(("127.0.0.1", 0), self.handler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    @property
    def owner(self) -> Any:
        return self.server.owner  # type: ignore[attr-defined]

    def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _CommonCrawlHandler(_Quiet):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        owner: CommonCrawlServer = self.owner
        owner.requests[urlsplit(self.path).path] += 1
        parts = urlsplit(self.path)
        if parts.path == "/collinfo.json":
            self.send(200, json.dumps(owner.collinfo()).encode(),
                      {"Content-Type": "application/json"})
        elif parts.path == f"/{CRAWL}-index":
            self._cdx(owner, {k: v[-1] for k, v in parse_qs(parts.query).items()})
        elif parts.path.startswith(f"/crawl-data/{CRAWL}/"):
            self._warc(owner, parts.path.rsplit("/", 1)[-1])
        else:
            self.send(404, b"not found")

    def _cdx(self, owner: CommonCrawlServer, q: dict[str, str]) -> None:
        found = [line for line in owner.lines
                 if matches(line, q.get("url", ""), q.get("matchType", "exact"))
                 and q.get("from", "0") <= line["timestamp"][:len(q.get("from", "0"))]
                 and line["timestamp"][:len(q.get("to", "9"))] <= q.get("to", "9")]
        pages = (len(found) + CDX_PAGE_SIZE - 1) // CDX_PAGE_SIZE
        if q.get("showNumPages") == "true":
            body = json.dumps({"pages": pages, "pageSize": CDX_PAGE_SIZE, "blocks": pages})
            self.send(200, body.encode(), {"Content-Type": "application/json"})
            return
        if not found:
            self.send(404, b'{"message": "No Captures found for: ' + q.get("url", "").encode()
                      + b'"}', {"Content-Type": "application/json"})
            return
        page = int(q.get("page", "0"))
        chunk = found[page * CDX_PAGE_SIZE:(page + 1) * CDX_PAGE_SIZE]
        body = "".join(json.dumps(line) + "\n" for line in chunk)
        self.send(200, body.encode(), {"Content-Type": "text/x-ndjson"})

    def _warc(self, owner: CommonCrawlServer, name: str) -> None:
        path = owner.warc_dir / name
        if not path.is_file():
            self.send(404, b"no such file")
            return
        data = path.read_bytes()
        span = self.headers.get("Range", "")
        if not span.startswith("bytes="):
            self.send(200, data, {"Content-Type": "application/warc"})
            return
        first, _, last = span[6:].partition("-")
        start, end = int(first), min(int(last or len(data) - 1), len(data) - 1)
        self.send(206, data[start:end + 1], {"Content-Type": "application/warc",
                                             "Content-Range": f"bytes {start}-{end}/{len(data)}"})


class CommonCrawlServer(_Background):
    """One crawl, ``CRAWL``, made of the WARC files in ``warc_dir``."""

    handler = _CommonCrawlHandler

    def __init__(self, warc_dir: Path) -> None:
        self.warc_dir = Path(warc_dir)
        self.lines = cdx_lines(self.warc_dir, prefix=f"crawl-data/{CRAWL}/")
        self.requests: Counter[str] = Counter()

    def collinfo(self) -> list[dict[str, str]]:
        times = sorted(line["timestamp"] for line in self.lines) or ["20000101000000"]
        return [{"id": CRAWL, "name": "Loopback test crawl", "timegate": f"/{CRAWL}/",
                 "cdx-api": f"/{CRAWL}-index", "from": _iso(times[0]), "to": _iso(times[-1])}]

    @property
    def index(self) -> str:
        return self.url + "collinfo.json"


def _iso(t: str) -> str:
    return f"{t[:4]}-{t[4:6]}-{t[6:8]}T{t[8:10]}:{t[10:12]}:{t[12:14]}"


class Wayback:
    """pywb replaying ``warc_dir`` as collection ``archive``, on a free loopback port."""

    def __init__(self, warc_dir: Path, workdir: Path) -> None:
        self.warc_dir = Path(warc_dir)
        self.workdir = Path(workdir)
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Wayback:
        wayback = Path(sys.executable).parent.parent / "pywb" / "bin" / "wayback"
        if not wayback.exists():
            raise RuntimeError(f"pywb is not installed at {wayback}: run `make test`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = self.workdir / "collection"
        remove_tree(self.workdir, data)
        shutil.copytree(self.warc_dir, data / "warc")
        cdxj, _ = write_cdxj(data)
        (self.workdir / "config.yaml").write_text(
            f"collections:\n  archive:\n    index_paths: {cdxj}\n"
            f"    archive_paths: {data / 'warc'}/\n", encoding="utf-8")
        port = _free_port()
        self.proc = subprocess.Popen([str(wayback), "--bind", "127.0.0.1", "--port", str(port)],
                                     cwd=self.workdir, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}/"
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60) -> None:
        """Until pywb answers its CDX API (it takes a few seconds to import itself)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pywb exited with status {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", int(self.url.rsplit(":", 1)[1]
                                                                  .strip("/"))), timeout=1):
                    pass
                with urllib.request.urlopen(self.cdx + "?url=none.invalid/", timeout=10):
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        raise RuntimeError("pywb did not answer within a minute")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    @property
    def cdx(self) -> str:
        return self.url + "archive/cdx"

    @property
    def replay(self) -> str:
        return self.url + "archive/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- faults ----------------------------------------------------------------------------------

FAULTS = ("429", "503", "reset", "truncate")


class _FaultHandler(_Quiet):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        owner: FaultFront = self.owner
        # A WARC file is one path: each range of it is a request of its own.
        fault = owner.fault_for(self.path + " " + self.headers.get("Range", ""))
        if fault == "429":
            self.send(429, b"slow down", {"Retry-After": str(owner.retry_after)})
            return
        if fault == "503":
            self.send(503, b"unavailable")
            return
        if fault == "reset":
            # SO_LINGER 0: close with a TCP reset, as an overloaded front end does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        status, headers, body = owner.forward(self.path, self.headers)
        if fault == "truncate":
            if status == 206:
                # A torn record: the range answered whole in its framing, half of it in bytes.
                body = body[:len(body) // 2]
            else:
                # A body cut off: Content-Length promises more than the connection brings.
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:len(body) // 2])
                self.close_connection = True
                return
        self.send(status, body, headers)


class FaultFront(_Background):
    """A reverse proxy to ``upstream`` where every ``every``-th distinct URL fails on its first
    request, with the faults in turn, and the first CDX page (``cdx_path``) fails once."""

    handler = _FaultHandler

    def __init__(self, upstream: str, *, every: int = 4, retry_after: int = 1,
                 cdx_path: str = "cdx") -> None:
        self.upstream = upstream.rstrip("/")
        self.every = every
        self.retry_after = retry_after
        self.cdx_path = cdx_path
        self.seen: dict[str, int] = {}
        self.injected: Counter[str] = Counter()
        self.lock = threading.Lock()

    def fault_for(self, path: str) -> str | None:
        with self.lock:
            first = path not in self.seen
            self.seen[path] = self.seen.get(path, 0) + 1
            if not first:
                return None
            if self.cdx_path in urlsplit(path).path and not self.injected["cdx"]:
                self.injected["cdx"] += 1
                return "503"
            if self.cdx_path in urlsplit(path).path or path.endswith(".json"):
                return None
            n = sum(1 for p in self.seen if self.cdx_path not in p)
            if n % self.every:
                return None
            fault = FAULTS[(n // self.every) % len(FAULTS)]
            self.injected[fault] += 1
            return fault

    def forward(self, path: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.upstream + path, headers={
            k: v for k, v in headers.items() if k.lower() in ("range", "user-agent",
                                                               "accept-encoding")})
        try:
            with _NO_REDIRECTS.open(request, timeout=60) as response:
                return response.status, _plain(response.headers), response.read()
        except urllib.error.HTTPError as e:
            return e.code, _plain(e.headers), e.read()


def _plain(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection")}


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_KeepRedirects)
