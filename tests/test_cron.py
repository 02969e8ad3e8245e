"""The crontab line: right paths and environment, installed once, other lines left alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from portal_archive.cli import cli

OTHER_LINES = ["MAILTO=ops@example.org", "0 1 * * * /usr/bin/backup --nightly  # keep me"]


@pytest.fixture()
def fake_crontab(tmp_path, monkeypatch) -> Path:
    """A ``crontab`` stand-in that keeps the table in a file, as ``crontab -l`` / ``-`` do."""
    table = tmp_path / "table"
    script = tmp_path / "fake-crontab"
    script.write_text(
        "#!/bin/sh\n"
        f'TABLE="{table}"\n'
        'if [ "$1" = "-l" ]; then\n'
        '  [ -f "$TABLE" ] || { echo "no crontab for $USER" >&2; exit 1; }\n'
        '  cat "$TABLE"\n'
        'elif [ "$1" = "-" ]; then cat > "$TABLE"\n'
        "else exit 2; fi\n")
    script.chmod(0o755)
    monkeypatch.setenv("PORTAL_ARCHIVE_CRONTAB", str(script))
    return table


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_the_line_runs_the_installed_program_on_this_data_directory(tmp_path):
    result = invoke("--data", str(tmp_path / "archive"), "cron", "--every", "6h")
    assert result.exit_code == 0
    line = result.output.strip()
    program = Path(sys.executable).with_name("portal-archive")
    assert line.startswith("17 */6 * * * env ")
    assert f"PORTAL_ARCHIVE_DATA={tmp_path / 'archive'} " in line
    assert f"PATH={program.parent}:" in line
    assert f" {program} crawl --all " in line
    # The shell cron hands the line to runs it as written (the marker is a shell comment).
    command = line.split(" ", 5)[5].replace(f"{program} crawl --all",
                                            "printenv PORTAL_ARCHIVE_DATA")
    out = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True).stdout
    assert out.strip() == str(tmp_path / "archive")


def test_the_line_can_pass_a_webhook(tmp_path):
    url = "http://127.0.0.1:9/hook?token=a&b=1"
    result = invoke("--data", str(tmp_path), "cron", "--webhook", url)
    assert f" crawl --all -s 'ALARM_WEBHOOK_URL={url}' #" in result.output


@pytest.mark.parametrize("every, fields", [
    ("30m", "*/30 * * * *"), ("1h", "17 * * * *"), ("12h", "17 */12 * * *"),
    ("1d", "17 3 * * *"),
])
def test_every_gives_the_schedule(tmp_path, every, fields):
    result = invoke("--data", str(tmp_path), "cron", "--every", every)
    assert result.output.startswith(fields + " env ")


@pytest.mark.parametrize("every", ["0h", "90m", "6x", "often"])
def test_a_bad_interval_is_a_usage_error(tmp_path, every):
    result = invoke("--data", str(tmp_path), "cron", "--every", every)
    assert result.exit_code == 2
    assert "--every" in result.output


def test_install_twice_leaves_one_line_and_the_other_lines_alone(tmp_path, fake_crontab):
    fake_crontab.write_text("\n".join(OTHER_LINES) + "\n")
    data = str(tmp_path / "archive")
    assert invoke("--data", data, "cron", "--install").exit_code == 0
    assert invoke("--data", data, "cron", "--install", "--every", "2h").exit_code == 0
    lines = fake_crontab.read_text().splitlines()
    ours = [x for x in lines if "crawl --all" in x]
    assert len(ours) == 1 and ours[0].startswith("17 */2 * * * ")
    assert [x for x in lines if x not in ours] == OTHER_LINES
    # Another data directory gets its own line.
    assert invoke("--data", str(tmp_path / "other"), "cron", "--install").exit_code == 0
    assert len([x for x in fake_crontab.read_text().splitlines() if "crawl --all" in x]) == 2


def test_install_into_an_empty_crontab(tmp_path, fake_crontab):
    assert invoke("--data", str(tmp_path), "cron", "--install").exit_code == 0
    assert len(fake_crontab.read_text().splitlines()) == 1


def test_install_without_a_crontab_program_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_ARCHIVE_CRONTAB", str(tmp_path / "no-such-crontab"))
    result = invoke("--data", str(tmp_path), "cron", "--install")
    assert result.exit_code == 1
    assert "apt-get install -y cron" in result.output


@pytest.mark.skipif(shutil.which("crontab") is None, reason="cron is not installed here")
def test_install_twice_with_the_real_crontab(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_ARCHIVE_CRONTAB", raising=False)
    before = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    try:
        data = str(tmp_path / "archive")
        assert invoke("--data", data, "cron", "--install").exit_code == 0
        assert invoke("--data", data, "cron", "--install").exit_code == 0
        table = subprocess.run(["crontab", "-l"], capture_output=True, text=True).stdout
        assert len([x for x in table.splitlines() if data in x]) == 1
        if before.returncode == 0:
            assert before.stdout.strip() in table
    finally:  # give the user's crontab back as it was
        if before.returncode == 0:
            subprocess.run(["crontab", "-"], input=before.stdout, text=True, check=True)
        else:
            subprocess.run(["crontab", "-r"], capture_output=True, env=dict(os.environ))
