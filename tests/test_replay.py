"""An archived article replays through a real pywb on loopback: from our CDXJ index, and from
pywb's own index when its standard workflow (`wb-manager add`) is given our WARC files."""

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


# `make test` installs pywb in a venv of its own (see the Makefile): its brotlipy would shadow
# the brotli module Scrapy decodes `br` responses with.
PYWB = Path(sys.executable).parent.parent / "pywb" / "bin"


def first_article(data: Path) -> tuple[str, bytes]:
    """The URL of an archived article and the page as archived."""
    conn = sqlite3.connect(data / "index.db")
    url, warc_file, offset, length = conn.execute(
        "select url, warc_file, warc_offset, warc_length from articles "
        "where portal = 'vinhbao-hp' order by url limit 1").fetchone()
    conn.close()
    return url, decoded_payload(read_record(data / "warc", warc_file, offset, length))


def replay(root: Path, collection: str, url: str) -> bytes:
    """The page pywb's `wayback`, started in ``root``, serves for ``url`` as archived."""
    assert (PYWB / "wayback").exists(), f"pywb is not installed at {PYWB}: run `make test`"
    port = free_port()
    server = subprocess.Popen([str(PYWB / "wayback"), "--bind", "127.0.0.1", "--port", str(port)],
                              cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        address = f"http://127.0.0.1:{port}/{collection}/2030id_/{url}"  # id_: as archived
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(address, timeout=10) as response:
                    body = response.read()
                    if response.headers.get("Content-Encoding") == "gzip":
                        body = zlib.decompress(body, zlib.MAX_WBITS | 16)
                    return body
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)  # the server is still starting
        raise AssertionError(f"pywb did not answer {address}")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_pywb_replays_an_archived_article(crawled_archive, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(crawled_archive, data)
    run_cli("cdxj", data=data)
    url, archived = first_article(data)
    (tmp_path / "config.yaml").write_text(
        f"collections:\n  portals:\n    index_paths: {data / 'index.cdxj'}\n"
        f"    archive_paths: {data / 'warc'}/\n", encoding="utf-8")
    assert replay(tmp_path, "portals", url) == archived


def test_wb_manager_add_replays_the_page_not_its_clean_article(crawled_archive, tmp_path):
    # pywb indexes every record it is given: the clean article's conversion record must not
    # be filed under the page's URL, or pywb serves its JSON in place of the page.
    url, archived = first_article(crawled_archive)
    subprocess.run([str(PYWB / "wb-manager"), "init", "portals"], cwd=tmp_path, check=True,
                   capture_output=True)
    subprocess.run([str(PYWB / "wb-manager"), "add", "portals",
                    *map(str, sorted((crawled_archive / "warc").glob("*.warc.gz")))],
                   cwd=tmp_path, check=True, capture_output=True)
    assert replay(tmp_path, "portals", url) == archived
