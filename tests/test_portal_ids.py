"""Portal ids name files and folders: whatever a user or a portal gives, an id is a safe name,
and nothing is deleted outside the folder it is meant for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archive.paths import UnsafePath, inside, remove_tree
from crawler.registry import MAX_ID_LENGTH, PORTAL_ID, Portal, RegistryError, load_registry
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
LONG_HOST = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 45])  # 238 characters, legal


def data_dir_with_canaries(tmp_path: Path) -> tuple[Path, list[Path]]:
    data = tmp_path / "data"
    canaries = [data / "index.db", data / "jobs" / "other-portal" / "requests.queue",
                tmp_path / "outside.txt"]
    for canary in canaries:
        canary.parent.mkdir(parents=True, exist_ok=True)
        canary.write_text("keep me")
    return data, canaries


@pytest.mark.parametrize("url", ["http://../", "http://./", "http://.../x",
                                 "http://-x-/", "http://a_b..c/"])
def test_a_url_whose_host_is_no_name_gives_no_portal(url):
    with pytest.raises(RegistryError, match="not a host name|not an http"):
        Portal.from_url(url)


@pytest.mark.parametrize("portal_id", ["..", ".", "../data", "a/b", "", "-x", "x" * 65, "a\nb"])
def test_an_unsafe_portal_id_is_refused(portal_id):
    with pytest.raises(RegistryError, match="not a safe name"):
        Portal(id=portal_id, base_url="http://a.test/")


def test_a_long_legal_host_gives_a_short_safe_id():
    portal = Portal.from_url(f"http://{LONG_HOST}:8080/")
    assert len(portal.id) <= MAX_ID_LENGTH and PORTAL_ID.fullmatch(portal.id)
    assert portal.id != Portal.from_url(f"http://{LONG_HOST}:8081/").id


def test_every_registry_id_is_safe():
    assert all(PORTAL_ID.fullmatch(p) for p in load_registry())


@pytest.mark.parametrize("url", ["http://../", "http://./"])
def test_crawl_of_a_dot_host_says_so_and_deletes_nothing(tmp_path, url):
    data, canaries = data_dir_with_canaries(tmp_path)
    proc = run_cli("crawl", "--url", url, data=data, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not a host name" in lines[0], proc.stderr
    assert all(c.read_text() == "keep me" for c in canaries)


def test_scrapy_crawl_of_a_dot_host_says_so_and_deletes_nothing(tmp_path):
    data, canaries = data_dir_with_canaries(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "portal", "-a", "url=http://../",
         "-s", f"ARCHIVE_DATA_DIR={data}"], cwd=ROOT, capture_output=True, text=True,
        timeout=120)
    assert proc.returncode == 2
    assert "is not a host name" in proc.stderr and "Traceback" not in proc.stderr
    assert all(c.read_text() == "keep me" for c in canaries)


def test_a_238_character_host_is_crawled_without_a_crash(tmp_path, portal_server):
    # The fixture server answers for it as a proxy does for a name that does not resolve.
    proc = run_cli("crawl", "--url", f"http://{LONG_HOST}/", "--json", "-s",
                   f"PORTAL_PROXY={portal_server.url}", "-s", "RETRY_TIMES=0",
                   "-s", "LOG_LEVEL=WARNING", data=tmp_path / "data", check=False)
    assert proc.returncode == 1, proc.stderr  # its home page did not answer: it failed
    assert "Traceback" not in proc.stderr
    warcs = list((tmp_path / "data" / "warc").iterdir())
    assert warcs and all(len(p.name) < 255 for p in warcs)


def test_deletion_stays_inside_its_folder(tmp_path):
    folder = tmp_path / "jobs"
    (folder / "a").mkdir(parents=True)
    outside = tmp_path / "keep"
    outside.mkdir()
    (folder / "link").symlink_to(outside)
    for path in (folder / "..", folder / ".", folder, folder / "../keep", tmp_path, Path("/")):
        with pytest.raises(UnsafePath):
            remove_tree(folder, path)
    remove_tree(folder, folder / "link")  # the link goes, not what it points at
    assert outside.exists() and not (folder / "link").exists()
    remove_tree(folder, folder / "a")
    assert not (folder / "a").exists() and folder.exists()
    assert inside(folder, os.fspath(folder / "b" / "c")) == (folder / "b" / "c").resolve()
