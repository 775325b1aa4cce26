"""A one-line progress bar for a sweep on stderr: runs done, failures, rate, time left."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class SweepProgress:
    """Call with each finished row; draws ``████░░ 12/40 runs  1 failed  2.3 runs/s  0:07 left``."""

    def __init__(self, total: int, skipped: int = 0, stream: TextIO | None = None) -> None:
        self.total = total
        self.skipped = skipped
        self.done = skipped
        self.failed = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.perf_counter()
        self.last_draw = -1.0
        self.draw(force=True)

    def __call__(self, row: dict[str, Any]) -> None:
        self.done += 1
        if row.get("status") != "ok":
            self.failed += 1
            self._line(f"  run {row['run']} failed: {row.get('error', '')}")
        self.draw(force=self.done >= self.total)

    def _line(self, text: str) -> None:
        print(("\r\033[K" if self.tty else "") + text, file=self.stream, flush=True)
        self.last_draw = -1.0

    def draw(self, force: bool = False) -> None:
        wall = time.perf_counter() - self.start
        if not force and wall - self.last_draw < (0.1 if self.tty else 2.0):
            return
        self.last_draw = wall
        frac = self.done / self.total if self.total else 1.0
        bar = "█" * int(frac * 30) + "░" * (30 - int(frac * 30))
        ran = self.done - self.skipped
        rate = ran / wall if wall > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else None
        parts = [f"  {bar} {self.done}/{self.total} runs"]
        if self.skipped:
            parts.append(f"{self.skipped} already done")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if ran:
            parts.append(f"{rate:.2f} runs/s")
        if left is not None and self.done < self.total:
            parts.append(f"{int(left) // 60}:{int(left) % 60:02d} left")
        end = "\n" if self.done >= self.total or not self.tty else ""
        print(("\r\033[K" if self.tty else "") + "  ".join(parts), end=end, file=self.stream, flush=True)
