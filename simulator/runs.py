"""A run's results: its summary rebuilt from the trace alone, and a run written to a folder.

:func:`summarize_trace` is the one summary: ``Simulation.summary()``, ``python main.py
summary TRACE``, sweeps and the GUI all call it. The device table reads the trace's records
(first battery sample, inference records) and the gauges the engine wrote into
``meta["end"]`` when the run stopped (state of charge, energy meter, on/off: the battery
model's state is not replayed from records); every app's metrics come from its
``summarize(trace, app, end_s)``. A live run adds what only the host knows: an app's
``metrics`` is its ``summarize`` plus ``wall_*`` keys (host time), which a rebuilt summary
lacks and comparisons leave out.

:func:`write_run` is the one way a run reaches disk (CLI ``run``, sweep workers, the GUI's
background runs): ``summary.json`` and ``trace.jsonl.gz`` staged in the parent folder and
moved into place together, so a failure leaves no half-written result.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from simulator.apps import App, app_class
from simulator.trace import BatterySample, Inference, Trace

SUMMARY_FILE = "summary.json"
TRACE_FILE = "trace.jsonl.gz"


class SummaryError(ValueError):
    """A trace lacks what a summary needs (no end gauges, an unknown app type)."""


def summarize_trace(trace: Trace, live_apps: dict[str, App] | None = None) -> dict[str, Any]:
    """The summary of a run from its trace (see the module docstring). ``live_apps`` (name →
    app, in a live run) add each app's host-time ``wall_*`` keys through its ``metrics``."""
    end = trace.meta.get("end")
    if not isinstance(end, dict) or not isinstance(end.get("devices"), dict):
        raise SummaryError(
            "the trace has no end-of-run gauges (meta.end): it was saved before the run stopped"
        )
    end_s = float(end["sim_time_s"])
    first_soc: dict[str, float] = {}
    inferences: dict[str, int] = {}
    for record in trace.records:
        kind = type(record)
        if kind is Inference:
            inferences[record.device] = inferences.get(record.device, 0) + 1
        elif kind is BatterySample and record.device not in first_soc:
            first_soc[record.device] = record.soc
    devices = {}
    for name, gauge in end["devices"].items():
        first = first_soc.get(name, gauge["soc"])
        devices[name] = {
            "kind": gauge["kind"],
            "profile": gauge["profile"],
            "battery_start_pct": round(100.0 * first, 3),
            "battery_end_pct": round(100.0 * gauge["soc"], 3),
            "energy_j": round(gauge["energy_j"], 4),
            "inferences": inferences.get(name, 0),
            "on": gauge["on"],
        }
    summary: dict[str, Any] = {
        "scenario": trace.meta.get("scenario"),
        "seed": trace.meta.get("seed"),
        "sim_time_s": end_s,
        "wall_s": end.get("wall_s"),
        "events": end.get("events"),
        "trace_records": len(trace),
        "devices": devices,
    }
    for entry in trace.meta.get("apps") or []:
        name = entry["name"]
        live = (live_apps or {}).get(name)
        if live is not None:  # summarize plus the host's own measures (wall_* keys)
            summary[name] = live.metrics(trace, end_s)
            continue
        cls = app_class(entry["type"])
        if cls is None:
            raise SummaryError(f"app {name!r}: unknown app type {entry['type']!r}")
        summary[name] = cls.summarize(trace, entry, end_s)
    return summary


def write_run(summary: dict[str, Any], trace: Trace, out_dir: Path) -> None:
    """Write ``summary.json`` and ``trace.jsonl.gz`` into ``out_dir`` (made if needed), both or
    neither; an ``OSError`` says why it could not."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".hometwin-", dir=out_dir.parent))
    try:
        (staging / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str) + "\n")
        trace.save(staging / TRACE_FILE)
        out_dir.mkdir(parents=True, exist_ok=True)
        for item in staging.iterdir():
            os.replace(item, out_dir / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
