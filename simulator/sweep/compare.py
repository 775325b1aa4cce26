"""Runs compared: run folders (``main.py run --out``) and sweep folders side by side.

A run folder holds ``summary.json`` (and ``trace.jsonl.gz``); a sweep folder holds
``sweep.json`` and ``runs.jsonl`` (and, with traces on, ``runs/<run>/``). For the metrics
table a sweep contributes one column per grid point (mean ± 95 % CI over its seeds); for
plots (the GUI) every run of it is an entry whose trace is read from its run folder or,
when the sweep kept no traces, simulated again from its scenario, overrides and seed
(runs are deterministic, so that is the same trace).
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.apps import load_trace
from simulator.sweep.folder import latest_by_key, read_rows, read_spec, scenario_digest
from simulator.sweep.stats import Estimate
from simulator.sweep.table import is_wall_time, load_table, row_point
from simulator.sweep.worker import OVERRIDE_PREFIX, ROW_FIELDS, flatten
from simulator.trace import BatterySample, Inference, PowerState, Trace
from simulator.validate import SpecError

MIN_POWER_W = 1e-4  # floor for the log-scale power plot


@dataclass
class Column:
    """One column of the comparison: a run, or a sweep's grid point (mean over seeds)."""

    label: str
    values: dict[str, Any]
    half_widths: dict[str, float | None] = field(default_factory=dict)
    n: int = 1


@dataclass
class RunEntry:
    """One run to plot: its label, metrics, and where its trace comes from."""

    label: str
    group: str
    metrics: dict[str, Any]
    trace_path: Path | None = None
    rerun: tuple[str, dict[str, Any], int] | None = None  # scenario, overrides, seed

    def load_trace(self) -> Trace:
        """The run's trace: read from its folder, or simulated again (same seed, same trace)."""
        if self.trace_path is not None and self.trace_path.exists():
            return load_trace(self.trace_path)
        if self.rerun is None:
            raise SpecError(f"{self.label}: no trace.jsonl.gz next to its summary")
        from simulator.engine import Simulation

        scenario, overrides, seed = self.rerun
        sim = Simulation.from_file(scenario, seed=seed, overrides=overrides)
        sim.run()
        return sim.trace


def _kind(path: Path) -> str:
    if (path / "sweep.json").exists():
        return "sweep"
    if (path / "summary.json").exists():
        return "run"
    if path.is_file() and path.name == "summary.json":
        return "run-file"
    raise SpecError(f"{path}: neither a run folder (summary.json) nor a sweep folder (sweep.json)")


def _read_summary(path: Path) -> dict[str, Any]:
    try:
        summary = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path}: not a readable summary ({exc})") from None
    if not isinstance(summary, dict):
        raise SpecError(f"{path}: not a run summary")
    return summary


def _name(path: Path) -> str:
    """A folder's display name; a sweep's run folder loses its key hash."""
    path = path.parent if path.is_file() else path
    name = path.resolve().name or str(path)
    if (path / ".." / ".." / "sweep.json").exists():
        name = re.sub(r"-[0-9a-f]{8}$", "", name)
    return name


def _unique_labels(paths: list[Path]) -> list[str]:
    names = [_name(p) for p in paths]
    return [str(p) if names.count(n) > 1 else n for p, n in zip(paths, names, strict=True)]


def _metrics_of_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ROW_FIELDS and not k.startswith(OVERRIDE_PREFIX)}


