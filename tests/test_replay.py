"""An archived article replays through a real pywb on loopback, from our CDXJ index."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from archive.warcfiles import decoded_payload, read_record
from tests.conftest import run_cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pywb_replays_an_archived_article(crawled_archive, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(crawled_archive, data)
    run_cli("cdxj", data=data)
    conn = sqlite3.connect(data / "index.db")
    url, warc_file, offset, length = conn.execute(
        "select url, warc_file, warc_offset, warc_length from articles "
        "where portal = 'vinhbao-hp' order by url limit 1").fetchone()
    conn.close()
    archived = decoded_payload(read_record(data / "warc", warc_file, offset, length))

    (tmp_path / "config.yaml").write_text(
        f"collections:\n  portals:\n    index_paths: {data / 'index.cdxj'}\n"
        f"    archive_paths: {data / 'warc'}/\n", encoding="utf-8")
    port = free_port()
    # `make test` installs pywb in a venv of its own (see the Makefile): its brotlipy would
    # shadow the brotli module Scrapy decodes `br` responses with.
    wayback = Path(sys.executable).parent.parent / "pywb" / "bin" / "wayback"
    assert wayback.exists(), f"pywb is not installed at {wayback}: run `make test`"
    server = subprocess.Popen([str(wayback), "--bind", "127.0.0.1", "--port", str(port)],
                              cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        replay = f"http://127.0.0.1:{port}/portals/2030id_/{url}"  # id_: as archived
        body = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(replay, timeout=10) as response:
                    body = response.read()
                    if response.headers.get("Content-Encoding") == "gzip":
                        body = zlib.decompress(body, zlib.MAX_WBITS | 16)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        assert body == archived
    finally:
        server.terminate()
        server.wait(timeout=10)
