"""What a sweep worker does, whatever the backend: load the models once, then run runs.

A run is ``Simulation.from_file(scenario, seed, overrides).run().summary()``, flattened
into one row of dotted metric keys. An exception inside a run becomes a row with
``status: error`` and the error in words; the worker goes on with the next run.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from pathlib import Path
from typing import Any

from simulator.sweep.grid import RunSpec
from simulator.validate import SpecError

#: columns every row has, before its ``set:<path>`` override columns and its metrics
ROW_FIELDS = ("run", "key", "seed", "status", "error", "run_wall_s")
OVERRIDE_PREFIX = "set:"

_ready_at: float | None = None  # epoch seconds when this process finished warming up


def warm(models: list[tuple[str, str]]) -> None:
    """Load every (model, variant) into the runtime's cache, once per process, so runs
    reuse the predictors (the initializer of every worker; idempotent)."""
    global _ready_at
    from models import runtime

    for model, variant in sorted(models):
        runtime.load(model, variant)
    if _ready_at is None:
        _ready_at = time.time()


def flatten(summary: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested summary → ``{"devices.watch.battery_end_pct": 26.96, …}`` (lists as JSON)."""
    flat: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list | tuple):
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat


def base_row(spec: RunSpec) -> dict[str, Any]:
    row: dict[str, Any] = {"run": spec.run_id, "key": spec.key, "seed": spec.seed}
    row.update({f"{OVERRIDE_PREFIX}{path}": value for path, value in spec.overrides})
    row.update({"status": "", "error": "", "run_wall_s": None})
    return row


def describe_error(exc: BaseException) -> str:
    """One line: a user error's sentence as it is; any other error's type, message and
    where it was raised."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, SpecError):
        return text
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {text}{where}"


def execute_run(
    scenario: str, spec: RunSpec, run_dir: str | None = None
) -> tuple[dict[str, Any], dict[str, float]]:
    """Run one grid point and seed; returns its row and timing facts about this worker
    (``pid``, ``ready_at``, ``started_at``, ``ended_at``, epoch seconds). With ``run_dir``
    the run's ``summary.json`` and ``trace.jsonl.gz`` are written there too."""
    from simulator.engine import Simulation
    from simulator.runs import write_run

    started_at = time.time()
    started = time.perf_counter()
    row = base_row(spec)
    try:
        sim = Simulation.from_file(scenario, seed=spec.seed, overrides=spec.overrides_dict)
        sim.run()
        summary = sim.summary()
        if run_dir is not None:
            write_run(summary, sim.trace, Path(run_dir))
        metrics = flatten(summary)
        metrics.pop("seed", None)  # the row's own column
        row.update(metrics)
        row["status"] = "ok"
    except Exception as exc:  # a failed run is a result: recorded, and the sweep goes on
        row["status"] = "error"
        row["error"] = describe_error(exc)
    row["run_wall_s"] = round(time.perf_counter() - started, 4)
    timing = {
        "pid": float(os.getpid()),
        "ready_at": _ready_at if _ready_at is not None else started_at,
        "started_at": started_at,
        "ended_at": time.time(),
    }
    return row, timing
