"""Read a saved trace a slice at a time, so a big file never freezes the window.

Same format and the same errors as :meth:`simulator.trace.Trace.load` (which reads in one go);
:meth:`IncrementalTraceLoader.step` parses lines until its wall-time budget is spent.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

from simulator.trace import RECORD_TYPES, TRACE_FORMAT, Trace, TraceError


class IncrementalTraceLoader:
    """``step(budget_s)`` until ``done``; ``trace`` grows meanwhile; errors raise TraceError."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.done = False
        try:
            self.total_bytes = max(1, self.path.stat().st_size)
            self._raw = open(self.path, "rb")  # noqa: SIM115 - closed in _close
            self._file = gzip.open(self._raw, "rt", encoding="utf-8")
            header = json.loads(self._file.readline())
        except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            self._close()
            raise TraceError(f"{self.path}: cannot read trace ({exc})") from None
        if not isinstance(header, dict) or header.get("format") != TRACE_FORMAT:
            self._close()
            raise TraceError(f"{self.path}: not a HomeTwin trace (expected format {TRACE_FORMAT})")
        self.trace = Trace(header.get("meta"))
        self._lineno = 1

    @property
    def fraction(self) -> float:
        if self.done:
            return 1.0
        try:
            return min(1.0, self._raw.tell() / self.total_bytes)
        except (OSError, ValueError):
            return 0.0

    def step(self, budget_s: float = 0.01) -> bool:
        """Parse records for about ``budget_s`` seconds; returns True when the file is read."""
        if self.done:
            return True
        deadline = time.perf_counter() + budget_s
        append = self.trace.append
        try:
            while True:
                for _ in range(500):
                    line = self._file.readline()
                    if not line:
                        self.done = True
                        self._close()
                        return True
                    self._lineno += 1
                    row = json.loads(line)
                    record_type = RECORD_TYPES.get(row[0]) if isinstance(row, list) and row else None
                    if record_type is None or len(row) - 1 != len(record_type._fields):
                        raise TraceError(f"{self.path}, line {self._lineno}: unknown or malformed record")
                    append(record_type(*row[1:]))
                if time.perf_counter() > deadline:
                    return False
        except TraceError:
            self._close()
            raise
        except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
            self._close()
            raise TraceError(f"{self.path}, line {self._lineno}: cannot read trace ({exc})") from None

    def _close(self) -> None:
        for f in (getattr(self, "_file", None), getattr(self, "_raw", None)):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass
