"""A hostile portal (tests/fixtures/hostile): the crawl fetches only the portal's hosts over
http(s), never a private address, never a local file, and loses nothing the portal serves."""

from __future__ import annotations

import json
import re
import shutil
import socket
import sqlite3
import unicodedata
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.signalmanager import SignalManager
from twisted.internet.error import DNSLookupError
from warcio.archiveiterator import ArchiveIterator

from crawler import resolver, settings
from crawler.middlewares.scope import ScopeMiddleware
from crawler.registry import Portal
from portal_archive.demo.server import FixtureServer
from tests.conftest import gold_records, run_cli

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
GOLD = gold_records(HOSTILE)
MANIFEST = json.loads((HOSTILE / "sites/hostile/manifest.json").read_text(encoding="utf-8"))
PORTAL_HOSTS = {"hostile.test"}
DOCUMENT_HOSTS = set(MANIFEST["document_hosts"])
SETTINGS = ["-s", "RETRY_TIMES=1", "-s", "LOG_LEVEL=WARNING"]
REFUSED = re.compile(r"refused \((\w+)\): (\S+)")


def requests_served(log: Path) -> list[tuple[str, str]]:
    """(host, path) of every request the fixture server was sent."""
    return [tuple(line.split(" ", 2)[1:]) for line in log.read_text().splitlines()]


def warc_records(data: Path) -> list:
    records = []
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                record.body = record.content_stream().read()
                records.append(record)
    return records


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory):
    data = tmp_path_factory.mktemp("hostile")
    log = data.parent / f"{data.name}-requests.log"
    result = run_cli("crawl", "--fixtures", str(HOSTILE), "--json", *SETTINGS, data=data,
                     check=False, env={"PORTAL_ARCHIVE_FIXTURE_LOG": str(log)})
    [summary] = json.loads(result.stdout)
    crawl_log = "".join(p.read_text() for p in (data / "logs").glob("*.log"))
    return data, summary, requests_served(log), crawl_log, result


def test_nothing_is_fetched_outside_the_portal(hostile_crawl):
    data, _, served, _, result = hostile_crawl
    allowed_documents = {urlsplit(u).path for g in GOLD for u in g["attachments_archived"]
                         if urlsplit(u).hostname in DOCUMENT_HOSTS}
    assert served, "the crawl asked for nothing"
    for host, path in served:
        assert host in PORTAL_HOSTS | DOCUMENT_HOSTS, (host, path)
        if host in DOCUMENT_HOSTS:
            assert path in allowed_documents | {"/robots.txt"}, path
    assert not any("admin" in path or "meta-data" in path for _, path in served)
    # Nothing of the crawl machine's own disk, nothing over another protocol.
    uris = {r.rec_headers.get_header("WARC-Target-URI") for r in warc_records(data)
            if r.rec_type in ("request", "response", "revisit")}
    assert all(urlsplit(u).hostname in PORTAL_HOSTS | DOCUMENT_HOSTS for u in uris), uris
    assert all(u.startswith("http://") for u in uris), uris
    assert "Traceback" not in result.stderr
    assert run_cli("verify", data=data).returncode == 0


def test_every_refusal_is_named_and_counted_in_the_summary(hostile_crawl):
    _, summary, _, crawl_log, _ = hostile_crawl
    refused = {(reason, url) for reason, url in REFUSED.findall(crawl_log)}
    # Every redirect the portal answers with leaves the portal (or its protocols), and so do
    # the refresh of its refresh page and a document link on another port of a document host.
    targets = {urljoin("http://hostile.test" + path, e["redirect_to"])
               for path, e in MANIFEST["urls"].items() if e.get("redirect_to")}
    refresh = re.search(r"url=([^'\"]+)", (HOSTILE / "sites/hostile/files/refresh.html")
                        .read_text()).group(1)
    other_port = [u for g in GOLD for u in g["attachments_refused"]
                  if urlsplit(u).hostname in DOCUMENT_HOSTS]
    assert {url for _, url in refused} >= targets | {refresh, *other_port}
    assert summary["refused"] == {reason: sum(1 for r, _ in refused if r == reason)
                                  for reason in {r for r, _ in refused}}
    private = {url for reason, url in refused if reason == "private_address"}
    assert {u for u in targets | {refresh} if (urlsplit(u).hostname or "x")[0].isdigit()} <= private


