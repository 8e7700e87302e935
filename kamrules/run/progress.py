"""The progress bar of long runs: `payees done/total` on stderr, redrawn in place.

Shown only when the stream is a terminal, the caller did not ask for quiet, and the run has
lasted over a second (short runs print nothing); redrawn at most ten times a second; the
line is finished with a newline on close. Never writes to stdout, so piped CSV stays clean.
"""
from __future__ import annotations

import sys
import time

WIDTH = 30


class Progress:
    def __init__(self, total: int, label: str = "payees", stream=None, enabled: bool | None = None,
                 delay: float = 1.0, clock=time.monotonic):
        self.total, self.label = total, label
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled, self.delay, self.clock = enabled, delay, clock
        self.start = clock()
        self.last = None
        self.done = 0
        self.drawn = False

    def line(self, done: int) -> str:
        total = max(self.total, 1)
        filled = WIDTH * min(done, total) // total
        pct = 100 * min(done, total) // total
        return f"\r{self.label} {done}/{self.total} [{'#' * filled}{'.' * (WIDTH - filled)}] {pct:3d}%"

    def update(self, done: int) -> None:
        """Record `done` items; draw if enabled, past the delay and not drawn in 0.1 s."""
        self.done = done
        if not self.enabled:
            return
        now = self.clock()
        if now - self.start < self.delay:
            return
        if self.last is not None and now - self.last < 0.1 and done < self.total:
            return
        self.last = now
        self.stream.write(self.line(done))
        self.stream.flush()
        self.drawn = True

    def advance(self, n: int = 1) -> None:
        self.update(self.done + n)

    def close(self) -> None:
        if self.drawn:
            self.stream.write(self.line(self.done) + "\n")
            self.stream.flush()
            self.drawn = False