def columns(paths: list[str | Path]) -> list[Column]:
    """The comparison's columns: one per run folder, one per grid point of a sweep."""
    paths = [Path(p) for p in paths]
    out: list[Column] = []
    for path, label in zip(paths, _unique_labels(paths), strict=True):
        kind = _kind(path)
        if kind != "sweep":
            file = path if kind == "run-file" else path / "summary.json"
            metrics = flatten(_read_summary(file))
            metrics.pop("seed", None)
            out.append(Column(label, metrics))
            continue
        table = load_table(path)
        names = table.metric_names(numeric=False)
        for point in table.points():
            values, halves, n = {}, {}, 0
            for name in names:
                raw = table.values(name, point)
                numbers = [v for v in raw if isinstance(v, int | float) and not isinstance(v, bool)]
                if numbers and len(numbers) == len([v for v in raw if v is not None]):
                    est: Estimate = table.estimate(name, point)
                    values[name], halves[name], n = est.mean, est.half_width, max(n, est.n)
                elif raw and all(v == raw[0] for v in raw):
                    values[name] = raw[0]
            out.append(Column(f"{label}: {table.label(point)}", values, halves, n))
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_value(value: Any) -> str:
    """A metric value as the comparison shows it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return _float(value)
    return str(value)


def _float(value: float, sign: str = "", digits: int = 6) -> str:
    """``digits`` significant digits, not in exponent form from 1e-3 up."""
    if abs(value) >= 10**digits:
        return f"{value:{sign},.0f}"
    if abs(value) >= 1e-3 or value == 0:
        return f"{value:{sign},.{digits}g}"
    return f"{value:{sign}.3g}"


def format_delta(a: Any, b: Any) -> str:
    """``b − a`` and its % of ``a`` (``=`` if equal; ``≠`` for differing text)."""
    if not (_number(a) and _number(b)):
        return "" if a == b else "≠"
    d = b - a
    if d == 0:
        return "="
    text = _float(d, "+", digits=4)
    if a:
        text += f" ({100.0 * d / abs(a):+.1f} %)"
    return text


def compared_metrics(
    cols: list[Column], patterns: list[str] | None = None, changed: bool = False
) -> list[str]:
    """Metrics to show: those matching ``patterns`` (globs; default all but wall times),
    numeric ones, or text that differs; with ``changed`` only those that differ."""
    names: dict[str, None] = {}
    for col in cols:
        for name in col.values:
            names.setdefault(name, None)
    out = []
    for name in names:
        if patterns and not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        if not patterns and is_wall_time(name):
            continue
        values = [c.values.get(name) for c in cols]
        differs = any(v != values[0] for v in values)
        numeric = any(_number(v) for v in values)
        if (changed and not differs) or (not numeric and not differs):
            continue
        out.append(name)
    return out


def _tag(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else str(i + 1)


def format_comparison(cols: list[Column], patterns: list[str] | None = None, changed: bool = False) -> str:
    """Metrics (rows) of each column side by side, with each later column's difference
    from the first (``Δ``, and in % of the first)."""
    names = compared_metrics(cols, patterns, changed)
    headers = ["metric", "A"]
    for i in range(1, len(cols)):
        headers += [_tag(i), f"{_tag(i)} − A"]
    table = []
    for name in names:
        first = cols[0].values.get(name)
        cells = [name]
        for i, col in enumerate(cols):
            value = col.values.get(name)
            half = col.half_widths.get(name)
            cells.append(format_value(value) + (f" ± {half:.2g}" if half else ""))
            if i:
                cells.append(format_delta(first, value))
        table.append(cells)
    widths = [max([len(h)] + [len(r[j]) for r in table]) for j, h in enumerate(headers)]
    lines = []
    for i, col in enumerate(cols):
        mean = f"  (mean of {col.n} seeds ± 95 % CI)" if col.n > 1 else ""
        lines.append(f"  {_tag(i)}: {col.label}{mean}")
    lines.append("")
    for cells in [headers, *table]:
        lines.append(
            "  "
            + "  ".join(c.ljust(widths[0]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(cells))
        )
    if not table:
        lines.append("  (no metric differs)" if changed else "  (no metrics)")
    return "\n".join(lines)


def run_entries(paths: list[str | Path]) -> list[RunEntry]:
    """Every run the folders hold (a sweep's in grid order), for plotting."""
    paths = [Path(p) for p in paths]
    entries: list[RunEntry] = []
    for path, label in zip(paths, _unique_labels(paths), strict=True):
        kind = _kind(path)
        if kind != "sweep":
            folder = path.parent if kind == "run-file" else path
            metrics = flatten(_read_summary(folder / "summary.json"))
            entries.append(RunEntry(label, label, metrics, folder / "trace.jsonl.gz"))
            continue
        spec = read_spec(path)
        table = load_table(path)
        scenario = Path(spec["scenario"])
        same = scenario.is_file() and scenario_digest(scenario) == spec.get("scenario_sha256")
        latest = latest_by_key(read_rows(path / "runs.jsonl"))
        for row in table.ok:
            point = row_point(row)
            entries.append(
                RunEntry(
                    f"{table.label(point)} · seed {row['seed']}",
                    f"{label}: {table.label(point)}",
                    _metrics_of_row(latest.get(row["key"], row)),
                    path / "runs" / row["run"] / "trace.jsonl.gz",
                    (str(scenario), point, int(row["seed"])) if same else None,
                )
            )
    return entries


@dataclass
class DeviceSeries:
    """What the comparison plots of one device in one run: battery %, power (as steps)
    and inference latency, against simulated seconds."""

    battery_t: np.ndarray
    battery_pct: np.ndarray
    power_t: np.ndarray
    power_w: np.ndarray
    latency_t: np.ndarray
    latency_ms: np.ndarray


def device_series(trace: Trace, device: str) -> DeviceSeries:
    """The plotted series of ``device`` in ``trace`` (empty arrays where it has none)."""
    battery = [(r.t, r.soc) for r in trace.records if type(r) is BatterySample and r.device == device]
    power = [(r.t, r.power_w) for r in trace.records if type(r) is PowerState and r.device == device]
    infer = [(r.end_t, r.end_t - r.t) for r in trace.records if type(r) is Inference and r.device == device]
    bt, bs = (
        (np.asarray(c, dtype=float) for c in zip(*battery, strict=True)) if battery else (np.zeros(0),) * 2
    )
    end = trace.end_time
    if power:
        t, w = (np.asarray(c, dtype=float) for c in zip(*power, strict=True))
        px = np.repeat(np.append(t, max(end, t[-1])), 2)[1:-1]
        py = np.maximum(np.repeat(w, 2), MIN_POWER_W)
    else:
        px = py = np.zeros(0)
    lt, ls = (np.asarray(c, dtype=float) for c in zip(*infer, strict=True)) if infer else (np.zeros(0),) * 2
    return DeviceSeries(bt, bs * 100.0, px, py, lt, ls * 1000.0)