def test_bad_links_cost_nothing_else(hostile_crawl):
    data, summary, _, _, _ = hostile_crawl
    conn = sqlite3.connect(data / "index.db")
    stored = dict(conn.execute("select url, title from articles"))
    conn.close()
    # A malformed link is first on the home page, and in an article before its other links:
    # both pages, and every link after the bad one, are kept (one article is linked only there).
    assert stored == {g["url"]: g["title"] for g in GOLD}
    assert summary["skipped"]["malformed_url"] == sum(
        f.read_text(encoding="utf-8").count("http://[domain]")
        for f in (HOSTILE / "sites/hostile/files").glob("*.html"))
    refused_documents = [u for g in GOLD for u in g["attachments_refused"]
                         if urlsplit(u).hostname not in DOCUMENT_HOSTS]
    assert (summary["skipped"].get("unsupported_scheme", 0)
            + summary["skipped"].get("off_site_document", 0)) == len(refused_documents)


def test_documents_come_from_the_portal_and_its_document_hosts(hostile_crawl):
    data, *_ = hostile_crawl
    conn = sqlite3.connect(data / "index.db")
    captured = {url for (url,) in conn.execute(
        "select url from captures where status between 200 and 299")}
    conn.close()
    flaky = [p for p, e in MANIFEST["urls"].items() if e["fail_first_n"] > 1]
    wanted = {u for g in GOLD for u in g["attachments_archived"]
              if urlsplit(u).path not in flaky}
    assert wanted <= captured
    assert not {u for g in GOLD for u in g["attachments_refused"]} & captured


def test_cookies_a_portal_floods_are_not_sent_back(hostile_crawl):
    data, *_ = hostile_crawl
    records = warc_records(data)
    flooded = [r for r in records if r.rec_type == "response" and
               r.http_headers.get_header("Set-Cookie")]
    assert flooded, "the fixture sets cookies"
    assert not [r for r in records if r.rec_type == "request" and
                r.http_headers.get_header("Cookie")]


# -- without a proxy: the crawl connects itself ------------------------------------------------

def write_site(root: Path, urls: dict[str, dict]) -> None:
    site = root / "sites" / "loopback"
    (site / "files").mkdir(parents=True, exist_ok=True)
    (site / "files" / "404.html").write_text("<html><body>404</body></html>")
    (site / "files" / "home.html").write_text(
        "<html><head><title>Loopback</title></head><body><a href='/go'>go</a> "
        "<a href='/go-name'>name</a></body></html>")
    manifest = {"portal_id": "loopback", "base_url": "http://127.0.0.1",
                "not_found_file": "files/404.html", "urls": urls}
    (site / "manifest.json").write_text(json.dumps(manifest))
    (root / "index.json").write_text(json.dumps({"portals": [
        {"portal_id": "loopback", "base_url": "http://127.0.0.1",
         "manifest": "sites/loopback/manifest.json"}]}))


def test_a_loopback_portal_is_crawled_but_not_its_neighbours(tmp_path, monkeypatch):
    # Another service on the same machine, which a redirect points at: it must see nothing.
    neighbour = socket.socket()
    neighbour.bind(("127.0.0.1", 0))
    neighbour.listen(8)
    neighbour.setblocking(False)
    port = neighbour.getsockname()[1]
    page = {"status": 200, "content_type": "text/html", "charset": "utf-8", "headers": {},
            "redirect_to": None, "fail_first_n": 0}
    write_site(tmp_path / "site", {
        "/": {**page, "file": "files/home.html"},
        "/go": {**page, "file": None, "status": 302,
                "redirect_to": f"http://127.0.0.1:{port}/admin"},
        "/go-name": {**page, "file": None, "status": 302,
                     "redirect_to": f"http://localhost:{port}/admin"},
    })
    log = tmp_path / "requests.log"
    monkeypatch.setenv("PORTAL_ARCHIVE_FIXTURE_LOG", str(log))
    with FixtureServer(tmp_path / "site") as server:
        result = run_cli("crawl", "--url", server.url + "/", "--json", "-s", "LOG_LEVEL=WARNING",
                         "-s", "DOWNLOAD_DELAY=0", data=tmp_path / "data", check=False)
    with pytest.raises(BlockingIOError):
        neighbour.accept()  # no connection ever reached it
    neighbour.close()
    [summary] = json.loads(result.stdout)
    assert {path for _, path in requests_served(log)} >= {"/", "/go", "/go-name"}
    assert summary["refused"] == {"off_site": 2}  # another port; a name not the portal's


# -- the parts -----------------------------------------------------------------------------

class Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str) -> None:
        self.values[key] = self.values.get(key, 0) + 1


