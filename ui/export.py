"""Export: a screenshot PNG, the run summary as CSV, the trace as CSV (one row per record)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QWidget

from simulator.trace import KIND_OF, RECORD_TYPES, Trace


def save_screenshot(widget: QWidget, path: str | Path) -> Path:
    """Grab ``widget`` (with its children) to a PNG file; raises OSError on failure."""
    path = Path(path)
    if not widget.grab().save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return path


def flatten(d: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts/lists as ``(dotted.key, value)`` rows."""
    rows: list[tuple[str, Any]] = []
    if isinstance(d, dict):
        for k, v in d.items():
            rows += flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(d, (list, tuple)) and any(isinstance(x, (dict, list)) for x in d):
        for i, v in enumerate(d):
            rows += flatten(v, f"{prefix}[{i}]")
    else:
        rows.append((prefix, d))
    return rows


def export_summary_csv(summary: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["metric", "value"])
        for key, value in flatten(summary):
            w.writerow([key, value])
    return path


def export_trace_csv(trace: Trace, path: str | Path, until_s: float | None = None) -> Path:
    """One row per record: ``t, record`` (its kind) then the union of all record fields (empty if absent)."""
    path = Path(path)
    fields: list[str] = []
    for cls in RECORD_TYPES.values():
        for name in cls._fields:
            if name != "t" and name not in fields:
                fields.append(name)
    n = len(trace.records) if until_s is None else trace.index_at(until_s)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["t", "record", *fields])
        for r in trace.records[:n]:
            d = r._asdict()
            w.writerow([d["t"], KIND_OF[type(r)], *(d.get(name, "") for name in fields)])
    return path
