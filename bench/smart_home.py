"""Smart-home night: the per-chain table, motion gating on vs off, switching under a
degraded link on vs off, the 19:00 join's deploys, and the night's wall time.

    python bench/smart_home.py [--seed N] [--json]

Each comparison runs the shipped scenario twice with one param changed (same seed, same
ground truth, same inputs), side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.engine import Simulation  # noqa: E402
from ui.tables.smart_home import PUBLISHED, chain_rows  # noqa: E402

SCENARIO = ROOT / "scenarios" / "smart_home.yaml"
APP = "home"


def night(seed: int | None, **overrides) -> tuple[dict, dict]:
    """One run: the app's metrics and the timings (build, loop, total)."""
    started = time.perf_counter()
    sim = Simulation.from_file(
        SCENARIO, seed=seed, overrides={f"apps.{APP}.params.{k}": v for k, v in overrides.items()}
    )
    built = time.perf_counter()
    sim.run()
    done = time.perf_counter()
    summary = sim.summary()
    timing = {
        "build_s": round(built - started, 2),
        "loop_s": round(done - built, 2),
        "total_s": round(done - started, 2),
        "events": sim.events_processed,
        "records": len(sim.trace),
    }
    return summary[APP] | {"devices": summary["devices"]}, timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict = {}

    base, timing = night(args.seed)
    results["night"] = {"timing": timing, "chains": base["chains"]}
    print(
        f"Smart-home night (18:00 → 08:00), shipped scenario: wall {timing['total_s']} s "
        f"(set-up incl. inputs and batched models {timing['build_s']} s, event loop {timing['loop_s']} s, "
        f"{timing['events']:,} events)"
    )
    print("\n".join(chain_rows(base)))

    print("\nThe 19:00 join: what the hub deployed on the doorbell, and why")
    for d in base["deploys"]:
        print(
            f"  {d['model']}:{d['variant']:<15} {d['role']:<9} {d['bytes'] / 1e3:6.0f} kB  "
            f"{d['deploy_s'] * 1e3:5.0f} ms  {d['energy_j'] * 1e3:6.1f} mJ (both radios)  {d['reason']}"
        )
    results["deploys"] = base["deploys"]

    battery = base["doorbell_battery"]
    print(
        f"\nDoorbell battery: {battery['average_mw']:.2f} mW average over {battery['hours_home']:.0f} h home "
        f"→ {battery['projected_days']:.0f} days on 2x AA; published: {PUBLISHED}"
    )
    for part, joules in battery["breakdown_j"].items():
        print(f"  {part:<18} {joules:9.2f} J  {100 * joules / battery['energy_j']:5.1f} %")
    results["doorbell_battery"] = battery

    ungated, t_ungated = night(args.seed, motion_gating=False)
    print("\nMotion gating (frame differencing before the detector), same night")
    print(
        f"  {'camera':<10} {'gating':<7} {'frames':>8} {'detector calls':>15} {'alerts':>7} {'precision':>9} {'chain energy on camera':>23}"
    )
    for chain, camera in (("doorbell", "doorbell"), ("indoor", "camera")):
        for label, metrics in (("on", base), ("off", ungated)):
            c = metrics["chains"][chain]
            print(
                f"  {camera:<10} {label:<7} {c['inputs']:>8} {c['model_calls']:>15} {c['alerts']:>7} "
                f"{c['precision'] if c['precision'] is not None else '—':>9} {c['energy_j_by_device'].get(camera, 0):>21.3f} J"
            )
    print(
        f"  (camera device energy incl. sensor, all night: doorbell {base['devices']['doorbell']['energy_j']:.1f} J on vs "
        f"{ungated['devices']['doorbell']['energy_j']:.1f} J off; indoor {base['devices']['camera']['energy_j'] / 1e3:.2f} kJ "
        f"vs {ungated['devices']['camera']['energy_j'] / 1e3:.2f} kJ; ungated run {t_ungated['total_s']} s wall)"
    )
    results["gating"] = {
        "on": {k: base["chains"][k] for k in ("doorbell", "indoor")},
        "off": {k: ungated["chains"][k] for k in ("doorbell", "indoor")},
    }

    fixed, _ = night(args.seed, switching=False)
    print("\nSwitching under the degraded door Wi-Fi (20:00-21:00: 250 ms latency, 0.2 Mbps, 5 % loss)")
    print(
        f"  {'switching':<10} {'alerts':>6} {'recall':>6} {'misses':>6} {'confirm p95 ms':>15} {'e2e p95 ms':>11} {'e2e max ms':>11}"
    )
    for label, metrics in (("on", base), ("off", fixed)):
        c = metrics["chains"]["doorbell"]
        confirm = c["per_stage_s"].get("confirm", {})
        p95 = confirm.get("p95")
        print(
            f"  {label:<10} {c['alerts']:>6} {c['recall']:>6} {c['deadline_misses']:>6} "
            f"{(p95 or 0) * 1e3:>15.0f} {(c['end_to_end_s']['p95'] or 0) * 1e3:>11.0f} {(c['end_to_end_s']['max'] or 0) * 1e3:>11.0f}"
        )
    print(
        f"  switches to local: {base['switching']['to_local']}, {base['switching']['local_s'] / 60:.0f} min deciding on the doorbell"
    )
    results["switching"] = {
        "on": base["chains"]["doorbell"],
        "off": fixed["chains"]["doorbell"],
        "policy": base["switching"],
    }
    if args.json:
        print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