def middleware(portal: Portal) -> ScopeMiddleware:
    class FakeCrawler:
        stats = Stats()
        signals = SignalManager()
    return ScopeMiddleware(FakeCrawler(), portal, allow_private=False)  # type: ignore[arg-type]


@pytest.mark.parametrize("url, reason", [
    ("http://a.test/x.html", None),
    ("https://a.test/x.html", None),  # http and https both, on their default ports
    ("http://www.a.test/", None),
    ("http://a.test:8080/admin", "off_site"),
    ("http://b.test/", "off_site"),
    ("ftp://a.test/x.pdf", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("data:text/html,hello", "scheme"),
    ("http://docs.b.test/vb/1.pdf", None),
    ("http://docs.b.test/admin", "off_site"),
    ("http://docs.b.test:8443/vb/1.pdf", "off_site"),
])
def test_scope_of_a_request(url, reason):
    portal = Portal(id="a", base_url="http://a.test/", document_hosts=["docs.b.test"])
    mw = middleware(portal)
    if reason is None:
        assert mw.process_request(Request(url)) is None
    else:
        with pytest.raises(IgnoreRequest):
            mw.process_request(Request(url))
        assert mw.crawler.stats.values == {f"refused/{reason}": 1}


# A cloud metadata address (link-local), a private network's, loopback written as IPv6.
@pytest.mark.parametrize("address", ["169.254.169.254", "10.0.0.1", "[::ffff:127.0.0.1]"])
def test_a_private_address_is_refused(address):
    mw = middleware(Portal(id="a", base_url="http://a.test/"))
    with pytest.raises(IgnoreRequest):
        mw.process_request(Request(f"http://{address}/latest/meta-data/"))
    assert mw.crawler.stats.values == {"refused/private_address": 1}


def test_a_portal_on_a_private_address_is_crawled_on_its_own_port_only():
    mw = middleware(Portal.from_url("http://127.0.0.1:8000/"))
    assert mw.process_request(Request("http://127.0.0.1:8000/tin/1.html")) is None
    with pytest.raises(IgnoreRequest):
        mw.process_request(Request("http://127.0.0.1:8001/admin"))


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch):
    monkeypatch.setattr(resolver, "trusted", {"portal.test"})
    monkeypatch.setattr(resolver, "refused", {})
    check = resolver.PublicAddressResolver._check
    assert check("8.8.8.8", "docs.test") == "8.8.8.8"
    assert check("127.0.0.1", "portal.test") == "127.0.0.1"  # the portal itself is one
    for address in ("169.254.169.254", "127.0.0.1", "10.1.2.3", "192.168.0.1", "203.0.113.9",
                    "0.0.0.0"):
        with pytest.raises(DNSLookupError):
            check(address, "docs.test")
    assert resolver.refused == {"docs.test": "0.0.0.0"}
    # The crawl then names it: the retry of the request is refused, and counted.
    mw = middleware(Portal(id="a", base_url="http://a.test/", document_hosts=["docs.test"]))
    with pytest.raises(IgnoreRequest):
        mw.process_request(Request("http://docs.test/vb/1.pdf"))
    assert mw.crawler.stats.values == {"refused/private_address": 1}


def test_the_resolver_is_the_crawls():
    assert settings.TWISTED_DNS_RESOLVER == "crawler.resolver.PublicAddressResolver"
    assert {settings.DOWNLOAD_HANDLERS[s] for s in ("file", "ftp", "s3", "data")} == {None}


def test_a_document_that_failed_is_asked_for_on_the_next_crawl(tmp_path):
    # flaky.pdf fails twice: the first crawl (one retry) loses it; its article is stored and
    # not fetched again, so only the archive can remember the document is still wanted.
    data = tmp_path / "data"
    flaky = {f"http://hostile.test{p}" for p, e in MANIFEST["urls"].items()
             if e["fail_first_n"] > 1}
    archived = {u for g in GOLD for u in g["attachments_archived"]}
    logs = []
    # Each crawl starts its own fixture server, which fails the document twice again: the
    # second crawl has two retries, so its third try gets it.
    for n, retries in enumerate(("RETRY_TIMES=1", "RETRY_TIMES=2")):
        logs.append(tmp_path / f"requests-{n}.log")
        run_cli("crawl", "--fixtures", str(HOSTILE), *SETTINGS, "-s", retries, data=data,
                check=False, env={"PORTAL_ARCHIVE_FIXTURE_LOG": str(logs[-1])})
        conn = sqlite3.connect(data / "index.db")
        captured = {url for (url,) in conn.execute(
            "select url from captures where status between 200 and 299")}
        conn.close()
        assert (archived - captured == flaky) if n == 0 else archived <= captured
    second = {f"http://{host}{path}" for host, path in requests_served(logs[1])}
    assert flaky <= second and not (archived - flaky) & second  # nothing fetched twice


