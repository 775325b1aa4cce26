"""Run a whole simulation in a separate process and save its trace (no Qt here).

``python -m ui.sim_worker SPEC.json OUT_DIR`` reads a run spec (scenario file or
dict, seed, overrides, extra events, devices and links), advances the simulation in slices, prints
``progress <sim_now_s> <duration_s>`` lines the GUI turns into a progress bar, writes the
run to ``OUT_DIR`` (``summary.json`` + ``trace.jsonl.gz``, :func:`simulator.runs.write_run`)
and prints ``done``. Errors print ``error <message>`` and
exit 2. The GUI replays the file; same spec and seed give the same trace as a live run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m ui.sim_worker SPEC.json OUT_DIR", file=sys.stderr)
        return 2
    from simulator.engine import Simulation
    from simulator.runs import write_run

    spec = json.loads(Path(argv[0]).read_text())
    out = Path(argv[1])
    try:
        sim = Simulation.from_run(spec)
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
        write_run(sim.summary(), sim.trace, out)
    except Exception as exc:  # reported to the GUI as a sentence, never a traceback
        print(f"error {exc}", flush=True)
        return 2
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
