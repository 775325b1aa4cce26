"""CLI wall time: how long a user waits for ``python main.py …`` to answer.

Each command runs in a fresh interpreter (as a user types it); the table shows the median
of ``--repeats`` wall times (default 5), the exit code, and whether the command imported
torch or onnxruntime (from ``python -X importtime``, one extra run each).

    python bench/cli.py            a table
    python bench/cli.py --json     the same as JSON: {command: {median_s, runs_s, exit_code, heavy}}
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "onnxruntime")


def commands(out_dir: Path) -> dict[str, list[str]]:
    """Label -> argv after ``python main.py``; the last one runs the engine for scale."""
    return {
        "list": ["list"],
        "estimate": ["estimate", "--device", "smartwatch", "--macs", "2e6", "--weight-bytes", "3e4"],
        "bad profile": ["estimate", "--device", "toaster", "--macs", "1", "--weight-bytes", "1"],
        "unknown scenario": ["run", "no_such_scenario"],
        "--help": ["--help"],
        "models": ["models"],
        "models --json": ["models", "--json"],
        "run --until 1h": ["run", "health_escalation", "--until", "1h", "--quiet", "--out", str(out_dir)],
    }


def wall_s(argv: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "main.py", *argv], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start, result.returncode


def heavy_imports(argv: list[str]) -> list[str]:
    """Top-level packages among :data:`HEAVY` that the command imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "main.py", *argv],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    loaded = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    return [name for name in HEAVY if name in loaded]


def measure(repeats: int) -> dict[str, dict]:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, argv in commands(Path(tmp) / "run").items():
            runs = [wall_s(argv) for _ in range(repeats)]
            results[label] = {
                "median_s": statistics.median(t for t, _ in runs),
                "runs_s": [round(t, 3) for t, _ in runs],
                "exit_code": runs[-1][1],
                "heavy": heavy_imports(argv),
            }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args.repeats)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"python main.py …  (median of {args.repeats} fresh interpreters)\n")
    print(f"  {'command':<18} {'median s':>9} {'min s':>7} {'max s':>7} {'exit':>5}  loads")
    for label, r in results.items():
        loads = ", ".join(r["heavy"]) or "-"
        print(
            f"  {label:<18} {r['median_s']:>9.3f} {min(r['runs_s']):>7.3f} {max(r['runs_s']):>7.3f} "
            f"{r['exit_code']:>5}  {loads}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
