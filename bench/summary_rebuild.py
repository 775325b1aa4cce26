"""Does a saved trace give its own summary? For every shipped scenario (or those named):
run it with ``python main.py run``, rebuild the summary from the saved trace with
``python main.py summary``, and compare the two key by key (``wall_*`` keys left out:
host time is not in a trace).

    python bench/summary_rebuild.py [--out DIR] [scenarios/x.yaml ...]

Prints one row per scenario: records, summary keys compared, differing keys, and the wall
time of the run and of the rebuild (the rebuild reads the trace; it runs no model). Exit 1
when any summary differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.trace_identity import _flatten, _is_wall  # noqa: E402


def _main(*argv: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *argv], cwd=ROOT, capture_output=True, text=True
    )
    return time.perf_counter() - start, done


def compare(live: dict, rebuilt: dict) -> tuple[int, list[str]]:
    """(keys compared, keys that differ), ``wall_*`` keys left out on both sides."""
    a = {k: v for k, v in _flatten(live).items() if not _is_wall(k)}
    b = {k: v for k, v in _flatten(rebuilt).items() if not _is_wall(k)}
    return len(a), sorted(k for k in a.keys() | b.keys() if a.get(k, "∅") != b.get(k, "∅"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, help="keep the runs in this folder")
    args = parser.parse_args()
    scenarios = args.scenarios or sorted((ROOT / "scenarios").glob("*.yaml"))
    out = args.out or Path(tempfile.mkdtemp(prefix="hometwin-rebuild-"))
    print(f"{'scenario':28} {'records':>8} {'keys':>6} {'differ':>6} {'run s':>7} {'rebuild s':>9}")
    failed = False
    for scenario in scenarios:
        run_dir = out / scenario.stem
        run_s, done = _main("run", str(scenario), "--out", str(run_dir), "--quiet")
        if done.returncode != 0:
            print(f"{scenario.stem:28} run failed: {done.stderr.strip()[-200:]}")
            failed = True
            continue
        rebuilt_path = run_dir / "summary.rebuilt.json"
        rebuild_s, again = _main(
            "summary", str(run_dir / "trace.jsonl.gz"), "--out", str(rebuilt_path), "--json"
        )
        if again.returncode != 0:
            print(f"{scenario.stem:28} summary failed: {again.stderr.strip()[-200:]}")
            failed = True
            continue
        live = json.loads((run_dir / "summary.json").read_text())
        rebuilt = json.loads(rebuilt_path.read_text())
        n, differ = compare(live, rebuilt)
        failed |= bool(differ)
        print(
            f"{scenario.stem:28} {live['trace_records']:>8} {n:>6} {len(differ):>6} {run_s:>7.1f} {rebuild_s:>9.1f}"
        )
        for key in differ[:5]:
            print(f"    {key}: run {_flatten(live).get(key)!r} ≠ rebuilt {_flatten(rebuilt).get(key)!r}")
    print(f"\nruns in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
