"""A one-line progress display for long runs on a terminal (stderr), silent otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total_bytes: int | None, stream: TextIO | None = None,
                 interval: float = 0.5):
        self._stream = stream or sys.stderr
        self._enabled = self._stream.isatty()
        self._total = total_bytes or None
        self._interval = interval
        self._done = 0
        self._start = self._last = time.monotonic()

    def __call__(self, nbytes: int) -> None:
        self._done += nbytes
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._show(now)

    def _show(self, now: float) -> None:
        mb = self._done / 1e6
        rate = mb / max(now - self._start, 1e-9)
        share = f" of {self._total / 1e6:,.1f} MB ({100 * self._done / self._total:.0f}%)" \
            if self._total else ""
        self._stream.write(f"\r  read {mb:,.1f} MB{share}, {rate:,.1f} MB/s ")
        self._stream.flush()

    def finish(self) -> None:
        if self._enabled and self._last != self._start:
            self._stream.write("\r" + " " * 60 + "\r")
            self._stream.flush()
