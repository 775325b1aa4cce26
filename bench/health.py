"""Health cascade vs the threshold rule over many simulated days (seeds), per watch model.

    python bench/health.py [--seeds 20] [--json]

Prints, for each watch screener variant, the pooled sensitivity, false alarms per day and
median time to alert of the model cascade and of the classic HR rule, and the watch's
battery at the end of the day.
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


def pooled(summaries: list[dict], key: str | None) -> dict:
    rows = [s["health"] if key is None else s["health"][key] for s in summaries]
    episodes = sum(r["episodes"] for r in rows)
    delays = [r["median_time_to_alert_s"] for r in rows if r["median_time_to_alert_s"] is not None]
    return {
        "days": len(rows),
        "episodes": episodes,
        "sensitivity": round(sum(r["detected"] for r in rows) / episodes, 4),
        "false_alarms_per_day": round(float(np.mean([r["false_alarms_per_day"] for r in rows])), 3),
        "median_time_to_alert_s": round(float(np.median(delays)), 1) if delays else None,
    }


def measure(seeds: int) -> dict:
    out = {}
    for variant in ("fp32", "int8"):
        summaries = []
        for seed in range(1, seeds + 1):
            sim = Simulation.from_file(
                HEALTH, seed=seed, overrides={"devices.watch.models.hr_screener": variant}
            )
            summaries.append(sim.run().summary())
        out[variant] = {
            "cascade": pooled(summaries, None),
            "baseline": pooled(summaries, "baseline"),
            "watch_battery_end_pct": round(
                float(np.mean([s["devices"]["watch"]["battery_end_pct"] for s in summaries])), 2
            ),
            "watch_energy_j": round(
                float(np.mean([s["devices"]["watch"]["energy_j"] for s in summaries])), 1
            ),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.seeds)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{'watch model':<12}{'detector':<12}{'days':>5}{'episodes':>9}{'sensitivity':>12}{'FA/day':>8}{'median TTA s':>13}{'watch end %':>12}"
    )
    for variant, res in result.items():
        for name in ("cascade", "baseline"):
            r = res[name]
            tta = "—" if r["median_time_to_alert_s"] is None else f"{r['median_time_to_alert_s']:.0f}"
            print(
                f"{variant:<12}{name:<12}{r['days']:>5}{r['episodes']:>9}{r['sensitivity']:>12.3f}"
                f"{r['false_alarms_per_day']:>8.2f}{tta:>13}{res['watch_battery_end_pct']:>12.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