# -- what the archive keeps, and what a terminal is shown ---------------------------------------

CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def test_portal_text_enters_the_archive_as_nfc_without_controls(hostile_crawl):
    data, *_ = hostile_crawl
    conn = sqlite3.connect(data / "index.db")
    rows = conn.execute("select url, title, text, coalesce(summary, '') from articles").fetchall()
    conn.close()
    assert len(rows) == len(GOLD)
    for url, *texts in rows:
        for text in texts:
            assert not CONTROLS.search(text), (url, text[:100])
            assert unicodedata.is_normalized("NFC", text)
    longest = max(len(g["title"]) for g in GOLD)
    assert max(len(t) for _, t, *_ in rows) == longest <= 500  # capped, not dropped


def test_bad_answers_are_named_not_raised(hostile_crawl):
    _, summary, served, crawl_log, result = hostile_crawl
    truncated = [p for p, e in MANIFEST["urls"].items()
                 if e.get("misbehave", {}).get("kind") == "gzip_truncated"]
    assert summary["bad_input"] == {"truncated": len(truncated)}  # not a decompression bomb
    # Retry-After: ² is no number: the 503 is retried as any other, nothing raises.
    junk = [p for p, e in MANIFEST["urls"].items() if e.get("fail_headers", {}).get("Retry-After")]
    assert all(sum(path == p for _, path in served) == 2 for p in junk)
    assert "Traceback" not in crawl_log + result.stderr


def test_control_characters_never_reach_the_terminal(hostile_crawl, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(hostile_crawl[0], data, ignore=shutil.ignore_patterns("*.lock"))
    url = GOLD[0]["url"]
    # An archive written before text was cleaned at the edge may hold any character.
    conn = sqlite3.connect(data / "index.db")
    conn.execute("update articles set title = ?, author = ? where url = ?",
                 ["Tin\x1b]52;c;ZXZpbA==\x07 hay\x9b2J", "\x1b[31mTác giả", url])
    conn.commit()
    conn.close()
    for args in (["show", url], ["search", "quy", "hoạch"]):
        out = run_cli(*args, data=data).stdout
        assert "ZXZpbA==" in out  # the title is shown...
        assert not CONTROLS.search(out), (args, out[:300])  # ...its controls escaped
    shown = run_cli("show", url, data=data).stdout
    assert "Tin\\x1b]52;c;ZXZpbA==\\x07 hay\\x9b2J" in shown and "\\x1b[31mTác giả" in shown


def test_a_portal_whose_robots_txt_forbids_everything_is_said_so_not_called_down(tmp_path):
    root = tmp_path / "fixtures"
    site = root / "sites" / "closed"
    (site / "files").mkdir(parents=True)
    (site / "files" / "robots.txt").write_text("User-agent: *\nDisallow: /\n")
    (site / "files" / "home.html").write_text("<html><body><a href='/tin/1.html'>tin</a>")
    page = {"status": 200, "charset": "utf-8", "headers": {}, "redirect_to": None,
            "fail_first_n": 0}
    manifest = {"portal_id": "closed", "base_url": "http://closed.test",
                "not_found_file": "files/home.html", "urls": {
                    "/": {**page, "file": "files/home.html", "content_type": "text/html"},
                    "/robots.txt": {**page, "file": "files/robots.txt",
                                    "content_type": "text/plain"}}}
    (site / "manifest.json").write_text(json.dumps(manifest))
    (root / "index.json").write_text(json.dumps({"portals": [
        {"portal_id": "closed", "base_url": "http://closed.test",
         "manifest": "sites/closed/manifest.json"}]}))
    log = tmp_path / "requests.log"
    proc = run_cli("crawl", "--fixtures", str(root), "-s", "HEALTH_DEAD_RUNS=1",
                   "-s", "LOG_LEVEL=WARNING", data=tmp_path / "data", check=False,
                   env={"PORTAL_ARCHIVE_FIXTURE_LOG": str(log)})
    assert proc.returncode == 1
    assert "error: closed: robots.txt forbids crawling it" in proc.stderr
    assert "no response" not in proc.stderr and "ALARM" not in proc.stderr
    assert {path for _, path in requests_served(log)} == {"/robots.txt"}
    status = run_cli("status", data=tmp_path / "data").stdout
    assert "robots.txt forbids crawling it" in status and "ALARM" not in status
