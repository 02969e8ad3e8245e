"""Progress on a terminal: one line of stderr, rewritten in place while long work runs.

Every long piece of work shows its progress this way: the crawl's live line
(``crawler/progress.py``) and the CLI's ``reindex``, ``verify`` and ``export``. Nothing is
drawn when the stream is not a terminal, so what cron mails and what a pipe carries stay clean.
Plain text and ANSI erase-line only: the crawler may use it, and it pulls in no CLI library.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

ERASE_LINE = "\r\x1b[K"  # back to the start of the line, then clear it
BAR_WIDTH = 30
REDRAW_EVERY = 0.1  # seconds between redraws of a Progress bar


class StatusLine:
    """One line rewritten in place; ``close`` ends it with a newline once it was drawn."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.drawn = False

    def draw(self, text: str) -> None:
        if self.enabled:
            self.stream.write(ERASE_LINE + text)
            self.stream.flush()
            self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


class Progress:
    """Work of a known size (bytes, records): a bar, the share done and the time left.

    Use it as a context manager and call it (or ``update``) with the amount done since the
    last call; the bar is redrawn at most every ``REDRAW_EVERY`` seconds.
    """

    def __init__(self, label: str, total: int, *, stream: TextIO | None = None,
                 enabled: bool | None = None) -> None:
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.line = StatusLine(stream, enabled=enabled)
        self.started = time.monotonic()
        self.last_draw = 0.0

    def __enter__(self) -> Progress:
        self.line.draw(self.text())
        return self

    def __exit__(self, *exc: object) -> None:
        self.line.draw(self.text())
        self.line.close()

    def __call__(self, n: int) -> None:
        self.update(n)

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last_draw >= REDRAW_EVERY:
            self.last_draw = now
            self.line.draw(self.text())

    def text(self) -> str:
        share = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = round(share * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        elapsed = time.monotonic() - self.started
        left = ""
        if 0 < share < 1:
            left = f"  {clock(elapsed / share - elapsed)} left"
        return f"{self.label}  [{bar}]  {share:4.0%}{left}"


def clock(seconds: float) -> str:
    """``75`` -> ``01:15``; hours when there are some (``1:02:03``)."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
