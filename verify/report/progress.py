"""A minimal progress bar on stderr for long runs (only on a terminal, only after a delay)."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO


class ProgressBar:
    """Call with the fraction done in [0, 1]; draws after ``delay`` seconds, on a TTY only.

    ``VERIFY_PROGRESS=1`` forces it on (e.g. under CI logs), ``VERIFY_PROGRESS=0`` off.
    """

    def __init__(self, label: str, *, delay: float = 2.0, stream: TextIO | None = None) -> None:
        self.label = label
        self.delay = delay
        self.stream = sys.stderr if stream is None else stream
        self.start = time.perf_counter()
        forced = os.environ.get("VERIFY_PROGRESS")
        self.enabled = forced == "1" or (forced != "0" and self.stream.isatty())
        self.drawn = False

    def __call__(self, fraction: float) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        if elapsed < self.delay and fraction < 1.0:
            return
        if fraction >= 1.0 and not self.drawn:
            return
        f = min(max(fraction, 0.0), 1.0)
        width = 30
        filled = round(f * width)
        eta = elapsed * (1 - f) / f if f > 0 else float("nan")
        tail = f"eta {eta:5.0f}s" if f < 1 else "done     "
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {100 * f:5.1f}%  "
                          f"{elapsed:6.1f}s  {tail}")
        if f >= 1.0:
            self.stream.write("\n")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self(1.0)

    def phases(self, base: str) -> _Ticker:
        """A callable ``(phase, fraction)`` that also redraws twice a second in between, with the
        elapsed time, for work that advances in a few long phases; use it as a context manager."""
        return _Ticker(self, base)


class _Ticker:
    def __init__(self, bar: ProgressBar, base: str) -> None:
        self.bar = bar
        self.base = base
        self.fraction = 0.0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __call__(self, phase: str, fraction: float) -> None:
        with self.lock:
            self.bar.label = f"{self.base}: {phase:<32}"
            self.fraction = fraction
            self.bar(min(fraction, 0.999))

    def _run(self) -> None:
        while not self.done.wait(0.5):
            with self.lock:
                self.bar(min(self.fraction, 0.999))

    def __enter__(self) -> _Ticker:
        if self.bar.enabled:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        if self.thread.is_alive():
            self.thread.join()
        self.bar.close()
