"""Progress on a terminal: an honest time left, bars that reach 100% when their work does,
messages above the line rather than glued to it."""

from __future__ import annotations

import io
import logging
import os
import pty
import re
import shutil
import sys
from pathlib import Path

from archive.progress import ERASE_LINE, LineHandler, Progress, StatusLine, print_above
from tests.conftest import read_terminal


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def screen(written: str) -> list[str]:
    """The rows a terminal shows for ``written``: an erase-line clears the row it is on."""
    rows = []
    for row in written.replace("\r\n", "\n").split("\n"):
        rows.append(row.split(ERASE_LINE)[-1])
    return [r for r in rows if r]


def left(text: str) -> float | None:
    m = re.search(r"(\d+):(\d\d) left", text)
    return int(m[1]) * 60 + int(m[2]) if m else None


def test_time_left_is_shown_only_once_it_means_something():
    # The export that once said 4 h 20 min: a slow start (clusters, the first batch), then
    # 30,000 records in 3 seconds.
    clock, out = Clock(), io.StringIO()
    total, seconds = 30000, 3.0
    with Progress("Exporting", total, stream=out, enabled=True, clock=clock) as bar:
        clock.now += 1.5  # the setup before the first record
        shown = []
        for i in range(total):
            clock.now += seconds / total
            bar(1)
            text = bar.text()
            if left(text) is not None:
                shown.append((left(text), seconds - (i + 1) * seconds / total))
    assert shown  # there was a time left to show ...
    assert all(abs(estimate - actual) <= 1 for estimate, actual in shown)  # ... and it was true
    assert screen(out.getvalue())[-1].startswith("Exporting  [" + "#" * 30 + "]  100%")
    assert "left" not in screen(out.getvalue())[-1]


def test_a_bar_reaches_100_percent_when_its_part_of_the_work_does():
    clock, out = Clock(), io.StringIO()
    with Progress("Verifying", 100, stream=out, enabled=True, clock=clock) as bar:
        bar(100)
        clock.now += 1
        assert bar.text().endswith("100%")
        bar.stage("Checking the index", 10)  # more work: a bar of its own
        assert "  0%" in bar.text()
        bar(10)
        bar.stage("Packing", 0)  # a part of unknown size: its time, no bar
        clock.now += 75
        assert bar.text() == "Packing  01:15"
    rows = screen(out.getvalue())
    assert rows[0].startswith("Verifying  [") and rows[0].endswith("100%")
    assert rows[1].startswith("Checking the index  [") and rows[1].endswith("100%")
    assert rows[2] == "Packing  01:15  done"


def test_messages_go_above_the_line_never_glued_to_it():
    out = io.StringIO()
    line = StatusLine(out, enabled=True)
    line.draw("portals 0/1  pages 3")
    logger = logging.getLogger("test_progress")
    handler = LineHandler(out)
    logger.addHandler(handler)
    try:
        logger.error("error: vinhbao-hp: connection refused")
    finally:
        logger.removeHandler(handler)
    print_above("ALARM vinhbao-hp: liveness", out)
    line.draw("portals 1/1  pages 4")
    line.close()
    assert screen(out.getvalue()) == ["error: vinhbao-hp: connection refused",
                                      "ALARM vinhbao-hp: liveness", "portals 1/1  pages 4"]


def test_a_line_wider_than_the_terminal_is_cut_not_wrapped(monkeypatch):
    monkeypatch.setattr(shutil, "get_terminal_size", lambda *a: os.terminal_size((40, 20)))
    out = io.StringIO()
    line = StatusLine(out, enabled=True)
    line.draw("x" * 100)
    assert len(screen(out.getvalue())[-1]) == 39


def run_on_terminal(data: Path, *args: str) -> str:
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, with a terminal as stdout and stderr
        os.execv(sys.executable, [sys.executable, "-m", "portal_archive.cli", "--data",
                                  str(data), *args])
    output = read_terminal(fd)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output.decode()
    return output.decode()


def test_verify_and_wacz_bars_finish_with_their_work(crawled_archive, tmp_path):
    rows = screen(run_on_terminal(crawled_archive, "verify"))
    bars = [r for r in rows if r.startswith(("Verifying", "Checking the index"))]
    assert [b.split("  [")[0] for b in bars] == ["Verifying", "Checking the index"]
    assert all(b.endswith("100%") for b in bars)
    assert rows[-1].endswith(": OK")

    rows = screen(run_on_terminal(crawled_archive, "export", "--format", "wacz", "--output",
                                  str(tmp_path / "wacz")))
    exporting = next(i for i, r in enumerate(rows) if r.startswith("Exporting"))
    assert rows[exporting].endswith("100%")
    assert rows[exporting + 1].startswith("Packing the WACZ") and \
        rows[exporting + 1].endswith("done")
    assert rows[-1].startswith("Exported ")
