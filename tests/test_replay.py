"""The archive replays in pywb, the Webrecorder replay server, from our CDXJ index."""

from __future__ import annotations

import gzip
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from archive.warcfiles import decoded_payload, read_record
from tests.conftest import run_cli

PYWB = Path(sys.executable).parent / "pywb"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    # No proxy: pywb listens on loopback, and nothing here may reach another host.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture
def pywb(crawled_archive, tmp_path):
    """pywb on 127.0.0.1 serving the crawled archive as collection ``archive``."""
    cdxj = tmp_path / "archive.cdxj"
    run_cli("cdxj", "-o", str(cdxj), data=crawled_archive)
    (tmp_path / "config.yaml").write_text(
        "collections:\n"
        "  archive:\n"
        f"    index: {cdxj}\n"
        f"    archive_paths: {crawled_archive / 'warc'}/\n",
        encoding="utf-8",
    )
    port = free_port()
    proc = subprocess.Popen([str(PYWB), "-p", str(port), "-b", "127.0.0.1"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(base + "/")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("pywb did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_an_archived_article_replays_in_pywb_as_it_was_served(crawled_archive, pywb):
    conn = sqlite3.connect(crawled_archive / "index.db")
    url, time_, warc_file, offset, length = conn.execute(
        "select a.url, c.time, c.warc_file, c.warc_offset, c.warc_length "
        "from articles a join captures c "
        "on c.warc_file = a.warc_file and c.warc_offset = a.warc_offset "
        "order by a.url limit 1").fetchone()
    conn.close()
    stamp = "".join(ch for ch in time_ if ch.isdigit())[:14]
    # id_: the archived response itself, without pywb's link rewriting.
    status, headers, body = get(f"{pywb}/archive/{stamp}id_/{quote(url, safe=':/?&=')}")
    assert status == 200
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    record = read_record(crawled_archive / "warc", warc_file, offset, length)
    assert body == decoded_payload(record)
    assert b"<html" in body.lower()


def test_pywb_says_not_found_for_a_url_never_archived(pywb):
    status, _, _ = get(f"{pywb}/archive/2025id_/http://nowhere.test/x.html")
    assert status == 404
