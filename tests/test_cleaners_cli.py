"""The ``extract`` and ``eval`` commands as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from portal_archive.commands.cleaning import eval_command, extract_command

FIXTURES = Path(__file__).resolve().parent.parent / "portal_archive" / "demo" / "fixtures"
SITE = FIXTURES / "sites" / "vinhbao-hp"
ARTICLE = (SITE / "files/tin-tuc-su-kien/tin-thanh-pho"
           / "Hai-Phong-thong-xe-ky-thuat-tuyen-duong-tinh-359-1215.html")
LISTING = SITE / "files/tin-tuc-su-kien.html"
BASE = "http://vinhbao-hp.test"


def test_extract_prints_articles_and_null_in_input_order():
    result = CliRunner().invoke(extract_command, [
        str(LISTING), str(ARTICLE), "--url", f"{BASE}/tin-tuc-su-kien",
        "--url", f"{BASE}/tin-tuc-su-kien/tin-thanh-pho/x-1215.html"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data[0] is None
    assert data[1]["title"] == "Hải Phòng thông xe kỹ thuật tuyến đường tỉnh 359"
    assert data[1]["published"] == "2020-05-08"
    assert data[1]["text"].startswith("Ngày 08/5/2020")


def test_extract_jsonl_with_urls_from_file(tmp_path):
    tsv = tmp_path / "pages.tsv"
    tsv.write_text(f"{ARTICLE}\t{BASE}/a-1215.html\n{LISTING}\t{BASE}/tin-tuc-su-kien\n",
                   encoding="utf-8")
    result = CliRunner().invoke(extract_command, ["--urls-from", str(tsv), "--jsonl"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["date_source"] == "meta"
    assert json.loads(lines[1]) is None


def test_extract_missing_file_is_a_clear_error():
    result = CliRunner().invoke(extract_command, ["no/such/page.html"])
    assert result.exit_code != 0
    assert "file not found: no/such/page.html" in result.output
    assert "Traceback" not in result.output


def test_extract_url_count_mismatch_is_an_error():
    result = CliRunner().invoke(extract_command, [str(ARTICLE), str(LISTING), "--url", BASE])
    assert result.exit_code != 0 and "one URL per PATH" in result.output


def test_eval_prints_per_page_and_overall_scores():
    result = CliRunner().invoke(eval_command, [str(FIXTURES)])
    assert result.exit_code == 0, result.output
    assert "vb-03" in result.output and "trafilatura" in result.output
    overall = [line for line in result.output.splitlines() if line.startswith("cleaners")]
    assert len(overall) == 1


def test_eval_json_with_class_names_scrambled():
    result = CliRunner().invoke(eval_command, [str(FIXTURES), "--scramble-classes", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scramble_classes"] is True
    ours = data["summary"][0]
    assert ours["name"] == "cleaners" and ours["date"] == ours["pages"]
    assert {p["cleaners"]["extractor"] for p in data["pages"]} <= {"cleaners", "trafilatura",
                                                                  "both"}


def test_eval_missing_directory_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(eval_command, [str(tmp_path / "nowhere")])
    assert result.exit_code != 0
    assert "not a directory" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(eval_command, [str(tmp_path)])
    assert result.exit_code != 0 and "cannot evaluate" in result.output
