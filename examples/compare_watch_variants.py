"""What if the watch's screening model is INT8? Run the same day with each variant.

    python examples/compare_watch_variants.py [--until 24h] [--seed 7]

Same scenario, same seed: only the watch's model variant differs, so every difference in
the table comes from the model (its outputs and its device cost).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.engine import Simulation  # noqa: E402
from simulator.validate import parse_duration  # noqa: E402

SCENARIO = ROOT / "scenarios" / "health_escalation.yaml"


def compare(until_s: float | None = None, seed: int | None = None) -> dict[str, dict]:
    """Summaries of the day with the watch screener in FP32 and in INT8."""
    results = {}
    for variant in ("fp32", "int8"):
        sim = Simulation.from_file(
            SCENARIO, seed=seed, overrides={"devices.watch.models.hr_screener": variant}
        )
        sim.run(until=until_s)
        results[variant] = sim.summary()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--until", default=None, help="simulated duration, e.g. 6h (default: the whole day)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    results = compare(parse_duration(args.until) if args.until else None, args.seed)
    print(
        f"{'watch model':<12}{'battery end %':>14}{'watch energy J':>16}{'alerts':>8}{'sensitivity':>13}{'false alarms':>14}"
    )
    for variant, summary in results.items():
        watch = summary["devices"]["watch"]
        health = summary["health"]
        sensitivity = "—" if health["sensitivity"] is None else f"{health['sensitivity']:.2f}"
        print(
            f"{variant:<12}{watch['battery_end_pct']:>14.2f}{watch['energy_j']:>16.3f}"
            f"{health['alerts']:>8}{sensitivity:>13}{health['false_alarms']:>14}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
