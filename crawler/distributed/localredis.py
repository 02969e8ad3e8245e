"""A Redis server of our own on 127.0.0.1, for the tests, the benchmark and a local cluster
(``portal-archive cluster up``): a free port, its own directory, stopped when done.

``redis-server`` is looked up beside the Python running us (``make redis`` links it into the
venv), then on ``PATH``; ``REDIS_SERVER`` names another binary. Debian ships the server
binary in ``redis-tools`` as ``redis-check-rdb`` (its ``redis-server`` package only adds the
system service and a link), and Redis decides what it is by the name it is run under: so a
link named ``redis-server`` is all the tests need, with no system service to start or stop.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis


class RedisServerError(RuntimeError):
    pass


def server_binary() -> str:
    for candidate in (os.environ.get("REDIS_SERVER"),
                      str(Path(sys.executable).parent / "redis-server"),
                      shutil.which("redis-server")):
        if candidate and Path(candidate).exists():
            return candidate
    raise RedisServerError("no redis-server found: run 'make redis' (Debian: apt-get install "
                           "redis-tools), or set REDIS_SERVER to the binary")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(directory: Path, *, port: int | None = None, persist: bool = False,
          attempts: int = 5) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server keeping its files in ``directory``; return it and its URL once it
    answers. With ``persist`` it writes an append-only file (a local cluster keeps its queue
    across restarts); tests and benchmarks keep nothing."""
    directory.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):  # a free port can be taken between our look and the server's bind
        chosen = port or free_port()
        args = [server_binary(), "--bind", "127.0.0.1", "--port", str(chosen),
                "--dir", str(directory), "--daemonize", "no", "--protected-mode", "yes",
                "--logfile", str(directory / "redis.log"), "--save", "",
                "--appendonly", "yes" if persist else "no"]
        # What it says before its log opens (a bad argument) goes to the log too: never to
        # our stderr, which a server outliving us ('cluster up') would hold open.
        with open(directory / "redis.log", "ab") as log:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True)
        url = f"redis://127.0.0.1:{chosen}/0"
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                client.ping()
                return proc, url
            except redis.ConnectionError:
                time.sleep(0.05)
        stop(proc)
        if port:
            break
    log = directory / "redis.log"
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
    raise RedisServerError(f"redis-server did not start in {directory}: {' '.join(tail)}")


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Stop a server we started (SIGTERM: it exits cleanly, saving what it was told to)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
