"""Progress on a terminal: one line of stderr, rewritten in place while long work runs.

Every long piece of work shows its progress this way: the crawl's live line
(``crawler/extensions/progress.py``) and the CLI's ``reindex``, ``verify`` and ``export``.
Nothing is drawn when the stream is not a terminal, so what cron mails and what a pipe carries
stay clean. Plain text and ANSI erase-line only: the crawler may use it, and it pulls in no CLI
library.

Three promises. A message printed while a line is drawn (``print_above``, ``LineHandler`` for
logging) goes on a line of its own above it, never glued to it. A bar reaches 100% when its
work does: work in several parts shows one bar per part (``Progress.stage``), and a part of
unknown size shows its elapsed time, not a bar. The time left is shown only once it means
something: after ``ETA_AFTER`` seconds of work and ``ETA_SHARE`` of it done, measured from
the first piece of work (not from the setup before it).
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO

ERASE_LINE = "\r\x1b[K"  # back to the start of the line, then clear it
BAR_WIDTH = 30
REDRAW_EVERY = 0.1  # seconds between redraws of a Progress bar
ETA_AFTER = 2.0  # seconds of work before a time left is shown
ETA_SHARE = 0.05  # share of the work done before a time left is shown

_DRAWN: list[StatusLine] = []  # the lines on screen now, to print above


class StatusLine:
    """One line rewritten in place; ``close`` ends it with a newline once it was drawn. The
    line is cut to the terminal's width: a longer one would wrap, and the next redraw would
    erase only its last row."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.drawn = False
        self.text = ""

    def draw(self, text: str) -> None:
        if not self.enabled:
            return
        width = shutil.get_terminal_size().columns - 1
        self.text = text if len(text) <= width else text[:width - 1] + "…"
        self.stream.write(ERASE_LINE + self.text)
        self.stream.flush()
        if not self.drawn:
            self.drawn = True
            _DRAWN.append(self)

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
            _DRAWN.remove(self)


def print_above(text: str, stream: TextIO | None = None) -> None:
    """Print a line to ``stream`` (stderr) above the status line drawn there, if any, which
    is drawn again below it."""
    stream = stream or sys.stderr
    lines = [line for line in _DRAWN if line.stream is stream]
    stream.write((ERASE_LINE if lines else "") + text + "\n")
    for line in lines:
        stream.write(line.text)
    stream.flush()


class LineHandler(logging.Handler):
    """A logging handler that prints each record above the status line (``print_above``)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print_above(self.format(record), self.stream)
        except Exception:  # noqa: BLE001 - as logging.StreamHandler does
            self.handleError(record)


class Progress:
    """Work of a known size (bytes, records): a bar, the share done and, once it means
    something, the time left.

    Use it as a context manager and call it (or ``update``) with the amount done since the
    last call; the bar is redrawn at most every ``REDRAW_EVERY`` seconds. Work in parts
    (``stage``) shows one bar per part; a total of 0 means a part of unknown size, which
    shows its elapsed time.
    """

    def __init__(self, label: str, total: int, *, stream: TextIO | None = None,
                 enabled: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.line = StatusLine(stream, enabled=enabled)
        self.clock = clock
        self._start(label, total)

    def _start(self, label: str, total: int) -> None:
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.started = self.clock()
        self.first_work: float | None = None  # when the first piece of work was reported
        self.last_draw = 0.0

    def __enter__(self) -> Progress:
        self.line.draw(self.text())
        return self

    def __exit__(self, *exc: object) -> None:
        self.line.draw(self.text(finished=exc[0] is None))
        self.line.close()

    def __call__(self, n: int) -> None:
        self.update(n)

    def update(self, n: int) -> None:
        now = self.clock()
        if self.first_work is None:
            self.first_work = now
        self.done += n
        if now - self.last_draw >= REDRAW_EVERY:
            self.last_draw = now
            self.line.draw(self.text())

    def stage(self, label: str, total: int) -> None:
        """The part measured so far is done: its bar is drawn full and kept, and the next
        part (``label``, ``total``, 0 when its size is unknown) starts on the next line."""
        self.line.draw(self.text(finished=True))
        self.line.close()
        self._start(label, total)
        self.line.draw(self.text())

    def text(self, finished: bool = False) -> str:
        now = self.clock()
        if not self.total:  # a part of unknown size: how long it has taken so far
            return f"{self.label}  {clock(now - self.started)}" + ("  done" if finished else "")
        share = 1.0 if finished else min(self.done / self.total, 1.0)
        filled = round(share * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        left = ""
        working = now - self.first_work if self.first_work is not None else 0.0
        if not finished and share < 1 and working >= ETA_AFTER and share >= ETA_SHARE:
            # The rate since the first piece of work, not since the setup before it.
            rate = self.done / working
            left = f"  {clock((self.total - self.done) / rate)} left"
        return f"{self.label}  [{bar}]  {share:4.0%}{left}"


def clock(seconds: float) -> str:
    """``75`` -> ``01:15``; hours when there are some (``1:02:03``)."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
