"""Read a saved trace a slice at a time, so a big file never freezes the window.

Same formats (the current one and older ones), the same rules and the same errors as
:meth:`simulator.trace.Trace.load` (which reads in one go): an unknown format is a
:class:`TraceError` naming the version. :meth:`IncrementalTraceLoader.step` parses lines
until its wall-time budget is spent.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

from simulator.apps import register_app_records
from simulator.trace import Trace, TraceError, check_format, parse_row, upgrade_meta


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
        try:
            self.version = check_format(header, self.path)
        except TraceError:
            self._close()
            raise
        self.trace = Trace(header.get("meta"))
        upgrade_meta(self.trace.meta, self.version)
        register_app_records(self.trace.meta)
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
        version = self.version
        try:
            while True:
                for _ in range(500):
                    line = self._file.readline()
                    if not line:
                        self.done = True
                        self._close()
                        return True
                    self._lineno += 1
                    record = parse_row(json.loads(line), version)
                    if record is None:
                        raise TraceError(f"{self.path}, line {self._lineno}: unknown or malformed record")
                    append(record)
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
