"""The health cascade on wearers with premature beats: false alarms per day by ectopy rate.

    python bench/health_ectopy.py [--seeds 20] [--rates 0,0.05,0.15] [--json]

Runs the shipped health day (``scenarios/health_escalation.yaml``, its int8 verifier) over
``--seeds`` wearer days for each ``ectopy_rate`` (``apps.health.params.ectopy_rate``; each
seed draws the wearer's own couplet share, bigeminy runs and pulse deficit) and prints the
cascade's sensitivity and false alarms per day, how many ECGs the phone dismissed as
premature beats, and the classic HR rule beside it. The verifier's confusion on held-out
ectopy-rich wearers is on its card (``extra.ectopy_rich_confusion``; ``python main.py models``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.engine import Simulation  # noqa: E402

HEALTH = ROOT / "scenarios" / "health_escalation.yaml"


def measure(seeds: int, rates: list[float]) -> dict:
    out = {}
    for rate in rates:
        rows = []
        for seed in range(1, seeds + 1):
            sim = Simulation.from_file(HEALTH, seed=seed, overrides={"apps.health.params.ectopy_rate": rate})
            sim.run()
            health = sim.summary()["health"]
            dismissed_ectopy = sum(
                1
                for r in sim.trace.records
                if type(r).__name__ == "Escalation" and r.stage == "phone_dismiss" and r.label == "ectopy"
            )
            rows.append((health, dismissed_ectopy))
        episodes = sum(h["episodes"] for h, _ in rows)

        def pooled(key, rows=rows, episodes=episodes):
            parts = [h if key is None else h[key] for h, _ in rows]
            return {
                "sensitivity": round(sum(p["detected"] for p in parts) / episodes, 4),
                "false_alarms_per_day": round(float(np.mean([p["false_alarms_per_day"] for p in parts])), 3),
                "false_alarms_per_day_max": round(
                    float(np.max([p["false_alarms_per_day"] for p in parts])), 3
                ),
            }

        out[str(rate)] = {
            "days": seeds,
            "episodes": episodes,
            "cascade": pooled(None),
            "baseline": pooled("baseline"),
            "captures_per_day": round(float(np.mean([h["escalations"]["ecg_capture"] for h, _ in rows])), 2),
            "dismissed_as_ectopy_per_day": round(float(np.mean([d for _, d in rows])), 2),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--rates", default="0,0.05,0.15")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        rates = [float(r) for r in args.rates.split(",")]
    except ValueError:
        print(f"error: --rates: expected comma-separated numbers, got {args.rates!r}", file=sys.stderr)
        return 2
    if args.seeds < 1 or any(not 0.0 <= r <= 0.5 for r in rates):
        print("error: --seeds must be ≥ 1 and every --rates value in [0, 0.5]", file=sys.stderr)
        return 2
    result = measure(args.seeds, rates)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{'ectopy rate':>11}{'days':>6}{'episodes':>9}{'captures/d':>11}{'as ectopy/d':>12}"
        f"{'sensitivity':>12}{'FA/day':>8}{'FA/day max':>11}{'rule sens':>10}{'rule FA/d':>10}"
    )
    for rate, r in result.items():
        c, b = r["cascade"], r["baseline"]
        print(
            f"{float(rate):>11.2f}{r['days']:>6}{r['episodes']:>9}{r['captures_per_day']:>11.1f}"
            f"{r['dismissed_as_ectopy_per_day']:>12.1f}{c['sensitivity']:>12.3f}{c['false_alarms_per_day']:>8.2f}"
            f"{c['false_alarms_per_day_max']:>11.2f}{b['sensitivity']:>10.3f}{b['false_alarms_per_day']:>10.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
