"""``sweep`` (a scenario over a grid of overrides × seeds) and ``compare`` (runs side by side).

Importing this module is light: the sweep package, ray and the GUI load inside the commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXAMPLE = (
    "example: python main.py sweep health_escalation "
    "--set devices.watch.models.hr_screener=fp32,int8 --seeds 1-20"
)


def _out_dir(scenario: Path, grid: dict, seeds: list[int]) -> Path:
    """Default folder: one per scenario, grid and seeds, so the same command resumes."""
    import hashlib

    digest = hashlib.sha1(json.dumps([grid, seeds], sort_keys=True).encode()).hexdigest()[:8]
    return Path("runs") / f"sweep-{scenario.stem}-{digest}"


def _patterns(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def cmd_sweep(args: argparse.Namespace) -> int:
    from cli.core import _resolve_scenario
    from simulator.sweep import parse_grid, parse_seeds, run_sweep

    scenario = _resolve_scenario(args.scenario)
    grid = parse_grid(args.set or [])
    seeds = parse_seeds(args.seeds)
    out = Path(args.out) if args.out else _out_dir(scenario, grid, seeds)
    try:
        table = run_sweep(
            scenario,
            grid,
            seeds,
            backend=args.backend,
            workers=args.workers,
            address=args.address,
            out=out,
            progress=not args.quiet,
            traces=args.traces,
        )
    except KeyboardInterrupt:
        done = sum(1 for _ in open(out / "runs.jsonl")) if (out / "runs.jsonl").exists() else 0
        print(f"\n  {done} runs are in {out}; the same command resumes from there", file=sys.stderr)
        raise
    if args.json:
        print(json.dumps(table.stats(_patterns(args.metrics)), indent=2))
    else:
        print()
        print(table.format_stats(_patterns(args.metrics)))
        print(f"\n  wrote {out / 'runs.csv'}, {out / 'runs.jsonl'} and {out / 'stats.csv'}")
    return 1 if table.failed else 0


def cmd_compare(args: argparse.Namespace) -> int:
    from simulator.sweep.compare import columns, format_comparison

    cols = columns(args.dirs)  # checks every folder before anything opens
    if args.gui or args.screenshot:
        from ui.compare import run_compare_gui

        return run_compare_gui(args.dirs, device=args.device, screenshot=args.screenshot)
    if args.json:
        names = {name for col in cols for name in col.values}
        data = [{"label": c.label, "n": c.n, "values": c.values, "ci95_half": c.half_widths} for c in cols]
        print(json.dumps({"metrics": sorted(names), "columns": data}, indent=2))
        return 0
    print(format_comparison(cols, _patterns(args.metrics), args.changed))
    return 0


def register(subparsers) -> None:
    """Add ``sweep`` and ``compare`` to the CLI."""
    sweep = subparsers.add_parser(
        "sweep",
        help="run a scenario over a grid of overrides × seeds; mean and 95 %% CI per grid point",
        description="Run SCENARIO for every combination of --set values and every seed. Rows go "
        "to DIR/runs.csv and DIR/runs.jsonl as runs finish; a sweep run again on the same DIR "
        "skips the runs already done. Exit code 1 if a run failed (its error is in its row), "
        "2 on bad input (before any run).",
        epilog=EXAMPLE,
    )
    sweep.add_argument("scenario", help="scenario file or name (see `list`)")
    sweep.add_argument(
        "--set",
        action="append",
        metavar="KEY=V1,V2",
        help="a dotted scenario path and its values, e.g. apps.health.params.flag_threshold=0.4,0.5 (repeatable)",
    )
    sweep.add_argument("--seeds", default="1-10", help="seeds: 1-20, 7 or 1,2,5 (default 1-10)")
    sweep.add_argument(
        "--backend",
        choices=("local", "serial", "ray"),
        default="local",
        help="where runs run (default local)",
    )
    sweep.add_argument(
        "--address", default=None, help="Ray cluster address to attach to (with --backend ray)"
    )
    sweep.add_argument("--workers", type=int, default=None, help="parallel runs (default: CPU count)")
    sweep.add_argument("--out", default=None, help="sweep folder (default runs/sweep-<scenario>-<grid hash>)")
    sweep.add_argument("--traces", action="store_true", help="also write each run's summary and trace")
    sweep.add_argument(
        "--metrics", default=None, help="metrics to tabulate, globs: 'health.*,devices.watch.*'"
    )
    sweep.add_argument("--json", action="store_true", help="print the statistics as JSON")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(func=cmd_sweep)

    compare = subparsers.add_parser(
        "compare",
        help="metrics of runs side by side with differences (run or sweep folders); --gui to plot",
        description="Compare run folders (main.py run --out) and sweep folders (one column per grid "
        "point). --gui overlays their battery, power and latency plots.",
    )
    compare.add_argument("dirs", nargs="+", metavar="DIR", help="run folders or sweep folders")
    compare.add_argument("--metrics", default=None, help="metrics to show, globs: 'health.*'")
    compare.add_argument("--changed", action="store_true", help="only metrics that differ")
    compare.add_argument("--json", action="store_true", help="print the columns as JSON")
    compare.add_argument("--gui", action="store_true", help="open the comparison window")
    compare.add_argument("--device", default=None, help="device plotted first in the window (default: watch)")
    compare.add_argument("--screenshot", default=None, help="save the window as PNG and exit")
    compare.set_defaults(func=cmd_compare)
