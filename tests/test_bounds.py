"""Bounded crawls, as an operator sees them: a dead portal ends as ``down`` within its bounds,
Ctrl-C and SIGTERM answer at once and keep the queue, broken URLs and pages that take minutes
to parse do not hold the crawl."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import FIXTURES, gold_records, run_cli
from tests.test_warc_archive import committed_articles

SICK = Path(__file__).parent / "fixtures" / "sick"
SICK_GOLD = gold_records(SICK)
ALUOI_GOLD = [g for g in gold_records() if g["portal"] == "aluoi-tth"]
# Small bounds, so that each test ends in seconds; the defaults are measured by
# bench/bounds_bench.py.
DOWN_FAST = ["-s", "PORTAL_DOWN_ATTEMPTS=4", "-s", "PORTAL_DOWN_TIMEOUT=60",
             "-s", "BACKOFF_FIRST_DELAY=0.2", "-s", "DOWNLOAD_DELAY=0", "-s", "LOG_LEVEL=INFO"]
STOPPED_WITHIN = 30  # seconds a stopped crawl may take to exit (Scrapy alone: up to 600+)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "portal_archive.cli", *args]


def requested(log: Path) -> list[str]:
    """``host path`` of each request the fixture server saw, in order."""
    if not log.exists():
        return []
    return [line.split(" ", 1)[1] for line in log.read_text(encoding="utf-8").splitlines()]


def wait_for(done: Callable[[], bool], proc: subprocess.Popen | None = None,
             timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if proc is not None and proc.poll() is not None:
            raise AssertionError("the crawl ended before the state waited for")
        if time.monotonic() > deadline:
            raise AssertionError("state not reached")
        time.sleep(0.05)


def runs(data: Path) -> list[dict]:
    conn = sqlite3.connect(data / "index.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("select * from runs order by id")]
    finally:
        conn.close()


@contextmanager
def loopback_port(*, listen: bool) -> Iterator[int]:
    """A loopback port bound for the test: without ``listen`` every connection to it is
    refused; with it, connections are accepted and never answered."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    if listen:
        sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


# -- dead portals ------------------------------------------------------------------------------

def assert_down(proc: subprocess.CompletedProcess[str], data: Path, portal: str, url: str,
                reason: str, attempts: int) -> None:
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    down = [line for line in lines if line.startswith(f"{portal}: down (")]
    assert len(down) == 1, proc.stderr
    assert f"({reason})" in down[0]
    assert f"recover --url {url} --source ia" in down[0]
    (run,) = runs(data)
    assert run["status"] == "down" and run["ended"]
    errors = json.loads(run["errors"])
    tries = sum(n for kind, n in errors.items() if kind != "retry_max_reached")
    # Within the bound: the attempts allowed, and those already under way when it was reached.
    assert attempts <= tries <= attempts + 4, errors


def test_unresolvable_portal_ends_down(tmp_path):
    # The stub resolver answers no name, so no query leaves the machine.
    url = "http://gone.test/"
    proc = run_cli("crawl", "--url", url, *DOWN_FAST,
                   "-s", "TWISTED_DNS_RESOLVER=tests.stub_resolver.NoNames",
                   data=tmp_path, check=False, timeout=120)
    assert_down(proc, tmp_path, "gone.test", url, "host does not resolve", 4)


def test_refusing_portal_ends_down(tmp_path):
    with loopback_port(listen=False) as port:
        url = f"http://127.0.0.1:{port}/"
        proc = run_cli("crawl", "--url", url, *DOWN_FAST, data=tmp_path, check=False,
                       timeout=120)
    assert_down(proc, tmp_path, f"127.0.0.1:{port}", url, "connection refused", 4)


def test_portal_answering_502_everywhere_ends_down(portal_server, tmp_path):
    # The fixture server, as a proxy, answers 502 for a host it does not know.
    log = tmp_path / "requests.log"
    url = "http://gone.test/"
    proc = run_cli("crawl", "--url", url, *DOWN_FAST, "-s", f"PORTAL_PROXY={portal_server.url}",
                   data=tmp_path / "data", check=False, timeout=120,
                   env={"PORTAL_ARCHIVE_FIXTURE_LOG": str(log)})
    assert_down(proc, tmp_path / "data", "gone.test", url, "HTTP 502", 4)
    # The server saw what the crawl counted: nothing more was asked of it.
    assert len([r for r in requested(log) if r.startswith("gone.test ")]) <= 4 + 4


