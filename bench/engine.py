"""Engine benchmark: HomeTwin's event rate against a pure-SimPy loop of the same event
count, measured side by side in one run, plus the full 24 h health scenario's wall time
with real inference.

    python bench/engine.py          a table
    python bench/engine.py --json   JSON with hometwin_events_per_s, simpy_events_per_s,
                                    ratio, health_24h_wall_s
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import simpy  # noqa: E402

from simulator.engine import Simulation  # noqa: E402

HEALTH = ROOT / "scenarios" / "health_escalation.yaml"


def pure_simpy_events_per_s(n_events: int, n_processes: int = 8) -> float:
    """Timeouts from ``n_processes`` generator processes, ``n_events`` events in all."""
    env = simpy.Environment()
    per_process = n_events // n_processes

    def ticker(period: float):
        for _ in range(per_process):
            yield env.timeout(period)

    for i in range(n_processes):
        env.process(ticker(1.0 + 0.1 * i))
    start = time.perf_counter()
    processed = 0
    step = env.step
    peek = env.peek
    while peek() != float("inf"):
        step()
        processed += 1
    return processed / (time.perf_counter() - start)


def engine_seconds(sim: Simulation) -> float:
    """Event-loop wall time minus the real model work done inside it (ECG synthesis and
    the phone's verifier), which ``health_24h_wall_s`` reports whole."""
    return sim.wall_s - sum(getattr(app, "model_s", 0.0) for app in sim.apps)


def measure(repeats: int = 5) -> dict:
    build_start = time.perf_counter()
    sim = Simulation.from_file(HEALTH)
    build_s = time.perf_counter() - build_start
    sim.run()
    health_wall_s = build_s + sim.wall_s
    simpy_rates = []
    hometwin_rates = [sim.events_processed / engine_seconds(sim)]
    # Interleaved, best of N: both sides see the same machine load.
    for _ in range(repeats):
        simpy_rates.append(pure_simpy_events_per_s(sim.events_processed))
        again = Simulation.from_file(HEALTH)
        again.run()
        hometwin_rates.append(again.events_processed / engine_seconds(again))
    hometwin_best = max(hometwin_rates)
    simpy_best = max(simpy_rates)
    return {
        "events": sim.events_processed,
        "trace_records": len(sim.trace),
        "hometwin_events_per_s": round(hometwin_best),
        "simpy_events_per_s": round(simpy_best),
        "ratio": round(hometwin_best / simpy_best, 3),
        "health_24h_wall_s": round(health_wall_s, 3),
        "health_build_s": round(build_s, 3),
        "health_event_loop_s": round(sim.wall_s, 3),
        "health_model_work_in_loop_s": round(sum(app.model_s for app in sim.apps), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    result = measure(args.repeats)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'metric':<26}{'value':>14}")
    for key, value in result.items():
        print(f"{key:<26}{value:>14,}" if isinstance(value, int) else f"{key:<26}{value:>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
