"""A read-only archive (a snapshot, a mounted copy, a user without write access) serves every
command that only reads.

Permissions do not stop root, who runs the tests in CI, so the archive is made read-only the
way a snapshot or a mounted copy is: a read-only bind mount, in a mount namespace of the
command's own (``unshare``), where every write fails with EROFS whoever asks.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import gold_records

UNSHARE = shutil.which("unshare")


def can_mount_read_only(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.mkdir()
    result = subprocess.run([UNSHARE, "--mount", "--propagation", "private", "sh", "-c",
                             f"mount --bind {probe} {probe} && "
                             f"mount -o remount,bind,ro {probe} && ! touch {probe}/x"],
                            capture_output=True)
    probe.rmdir()
    return result.returncode == 0


def run_read_only(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``portal-archive --data DATA ARGS`` with DATA mounted read-only for that process."""
    command = " ".join(f"'{a}'" for a in [sys.executable, "-m", "portal_archive.cli",
                                           "--data", str(data), *args])
    return subprocess.run(
        [UNSHARE, "--mount", "--propagation", "private", "sh", "-c",
         f"mount --bind {data} {data} && mount -o remount,bind,ro {data} && exec {command}"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONUTF8": "1"})


def snapshot(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def read_only_archive(crawled_archive, tmp_path_factory):
    if UNSHARE is None or not can_mount_read_only(tmp_path_factory.mktemp("probe")):
        pytest.skip("this machine cannot make a read-only mount (needs root or "
                    "CAP_SYS_ADMIN, as CI has)")
    data = tmp_path_factory.mktemp("ro") / "data"
    shutil.copytree(crawled_archive, data)
    conn = sqlite3.connect(data / "index.db")  # as a finished crawl leaves it: no -wal
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    assert not list(data.glob("index.db-*"))
    return data


def test_the_mount_really_refuses_writes(read_only_archive):
    result = subprocess.run(
        [UNSHARE, "--mount", "--propagation", "private", "sh", "-c",
         f"mount --bind {read_only_archive} {read_only_archive} && "
         f"mount -o remount,bind,ro {read_only_archive} && touch {read_only_archive}/x"],
        capture_output=True, text=True)
    assert result.returncode != 0 and "Read-only file system" in result.stderr


def test_read_commands_work_on_a_read_only_archive(read_only_archive, tmp_path):
    data = read_only_archive
    before = snapshot(data)
    expected = len(gold_records())

    found = run_read_only(data, "search", "nông", "thôn", "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert hits

    shown = run_read_only(data, "show", hits[0]["url"])
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == hits[0]["title"]

    status = run_read_only(data, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert len(json.loads(status.stdout)) == len({g["portal"] for g in gold_records()})

    verified = run_read_only(data, "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.splitlines()[-1].endswith(": OK")

    out = tmp_path / "corpus"
    exported = run_read_only(data, "export", "--format", "jsonl", "--output", str(out))
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr.startswith(f"Exported {expected} articles as jsonl")
    assert len((out / "articles.jsonl").read_text(encoding="utf-8").splitlines()) == expected

    refused = run_read_only(data, "cdxj")
    assert refused.returncode == 1
    assert refused.stderr == f"Error: cannot write {data / 'index.cdxj'}: give --output FILE " \
        "elsewhere\n"
    cdxj = run_read_only(data, "cdxj", "--output", str(tmp_path / "index.cdxj"))
    assert cdxj.returncode == 0, cdxj.stderr
    assert (tmp_path / "index.cdxj").stat().st_size > 0

    assert snapshot(data) == before  # not a byte written, nothing left beside the index


def test_writing_commands_say_so_in_one_line(read_only_archive):
    result = run_read_only(read_only_archive, "verify", "--repair")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")


def test_a_copy_taken_beside_a_writer_is_read_with_its_wal(crawled_archive, tmp_path):
    # A snapshot taken while a crawl had the index open holds -wal and -shm files: what was
    # committed in the WAL is read too (mode=ro, as SQLite allows since 3.22).
    if UNSHARE is None or not can_mount_read_only(tmp_path):
        pytest.skip("this machine cannot make a read-only mount")
    source = tmp_path / "source"
    shutil.copytree(crawled_archive, source)
    writer = sqlite3.connect(source / "index.db")
    writer.execute("pragma wal_autocheckpoint = 0")
    url = writer.execute("select url from articles order by url limit 1").fetchone()[0]
    writer.execute("update articles set title = 'Tin trong WAL' where url = ?", [url])
    writer.commit()
    snapshot_dir = tmp_path / "snapshot"
    shutil.copytree(source, snapshot_dir)  # the -wal and -shm come along
    writer.close()
    assert (snapshot_dir / "index.db-wal").stat().st_size > 0
    shown = run_read_only(snapshot_dir, "show", url)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == "Tin trong WAL"
