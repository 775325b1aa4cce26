"""Run a whole simulation in a separate process and save its trace (no Qt here).

``python -m ui.sim_worker SPEC.json OUT.trace.jsonl.gz`` reads a run spec (scenario file or
dict, seed, overrides, extra events, devices and links), advances the simulation in slices, prints
``progress <sim_now_s> <duration_s>`` lines the GUI turns into a progress bar, writes the
trace and ``<OUT>.summary.json`` and prints ``done``. Errors print ``error <message>`` and
exit 2. The GUI replays the file; same spec and seed give the same trace as a live run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def build_simulation(spec: dict[str, Any]):
    """The Simulation a run spec describes (shared by the GUI's live runs and this worker)."""
    from simulator.engine import Simulation

    kwargs = {"seed": spec.get("seed"), "overrides": spec.get("overrides") or None}
    for key in ("extra_events", "extra_devices", "extra_links"):
        if spec.get(key):
            kwargs[key] = list(spec[key])
    if spec.get("scenario") is not None:
        return Simulation.from_dict(spec["scenario"], **kwargs)
    return Simulation.from_file(spec["scenario_file"], **kwargs)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m ui.sim_worker SPEC.json OUT.trace.jsonl.gz", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text())
    out = Path(argv[1])
    try:
        sim = build_simulation(spec)
        duration = float(sim.duration_s)
        print(f"progress 0 {duration}", flush=True)
        last = time.perf_counter()
        finished = False
        while not finished:
            finished = sim.advance(duration, budget_s=0.2)
            now = time.perf_counter()
            if now - last > 0.2 or finished:
                print(f"progress {float(sim.now)} {duration}", flush=True)
                last = now
        sim.trace.save(out)
        summary_path = out.with_name(out.name.replace(".jsonl.gz", "") + ".summary.json")
        summary_path.write_text(json.dumps(sim.summary(), indent=2, default=str))
    except Exception as exc:  # reported to the GUI as a sentence, never a traceback
        print(f"error {exc}", flush=True)
        return 2
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
