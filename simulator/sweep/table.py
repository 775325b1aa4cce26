"""The result of a sweep: one row per run, and the statistics per grid point.

Rows are plain dicts (``pandas.DataFrame(table.rows)`` works where pandas is installed):
``run``, ``key``, ``seed``, a ``set:<path>`` column per grid key, ``status``, ``error``,
``run_wall_s``, then the run's summary as dotted metric keys (``health.sensitivity``,
``devices.watch.battery_end_pct``…).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.sweep.grid import point_key, point_label
from simulator.sweep.stats import Estimate, estimate, format_estimate
from simulator.sweep.worker import OVERRIDE_PREFIX, ROW_FIELDS

LABEL_WIDTH_MAX = 26  # a longer grid-point label is shown as [k] with a legend
LINE_WIDTH = 118
FAILED_SHOWN = 5


def is_wall_time(name: str) -> bool:
    """Host wall-time fields: they differ between any two runs, so identity ignores them."""
    return any(
        part == "wall_s" or part.endswith("_wall_s") or part.startswith("wall_") for part in name.split(".")
    )


def comparable(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` without its wall-time fields: what must be identical on every backend."""
    return {k: v for k, v in row.items() if not is_wall_time(k)}


def row_point(row: dict[str, Any]) -> dict[str, Any]:
    """The overrides (grid point) a row was run with."""
    return json.loads(row["key"])["overrides"]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class SweepTable:
    """Rows of a sweep in grid order (grid point major, then seed) and what was asked."""

    rows: list[dict[str, Any]]
    grid: dict[str, list[Any]]
    seeds: list[int]
    scenario: str
    folder: Path | None = None
    timing: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]

    @property
    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "ok"]

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] != "ok"]

    def points(self) -> list[dict[str, Any]]:
        """The grid points present, in grid order."""
        seen: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            point = row_point(row)
            seen.setdefault(point_key(point), point)
        return list(seen.values())

    def label(self, point: dict[str, Any]) -> str:
        """The point's varying overrides (keys the grid gives one value are left out)."""
        shown = {k: v for k, v in point.items() if len(self.grid.get(k, ())) != 1}
        return point_label(shown or point, list(self.grid))

    def fixed(self) -> dict[str, Any]:
        """Overrides the whole grid shares (keys given one value)."""
        return {k: v[0] for k, v in self.grid.items() if len(v) == 1}

    def metric_names(self, numeric: bool = True) -> list[str]:
        """Metric columns in first-seen order (numeric ones only by default)."""
        names: dict[str, None] = {}
        for row in self.ok:
            for name, value in row.items():
                if name in ROW_FIELDS or name.startswith(OVERRIDE_PREFIX):
                    continue
                if not numeric or _is_number(value):
                    names.setdefault(name, None)
        return list(names)

    def _ok_by_point(self) -> dict[str, list[dict[str, Any]]]:
        """Successful rows grouped by grid point (cached until rows are added)."""
        cached = getattr(self, "_groups", None)
        if cached is None or cached[0] != len(self.rows):
            groups: dict[str, list[dict[str, Any]]] = {}
            for row in self.ok:
                groups.setdefault(point_key(row_point(row)), []).append(row)
            cached = self._groups = (len(self.rows), groups)
        return cached[1]

    def values(self, metric: str, point: dict[str, Any]) -> list[Any]:
        """``metric`` of each successful run at ``point``, in seed order."""
        return [r.get(metric) for r in self._ok_by_point().get(point_key(point), [])]

    def estimate(self, metric: str, point: dict[str, Any]) -> Estimate:
        """Mean and 95 % CI of ``metric`` over the seeds of ``point``."""
        return estimate([v for v in self.values(metric, point) if _is_number(v)])

    def select_metrics(self, patterns: list[str] | None = None) -> list[str]:
        """Metrics matching any glob in ``patterns``; by default every numeric metric that
        varies between runs, wall times left out."""
        names = self.metric_names()
        if patterns:
            return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
        varying = []
        for name in names:
            if is_wall_time(name):
                continue
            values = {r.get(name) for r in self.ok}
            if len(values) > 1:
                varying.append(name)
        return varying

    def stats(self, metrics: list[str] | None = None) -> list[dict[str, Any]]:
        """One dict per grid point and metric: point label, ``set:`` columns, metric, n, mean,
        std, ``ci95_low``, ``ci95_high`` (``metrics`` as in :meth:`select_metrics`)."""
        out = []
        names = self.select_metrics(metrics) if metrics else self.metric_names()
        for point in self.points():
            for name in names:
                est = self.estimate(name, point)
                out.append(
                    {
                        "point": self.label(point),
                        **{f"{OVERRIDE_PREFIX}{k}": v for k, v in point.items()},
                        "metric": name,
                        "n": est.n,
                        "mean": est.mean,
                        "std": est.std,
                        "ci95_low": est.low,
                        "ci95_high": est.high,
                    }
                )
        return out

    def format_stats(self, metrics: list[str] | None = None) -> str:
        """Mean ± 95 % CI per metric (rows) and grid point (columns), as text."""
        points = self.points()
        names = self.select_metrics(metrics)
        ok, failed = len(self.ok), len(self.failed)
        lines = [
            f"{self.scenario}: {len(points)} grid point{'s' * (len(points) != 1)} × "
            f"{len(self.seeds)} seed{'s' * (len(self.seeds) != 1)} = {len(self.rows)} runs "
            f"({ok} ok{f', {failed} failed' if failed else ''})",
            "mean ± 95 % confidence interval over seeds (Student's t)",
        ]
        if self.fixed():
            lines.insert(1, f"every run with {point_label(self.fixed())}")
        if not names:
            lines.append("  (no metric varies between runs; pick some with --metrics)")
            return "\n".join(lines)
        labels = [self.label(p) for p in points]
        headers = [lab if len(lab) <= LABEL_WIDTH_MAX else f"[{i + 1}]" for i, lab in enumerate(labels)]
        legend = [
            f"  [{i + 1}] {lab}" for i, (lab, h) in enumerate(zip(labels, headers, strict=True)) if h != lab
        ]
        lines += legend
        cells = [[format_estimate(self.estimate(n, p)) for p in points] for n in names]
        name_width = max(len("metric"), *(len(n) for n in names))
        widths = [max(len(h), *(len(row[j]) for row in cells)) for j, h in enumerate(headers)]
        start = 0
        while start < len(points):
            stop, width = start, name_width + 2
            while stop < len(points) and (stop == start or width + widths[stop] + 2 <= LINE_WIDTH):
                width += widths[stop] + 2
                stop += 1
            lines.append("")
            lines.append(
                "  "
                + "metric".ljust(name_width)
                + "".join(f"  {headers[j]:>{widths[j]}}" for j in range(start, stop))
            )
            for name, row in zip(names, cells, strict=True):
                lines.append(
                    "  "
                    + name.ljust(name_width)
                    + "".join(f"  {row[j]:>{widths[j]}}" for j in range(start, stop))
                )
            start = stop
        failed_rows = self.failed
        for row in failed_rows[:FAILED_SHOWN]:
            lines.append(f"  failed: {row['run']}: {row['error']}")
        if len(failed_rows) > FAILED_SHOWN:
            lines.append(f"  … and {len(failed_rows) - FAILED_SHOWN} more failed runs (see the error column)")
        return "\n".join(lines)


def load_table(folder: str | Path) -> SweepTable:
    """A sweep folder's rows and statistics, as :func:`run_sweep` returned them (rows of
    the folder's latest grid and seeds in grid order, then rows of earlier grids)."""
    from simulator.sweep.folder import latest_by_key, read_rows, read_spec
    from simulator.sweep.grid import expand
    from simulator.validate import SpecError

    folder = Path(folder)
    spec = read_spec(folder)
    if spec is None:
        raise SpecError(f"{folder}: not a sweep folder (no sweep.json)")
    latest = latest_by_key(read_rows(folder / "runs.jsonl"))
    order = [run.key for run in expand(spec["grid"], spec["seeds"])]
    wanted = set(order)
    rows = [latest[k] for k in order if k in latest]
    rows += [r for k, r in latest.items() if k not in wanted]
    return SweepTable(rows, spec["grid"], spec["seeds"], spec["scenario"], folder)
