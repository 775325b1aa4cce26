"""A watch's life as a digital twin at full size: the shipped 30-day scenario over seeds.

    python bench/lifecycle.py [--seeds 10] [--contrast-seeds 3] [--workers 2] [--json]

Runs ``scenarios/device_lifecycle.yaml`` for ``--seeds`` seeds, then ``--contrast-seeds``
seeds with the range guard off and with no copy on the hub (repair by fine-tuning), and
prints each number of issue 16 as mean ± 95 % CI (Student t over seeds). Every number is the
app's summary (``App.summarize`` of the run's trace): accuracy from the daily held-out
evaluation, device time and energy from the watch's ``Inference`` records, bytes and radio
energy from ``Message`` records. Host wall time is printed only to size the bench.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCENARIO = ROOT / "scenarios" / "device_lifecycle.yaml"
VARIANTS = {"shipped": {}, "guard off": {"guard": False}, "no hub copy": {"hub_backup": False}}


def run_one(job: tuple[str, int]) -> tuple[str, int, dict[str, Any], float]:
    """One run of the scenario (variant, seed) → (variant, seed, the app's summary, wall s)."""
    from simulator.engine import Simulation
    from simulator.scenario import load_scenario

    variant, seed = job
    start = time.perf_counter()
    spec = load_scenario(SCENARIO)
    spec["apps"][0]["params"].update(VARIANTS[variant])
    sim = Simulation(spec, seed=seed).run()
    return variant, seed, sim.summary()["device_lifecycle"], time.perf_counter() - start


def ci95(values: list[float]) -> tuple[float, float]:
    """(mean, half-width of the 95 % confidence interval, Student t)."""
    from scipy import stats

    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, float("nan")
    return mean, float(stats.t.ppf(0.975, len(values) - 1)) * statistics.stdev(values) / len(values) ** 0.5


def _values(runs: list[dict], pick) -> list[float]:
    out = []
    for m in runs:
        try:
            value = pick(m)
        except (KeyError, IndexError, StopIteration, TypeError):
            continue
        if value is not None:
            out.append(float(value))
    return out


def _fault(kind: str, key: str):
    return lambda m: next(f for f in m["faults"] if f["kind"] == kind)[key]


def _first_adaptation(key: str):
    return lambda m: m["adaptations"][0][key]


ROWS: list[tuple[str, Any, str]] = [
    ("accuracy before drift", lambda m: m["accuracy_before_drift"], "{:.1%}"),
    ("after drift, unadapted (generic)", lambda m: m["accuracy_drift_unadapted"], "{:.1%}"),
    ("after drift, before adaptation", lambda m: m["accuracy_drift_before_adaptation"], "{:.1%}"),
    ("after drift, adapted on device", lambda m: m["accuracy_adapted"], "{:.1%}"),
    ("drift 1 (other wrist) detect delay h", lambda m: m["drifts"][0]["delay_h"], "{:.1f}"),
    ("drift 2 (sensor ageing) detect delay h", lambda m: m["drifts"][1]["delay_h"], "{:.1f}"),
    (
        "adaptations deployed / tried",
        lambda m: m["adaptations_deployed"] / max(m["adaptations_tried"], 1),
        "{:.2f}",
    ),
    ("adaptation: device time s", _first_adaptation("device_busy_s"), "{:.2f}"),
    ("adaptation: energy J", _first_adaptation("energy_j"), "{:.3f}"),
    (
        "adaptation: peak train memory KiB",
        lambda m: m["adaptations"][0]["peak_memory_bytes"] / 1024,
        "{:.0f}",
    ),
    ("adaptation: memory budget KiB", lambda m: m["adaptations"][0]["memory_budget_bytes"] / 1024, "{:.0f}"),
    ("adaptation: trainable params", _first_adaptation("trainable_params"), "{:.0f}"),
    ("model B before re-compression (fp32)", _first_adaptation("fp32_bytes"), "{:,.0f}"),
    ("model B after re-compression (int8)", _first_adaptation("size_after_bytes"), "{:,.0f}"),
    ("faults detected / injected", lambda m: m["faults_detected"] / max(m["faults_injected"], 1), "{:.2f}"),
    ("targeted flips: detect s", _fault("targeted_flips", "detect_delay_s"), "{:,.0f}"),
    ("targeted flips: accuracy damaged", _fault("targeted_flips", "accuracy_damaged"), "{:.1%}"),
    ("targeted flips: windows served damaged", _fault("targeted_flips", "served_damaged"), "{:.0f}"),
    ("targeted flips: accuracy after repair", _fault("targeted_flips", "accuracy_after_repair"), "{:.1%}"),
    ("targeted flips: restore B", _fault("targeted_flips", "restore_bytes"), "{:,.0f}"),
    (
        "targeted flips: restore radio mJ",
        lambda m: 1e3 * _fault("targeted_flips", "restore_energy_j")(m),
        "{:.1f}",
    ),
    ("corrupt download: detect s", _fault("corrupt_download", "detect_delay_s"), "{:.1f}"),
    ("corrupt download: re-sync B", _fault("corrupt_download", "restore_bytes"), "{:,.0f}"),
    ("random flips: detect s", _fault("random_flips", "detect_delay_s"), "{:,.0f}"),
    ("random flips: accuracy damaged", _fault("random_flips", "accuracy_damaged"), "{:.1%}"),
    ("random flips: accuracy after repair", _fault("random_flips", "accuracy_after_repair"), "{:.1%}"),
    ("random flips: restore B", _fault("random_flips", "restore_bytes"), "{:,.0f}"),
    ("windows served while damaged", lambda m: m["served_while_damaged"], "{:.0f}"),
    ("migration: time to service s", lambda m: m["migration_s"], "{:.1f}"),
    ("migration: bytes moved", lambda m: m["migration_bytes"], "{:,.0f}"),
    ("migration: radio energy mJ", lambda m: 1e3 * m["migration_energy_j"], "{:.0f}"),
    ("new watch: personalized accuracy", lambda m: m["accuracy_new_watch"], "{:.1%}"),
    ("new watch: fresh generic accuracy", lambda m: m["accuracy_new_watch_generic"], "{:.1%}"),
    ("twin digest equal (share of runs)", lambda m: float(m["twin_digest_equal"]), "{:.2f}"),
]


def _cell(values: list[float], how: str) -> str:
    if not values:
        return "—"
    mean, half = ci95(values)
    text = how.format(mean)
    if len(values) > 1 and half == half:
        text += " ± " + how.format(half).rstrip("%") + ("%" if how.endswith("%}") else "")
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--contrast-seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print every run's summary as JSON")
    args = parser.parse_args()
    jobs = [("shipped", s) for s in range(args.seeds)]
    jobs += [(v, s) for v in ("guard off", "no hub copy") for s in range(args.contrast_seeds)]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        done = list(pool.map(run_one, jobs))
    wall_s = time.perf_counter() - start
    by_variant: dict[str, list[dict]] = {v: [m for var, _, m, _ in done if var == v] for v in VARIANTS}
    if args.json:
        print(json.dumps({v: runs for v, runs in by_variant.items()}, indent=1, default=str))
        return 0
    header = f"{'(mean ± 95 % CI over seeds)':40}" + "".join(
        f"{f'{v} (n={len(r)})':>24}" for v, r in by_variant.items()
    )
    print(header)
    print("-" * len(header))
    for label, pick, how in ROWS:
        print(
            f"{label:40}" + "".join(f"{_cell(_values(runs, pick), how):>24}" for runs in by_variant.values())
        )
    per_run = statistics.fmean(w for *_, w in done)
    print(
        f"\n{len(done)} runs of 30 simulated days, {per_run:.1f} s host each, {wall_s:.0f} s in all ({args.workers} workers)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
