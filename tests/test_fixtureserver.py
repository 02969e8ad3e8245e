"""The loopback portal server answers as the manifests say."""

from __future__ import annotations

import gzip
import http.client
import json
import shutil
from urllib.parse import urlsplit

from portal_archive.demo.server import FixtureServer
from tests.conftest import FIXTURES


def fetch(server, url: str, headers: dict | None = None) -> http.client.HTTPResponse:
    proxy = urlsplit(server.url)
    conn = http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=10)
    conn.request("GET", url, headers=headers or {})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def manifest(portal: str) -> dict:
    return json.loads((FIXTURES / "sites" / portal / "manifest.json").read_text("utf-8"))


def test_serves_raw_bytes_in_declared_charset(portal_server):
    entry = manifest("aluoi-tth")["urls"]["/?gd=34&cn=28&tc=1628"]
    response = fetch(portal_server, "http://aluoi-tth.test/?gd=34&cn=28&tc=1628")
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/html; charset=windows-1258"
    assert response.body == (FIXTURES / "sites" / "aluoi-tth" / entry["file"]).read_bytes()


def test_routes_by_host(portal_server):
    a = fetch(portal_server, "http://aluoi-tth.test/robots.txt").body
    b = fetch(portal_server, "http://baonghean.test/robots.txt").body
    assert b"Crawl-delay: 10" in b and b"Crawl-delay" not in a
    assert fetch(portal_server, "http://unknown-portal.test/").status == 502


def test_redirect_404_and_extra_headers(portal_server):
    redirect = fetch(portal_server, "http://aluoi-tth.test/Default.aspx")
    assert redirect.status == 301
    assert redirect.getheader("Location") == "http://aluoi-tth.test/"
    missing = fetch(portal_server, "http://aluoi-tth.test/no-such-page")
    assert missing.status == 404 and len(missing.body) > 0
    home = fetch(portal_server, "http://aluoi-tth.test/")
    assert home.getheader("Server") == "Microsoft-IIS/7.5"


def test_query_string_is_matched_verbatim(portal_server):
    # The same article linked with its parameters swapped is a separate manifest entry.
    assert fetch(portal_server, "http://aluoi-tth.test/?cn=28&gd=34&tc=2012").status == 200
    assert fetch(portal_server, "http://aluoi-tth.test/?tc=2012&cn=28&gd=34").status == 404


def test_fail_first_n_then_heals(tmp_path):
    root = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, root)
    with FixtureServer(root) as server:
        url = "http://aluoi-tth.test/?gd=34&tm=1&p=2"
        assert fetch(server, url).status == 500
        assert fetch(server, url).status == 200


def test_calendar_trap_answers_every_day(portal_server):
    response = fetch(portal_server, "http://aluoi-tth.test/?gd=34&ngay=2031-02-28")
    assert response.status == 200
    assert b"2031-03-01" in response.body and b"2031-02-27" in response.body
    assert fetch(portal_server, "http://aluoi-tth.test/?gd=34&ngay=2031-02-30").status == 404


def test_conditional_request_gets_304(portal_server):
    url = "http://aluoi-tth.test/robots.txt"
    etag = fetch(portal_server, url).getheader("ETag")
    assert fetch(portal_server, url, {"If-None-Match": etag}).status == 304


def test_gzip_when_asked(portal_server):
    response = fetch(portal_server, "http://baonghean.test/", {"Accept-Encoding": "gzip"})
    assert response.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(response.body).lstrip().startswith(b"<!DOCTYPE")


def test_changes_on_disk_are_served(tmp_path):
    root = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, root)
    with FixtureServer(root) as server:
        url = "http://vinhbao-hp.test/robots.txt"
        assert b"Disallow" in fetch(server, url).body
        (root / "sites" / "vinhbao-hp" / "files" / "robots.txt").write_bytes(b"changed\n")
        assert fetch(server, url).body == b"changed\n"