def test_silent_portal_ends_down_by_time(tmp_path):
    # Connections are accepted, nothing ever answers: the time bound ends it, and the
    # downloads under way (DOWNLOAD_TIMEOUT is 30 s) are abandoned, not waited for.
    with loopback_port(listen=True) as port:
        url = f"http://127.0.0.1:{port}/"
        proc = run_cli("crawl", "--url", url, "-s", "PORTAL_DOWN_ATTEMPTS=0",
                       "-s", "PORTAL_DOWN_TIMEOUT=2", data=tmp_path, check=False,
                       timeout=STOPPED_WITHIN)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert f"127.0.0.1:{port}: down (no response)" in proc.stderr
    assert "Traceback" not in proc.stderr
    (run,) = runs(tmp_path)
    assert run["status"] == "down"


def assert_resumes_to_the_end(data: Path) -> None:
    """The next crawl of aluoi-tth goes on from the queue kept and stores every article."""
    again = run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", "aluoi-tth",
                    "-s", "LOG_LEVEL=WARNING", data=data)
    assert again.returncode == 0
    assert committed_articles(data / "index.db") == len(ALUOI_GOLD)


# -- signals -----------------------------------------------------------------------------------

def slow_crawl(data: Path, log: Path, *extra: str, fixtures: Path = FIXTURES,
               portal: str = "aluoi-tth") -> list[str]:
    return cli("--data", str(data), "crawl", "--fixtures", str(fixtures), "--portal", portal,
               "-s", "DOWNLOAD_DELAY=0.3", "-s", "CONCURRENT_REQUESTS=1", *extra)


