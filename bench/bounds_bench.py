"""How fast a crawl stops, and how fast a dead portal is given up, with the default settings.

    python bench/bounds_bench.py            # every figure (about three minutes)
    python bench/bounds_bench.py --quick    # without the silent portal (PORTAL_DOWN_TIMEOUT)

Figures, each from ``portal-archive crawl`` run as a user would, on loopback only:

- Ctrl-C to exit, while crawling a fixture portal at the default politeness (DOWNLOAD_DELAY 1 s,
  two requests at a time), and while every page waits behind a 503 with ``Retry-After: 600``;
  with the time until the acknowledgement line is on screen;
- an unreachable portal's first request to its ``down`` line: no DNS (a resolver that fails
  every name, nothing leaves the machine), a refused port, 502 everywhere, a port that accepts
  and never answers (bounded by PORTAL_DOWN_TIMEOUT, 180 s).

The time to the ``down`` line is the crawl's own (it says how long after its first request it
judged the portal down); the wall time of the whole command, start-up included, is printed too.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal_archive.demo.server import FixtureServer  # noqa: E402

FIXTURES = ROOT / "portal_archive" / "demo" / "fixtures"
SICK = ROOT / "tests" / "fixtures" / "sick"


def cli(data: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "portal_archive.cli", "--data", str(data), "crawl", *args]


def requests_seen(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def stop_time(args: list[str], log: Path, ready: Callable[[list[str]], bool],
              ) -> tuple[float, float, int]:
    """Start ``args``, send SIGINT once ``ready(requests the server logged in log)``; (seconds
    to the acknowledgement line, seconds to exit, exit status)."""
    proc = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            stdout=subprocess.DEVNULL)
    while not ready(requests_seen(log)):
        if proc.poll() is not None:
            raise SystemExit(f"the crawl ended first:\n{proc.stderr.read()}")
        time.sleep(0.05)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    acknowledged = time.monotonic() - sent
    proc.wait(timeout=900)
    exited = time.monotonic() - sent
    if "stopping" not in first:
        print(f"  (first line: {first.strip()!r})")
    return acknowledged, exited, proc.returncode


def down_time(args: list[str]) -> tuple[float | None, float, str]:
    """(seconds from the first request to the down verdict, wall seconds, the down line)."""
    started = time.monotonic()
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)
    wall = time.monotonic() - started
    line = next((x for x in proc.stderr.splitlines() if ": down (" in x), proc.stderr.strip())
    data = Path(args[args.index("--data") + 1])
    logs = "".join(p.read_text(encoding="utf-8") for p in (data / "logs").glob("*.log"))
    judged = re.search(r"down: no answer in (\d+) s", logs)
    return (float(judged.group(1)) if judged else None), wall, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="leave out the silent portal (it takes PORTAL_DOWN_TIMEOUT)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bounds-bench-") as tmp:
        work = Path(tmp)
        print("Ctrl-C to exit (default settings)")
        # The loopback server logs each request it answers (read to know when to send Ctrl-C).
        os.environ["PORTAL_ARCHIVE_FIXTURE_LOG"] = str(work / "a.log")
        with FixtureServer(FIXTURES) as server:
            ack, exited, code = stop_time(
                cli(work / "a", "--url", "http://aluoi-tth.test/", "-s",
                    f"PORTAL_PROXY={server.url}"),
                work / "a.log", lambda seen: len(seen) >= 10)
            print(f"  crawling (DOWNLOAD_DELAY 1 s):   acknowledged {ack:.2f} s, "
                  f"exited {exited:.2f} s, status {code}")
        os.environ["PORTAL_ARCHIVE_FIXTURE_LOG"] = str(work / "b.log")
        with FixtureServer(SICK) as server:
            ack, exited, code = stop_time(
                cli(work / "b", "--url", "http://busy.test/", "-s",
                    f"PORTAL_PROXY={server.url}"),
                work / "b.log", lambda seen: any("/tin/" in line for line in seen))
            print(f"  503 + Retry-After 600 backoff:   acknowledged {ack:.2f} s, "
                  f"exited {exited:.2f} s, status {code}")

        print("an unreachable portal's first request to its down line (default settings)")
        cases = [("no DNS", cli(work / "c", "--url", "http://gone.test/", "-s",
                                "TWISTED_DNS_RESOLVER=tests.stub_resolver.NoNames"))]
        refusing = socket.socket()
        refusing.bind(("127.0.0.1", 0))
        cases.append(("connection refused", cli(
            work / "d", "--url", f"http://127.0.0.1:{refusing.getsockname()[1]}/")))
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        if not args.quick:
            cases.append(("never answers", cli(
                work / "e", "--url", f"http://127.0.0.1:{silent.getsockname()[1]}/")))
        with FixtureServer(SICK) as server:
            cases.append(("502 everywhere", cli(work / "f", "--url", "http://gone.test/", "-s",
                                                f"PORTAL_PROXY={server.url}")))
            for name, command in cases:
                judged, wall, line = down_time(command)
                shown = f"{judged:.0f} s" if judged is not None else "?"
                print(f"  {name:<20} down after {shown:>5} (command: {wall:.1f} s)  {line[:90]}")
        refusing.close()
        silent.close()


if __name__ == "__main__":
    main()
