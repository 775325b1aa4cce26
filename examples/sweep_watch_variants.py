"""Which compressed watch screener keeps the alerts, and what does it buy in battery?

    python examples/sweep_watch_variants.py [--seeds 20] [--duration 24h] [--backend local]

Sweeps the watch's heart-rate screener variant over the same wearer days (one seed = one
day: activities, arrhythmia episodes, sensor noise) and prints, per variant, the mean and
95 % confidence interval of the watch's battery life, the cascade's sensitivity, false
alarms and time to alert. Every variant sees the same seeds, so each is also compared with
FP32 day by day (paired differences), which removes the day-to-day spread.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.cards import find_card  # noqa: E402
from simulator.sweep import estimate, run_sweep  # noqa: E402
from simulator.sweep.stats import format_estimate  # noqa: E402

SCENARIO = ROOT / "scenarios" / "health_escalation.yaml"
VARIANT_KEY = "devices.watch.models.hr_screener"
VARIANTS = ("fp32", "int8", "pruned50", "distilled", "sparse75")
HEADLINES = (
    ("battery life h", None),
    ("health.sensitivity", "sensitivity"),
    ("health.false_alarms_per_day", "false alarms/day"),
    ("health.median_time_to_alert_s", "time to alert s"),
)


def battery_life_h(row: dict) -> float | None:
    """Hours a full watch battery lasts at this day's average drain."""
    used_pct = row["devices.watch.battery_start_pct"] - row["devices.watch.battery_end_pct"]
    return row["sim_time_s"] / 3600.0 * 100.0 / used_pct if used_pct > 0 else None


def value(row: dict, metric: str) -> float | None:
    return battery_life_h(row) if metric == "battery life h" else row.get(metric)


def sweep(seeds: int, duration: str, backend: str, workers: int | None, variants: list[str], out: str | None):
    """The sweep's table: every variant × seeds 1…``seeds``, days of ``duration``."""
    grid = {VARIANT_KEY: variants, "duration": [duration]}
    return run_sweep(
        SCENARIO, grid, range(1, seeds + 1), backend=backend, workers=workers, out=out, progress=True
    )


def report(table) -> str:
    """Per variant: card size and accuracy, then mean ± 95 % CI of each headline metric;
    below, each variant minus FP32 on the same days."""
    by_variant = {}
    for point in table.points():
        by_variant[point[VARIANT_KEY]] = sorted(
            (r for r in table.ok if r[f"set:{VARIANT_KEY}"] == point[VARIANT_KEY]), key=lambda r: r["seed"]
        )
    names = [label or metric for metric, label in HEADLINES]
    lines = [
        f"Watch screener variant over {len(table.seeds)} wearer days each ({len(table.ok)} runs ok, "
        f"{len(table.failed)} failed); mean ± 95 % CI (Student's t)",
        "",
        f"{'variant':<10}{'bytes':>7}{'held-out acc':>13}" + "".join(f"{n:>20}" for n in names),
    ]
    for variant, rows in by_variant.items():
        card = find_card("hr_screener", variant)
        cells = [format_estimate(estimate([value(r, m) for r in rows])) for m, _ in HEADLINES]
        lines.append(
            f"{variant:<10}{card.bytes:>7}{card.accuracy:>13.4f}" + "".join(f"{c:>20}" for c in cells)
        )
    base = {r["seed"]: r for r in by_variant.get("fp32", [])}
    if base:
        lines += ["", "paired with FP32 on the same days (variant − fp32):"]
        for variant, rows in by_variant.items():
            if variant == "fp32":
                continue
            cells = []
            for metric, _ in HEADLINES:
                pairs = [
                    (value(r, metric), value(base[r["seed"]], metric)) for r in rows if r["seed"] in base
                ]
                diffs = [a - b for a, b in pairs if a is not None and b is not None]
                cells.append(format_estimate(estimate(diffs)))
            lines.append(f"{variant:<30}" + "".join(f"{c:>20}" for c in cells))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="wearer days per variant (seeds 1…N)")
    parser.add_argument("--duration", default="24h", help="length of each day (default 24h)")
    parser.add_argument("--backend", default="local", choices=("local", "serial", "ray"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated screener variants")
    parser.add_argument("--out", default=None, help="sweep folder to write (and resume)")
    args = parser.parse_args()
    table = sweep(args.seeds, args.duration, args.backend, args.workers, args.variants.split(","), args.out)
    print(report(table))
    return 1 if table.failed else 0


if __name__ == "__main__":  # the process pool spawns workers that import this file
    sys.exit(main())