def on_terminal(args: list[str], env: dict[str, str]) -> tuple[int, int]:
    """Start ``args`` on a pseudo-terminal, as from a shell; (pid, terminal fd)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the command
        os.execve(sys.executable, args, {**os.environ, **env})
    return pid, fd


class Screen:
    """What a child wrote on its terminal, read as it comes."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.text = ""

    def read(self, seconds: float) -> bool:
        """Read for up to ``seconds``; False once the terminal is closed."""
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:
            return False
        self.text += chunk.decode("utf-8", "replace")
        return bool(chunk)

    def until(self, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"not on screen in {timeout} s:\n{self.text[-2000:]}")
            if not self.read(0.05):
                break

    def rest(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.read(0.1):
            pass


def lines(text: str) -> list[str]:
    return [part.split("\x1b[K")[-1].strip() for part in text.replace("\r", "\n").split("\n")]


def exit_code(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError(f"still running {timeout} s after the signal")


def test_ctrl_c_on_a_terminal_stops_at_once_and_keeps_the_queue(tmp_path):
    data, log = tmp_path / "data", tmp_path / "requests.log"
    pid, fd = on_terminal(slow_crawl(data, log), {"PORTAL_ARCHIVE_FIXTURE_LOG": str(log)})
    screen = Screen(fd)
    screen.until(lambda: len(requested(log)) >= 8, timeout=60)
    os.write(fd, b"\x03")  # Ctrl-C, as typed
    screen.until(lambda: "SIGINT: stopping" in screen.text, timeout=5)
    code = exit_code(pid, STOPPED_WITHIN)
    screen.rest(2)
    os.close(fd)
    assert code == 1
    shown = lines(screen.text)
    assert "Traceback" not in screen.text
    assert any(line.startswith("aluoi-tth: interrupted; the next crawl of it resumes")
               for line in shown), screen.text
    # The summary table tells what the index holds.
    row = next(line.split() for line in shown if line.startswith("aluoi-tth "))
    assert int(row[2]) == committed_articles(data / "index.db") < len(ALUOI_GOLD)
    assert (data / "jobs" / "aluoi-tth" / "interrupted.json").exists()
    assert runs(data)[-1]["status"] == "shutdown"
    assert_resumes_to_the_end(data)  # the queue kept is the rest of the portal


def test_second_ctrl_c_stops_at_once_and_the_summary_tells_the_truth(tmp_path):
    data, log = tmp_path / "data", tmp_path / "requests.log"
    pid, fd = on_terminal(slow_crawl(data, log), {"PORTAL_ARCHIVE_FIXTURE_LOG": str(log)})
    screen = Screen(fd)
    screen.until(lambda: committed_articles(data / "index.db") >= 1 if (
        data / "index.db").exists() else False, timeout=60)
    os.write(fd, b"\x03")
    screen.until(lambda: "SIGINT: stopping" in screen.text, timeout=5)
    os.write(fd, b"\x03")
    code = exit_code(pid, STOPPED_WITHIN)
    screen.rest(2)
    os.close(fd)
    assert code == 1
    assert "Traceback" not in screen.text
    assert "recorded nothing" not in screen.text
    shown = lines(screen.text)
    row = next(line.split() for line in shown if line.startswith("aluoi-tth "))
    assert int(row[2]) == committed_articles(data / "index.db") >= 1
    assert not list((data / "warc").glob("*.open"))
    status = runs(data)[-1]["status"]
    assert status in ("shutdown", "forced")  # the first stop may have been quick enough
    assert run_cli("verify", data=data).returncode == 0


def test_ctrl_c_under_a_long_backoff(tmp_path):
    # Every article page answers 503 with Retry-After: 600: Scrapy alone would wait out the
    # ten minutes before each of them.
    data, log = tmp_path / "data", tmp_path / "requests.log"
    args = cli("--data", str(data), "crawl", "--fixtures", str(SICK), "--portal", "busy",
               "-s", "BACKOFF_MAX_DELAY=600", "-s", "DOWNLOAD_DELAY=0")
    proc = subprocess.Popen(args, env={**os.environ, "PORTAL_ARCHIVE_FIXTURE_LOG": str(log)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: any("/tin/" in r for r in requested(log)), proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=STOPPED_WITHIN)
    assert proc.returncode == 1
    assert stderr.startswith("SIGINT: stopping"), stderr
    assert "Traceback" not in stderr
    assert (data / "jobs" / "busy" / "interrupted.json").exists()
    # The pages that waited behind the backoff were kept: the next run asks for them (the
    # home page it fetches again links them too, but those links count as seen).
    log.unlink()
    run_cli("crawl", "--fixtures", str(SICK), "--portal", "busy", "-s", "RETRY_TIMES=0",
            "-s", "BACKOFF_MAX_DELAY=0.1", data=data, check=False,
            env={"PORTAL_ARCHIVE_FIXTURE_LOG": str(log)})
    asked = {r.split()[1] for r in requested(log)}
    assert {f"/tin/{i}.html" for i in range(1, 7)} <= asked


def test_sigterm_to_the_process_group_stops_cleanly(tmp_path):
    # As `timeout` or a service manager does: every process of the group gets the signal,
    # the page reading process too.
    data, log = tmp_path / "data", tmp_path / "requests.log"
    proc = subprocess.Popen(slow_crawl(data, log), start_new_session=True,
                            env={**os.environ, "PORTAL_ARCHIVE_FIXTURE_LOG": str(log)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(requested(log)) >= 8, proc)
    os.killpg(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=STOPPED_WITHIN)
    assert proc.returncode == 1
    assert stderr.startswith("SIGTERM: stopping"), stderr
    assert "Traceback" not in stderr and "BrokenProcessPool" not in stderr
    assert "aluoi-tth: interrupted; the next crawl of it resumes" in stderr
    assert (data / "jobs" / "aluoi-tth" / "interrupted.json").exists()


def test_time_budget_stops_the_portal_and_keeps_its_queue(tmp_path):
    data, log = tmp_path / "data", tmp_path / "requests.log"
    proc = subprocess.run(slow_crawl(data, log, "-s", "PORTAL_TIME_BUDGET=2"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ("aluoi-tth: its time budget (PORTAL_TIME_BUDGET) is used up; "
                                   "the next crawl of it goes on where this one stopped")
    assert committed_articles(data / "index.db") < len(ALUOI_GOLD)
    assert json.loads((data / "jobs" / "aluoi-tth" / "interrupted.json").read_text())[
        "reason"] == "time_budget"
    assert_resumes_to_the_end(data)


# -- broken URLs and slow pages ------------------------------------------------------------------

def test_broken_urls_and_a_page_too_slow_to_parse_do_not_hold_the_crawl(tmp_path):
    data, log = tmp_path / "data", tmp_path / "requests.log"
    proc = run_cli("crawl", "--fixtures", str(SICK), "--portal", "sick", "--json",
                   "-s", "BACKOFF_FIRST_DELAY=2", "-s", "BACKOFF_MAX_DELAY=600",
                   "-s", "RETRY_TIMES=3", "-s", "PORTAL_PARSE_TIMEOUT=2", "-s", "LOG_LEVEL=INFO",
                   data=data, env={"PORTAL_ARCHIVE_FIXTURE_LOG": str(log)}, timeout=120)
    (summary,) = json.loads(proc.stdout)
    # Every article stored; the page of 40,000 attributes skipped and counted.
    assert summary["new"] == len(SICK_GOLD) == committed_articles(data / "index.db")
    assert summary["bad_input"] == {"parse_timeout": 1}
    paths = [r.split()[1] for r in requested(log)]
    broken = {p for p in paths if p.startswith("/hong/")}
    assert all(paths.count(p) == 4 for p in broken)  # the first try and RETRY_TIMES more
    # The broken URLs, linked first, waited on their own: every good page was asked for
    # before any broken one was tried again, and the host never slowed down.
    second_tries = [i for i, p in enumerate(paths) if p in broken and paths[:i].count(p) == 1]
    good = [i for i, p in enumerate(paths) if p.startswith("/tin/")]
    assert len(good) == len(SICK_GOLD) and max(good) < min(second_tries)
    logs = "".join(p.read_text(encoding="utf-8") for p in (data / "logs").glob("*.log"))
    assert "between requests" not in logs  # BackoffMiddleware's line when a host slows down
