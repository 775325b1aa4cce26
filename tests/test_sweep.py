"""Sweeps: the grid checked before any run, the same rows serially and on the process pool,
rows written as runs finish, resumed after a kill, a failing run recorded while the sweep
goes on, and the mean ± 95 % CI table; runs compared side by side.

Runs are 1 h health days (~30 ms each once the models are loaded)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cli import main as cli_main
from simulator.sweep import comparable, estimate, load_table, parse_grid, parse_seeds, run_sweep, t_quantile
from simulator.sweep.compare import columns, format_comparison, run_entries
from simulator.sweep.grid import expand
from simulator.sweep.worker import execute_run, warm
from simulator.validate import SpecError

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "health_escalation.yaml"
VARIANT = "devices.watch.models.hr_screener"
GRID = {VARIANT: ["fp32", "int8"], "duration": ["1h"]}


def _tiny_memory_watch(tmp_path: Path) -> Path:
    """A copy of the watch profile with 4 KB for models: the scenario loads, but building the
    health app fails (its screener needs ~15 KB), so the run fails after the grid check."""
    text = (ROOT / "simulator" / "profiles" / "smartwatch.yaml").read_text()
    assert "memory_bytes: 67108864" in text
    path = tmp_path / "tiny_watch.yaml"
    path.write_text(text.replace("memory_bytes: 67108864", "memory_bytes: 4096"))
    return path


# -- statistics ---------------------------------------------------------------------------
def test_t_quantile_matches_the_printed_tables():
    table = {1: 12.706, 2: 4.303, 4: 2.776, 9: 2.262, 19: 2.093, 29: 2.045, 120: 1.980, 10**6: 1.960}
    for df, value in table.items():
        assert t_quantile(0.975, df) == pytest.approx(value, abs=5e-4)
    assert t_quantile(0.025, 5) == pytest.approx(-t_quantile(0.975, 5))


def test_t_quantile_matches_scipy_where_installed():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 3, 7.5, 30, 200):
        for p in (0.6, 0.9, 0.975, 0.999):
            assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-8)


def test_the_95_percent_interval_covers_the_true_mean_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    covered = 0
    trials = 2000
    for _ in range(trials):
        est = estimate(list(rng.normal(3.0, 2.0, size=5)))
        covered += est.low <= 3.0 <= est.high
    assert 0.935 <= covered / trials <= 0.965


# -- the grid -----------------------------------------------------------------------------
def test_seeds_and_set_items_parse():
    assert parse_seeds("1-3,7,2") == [1, 2, 3, 7]
    assert parse_grid([f"{VARIANT}=fp32,int8", "apps.health.params.flag_threshold=0.4"]) == {
        VARIANT: ["fp32", "int8"],
        "apps.health.params.flag_threshold": [0.4],
    }
    assert parse_grid(["links.watch-phone.loss=1e-3,0.02", "duration=10:30"]) == {
        "links.watch-phone.loss": [0.001, 0.02],
        "duration": ["10:30"],  # a clock time, not YAML's base-60 number 630
    }
    for bad in ("1-", "3-1", "a"):
        with pytest.raises(SpecError, match="--seeds"):
            parse_seeds(bad)
    for bad in ("novalue", "=1", "seed=1,2", "k=1,,2"):
        with pytest.raises(SpecError, match="--set"):
            parse_grid([bad])


@pytest.mark.parametrize(
    "item, named",
    [
        ("apps.health.params.flag_thresh=0.4,0.5", "--set apps.health.params.flag_thresh=0.4"),
        ("apps.health.params.flag_threshold=0.5,1.4", "--set apps.health.params.flag_threshold=1.4"),
        (f"{VARIANT}=fp32,int9", f"--set {VARIANT}=int9"),
        ("devices.watchx.models.hr_screener=int8", "--set devices.watchx.models.hr_screener=int8"),
    ],
)
def test_a_bad_set_key_or_value_exits_2_naming_it_before_any_run(tmp_path, capsys, item, named):
    out = tmp_path / "sweep"
    code = cli_main(["sweep", str(SCENARIO), "--set", item, "--seeds", "1-3", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {named}: ")
    assert "Traceback" not in err
    assert not out.exists()  # nothing ran, nothing was written


# -- running ------------------------------------------------------------------------------
def test_serial_and_process_pool_rows_are_identical_and_written(tmp_path):
    serial = run_sweep(SCENARIO, GRID, seeds=[1, 2, 3], backend="serial", out=tmp_path / "serial")
    pool = run_sweep(SCENARIO, GRID, seeds=[1, 2, 3], backend="local", workers=2, out=tmp_path / "pool")
    assert len(serial) == 6 and all(r["status"] == "ok" for r in serial)
    assert pool.timing["workers"] == 2
    assert [comparable(r) for r in serial] == [comparable(r) for r in pool]
    # the seeds differ from one another, so identity is not trivial
    assert len({r["devices.watch.energy_j"] for r in serial}) > 1
    for folder in (tmp_path / "serial", tmp_path / "pool"):
        lines = (folder / "runs.jsonl").read_text().splitlines()
        assert [json.loads(line)["key"] for line in lines] == [r["key"] for r in serial]
        csv_lines = (folder / "runs.csv").read_text().splitlines()
        assert len(csv_lines) == 7 and csv_lines[0].startswith("run,key,seed,set:")
    assert [comparable(r) for r in load_table(tmp_path / "pool")] == [comparable(r) for r in serial]


def test_a_killed_worker_process_costs_a_retry_not_the_sweep():
    import multiprocessing

    killed: list[int] = []

    def kill_a_worker(row: dict) -> None:
        if not killed:
            worker = next(p for p in multiprocessing.active_children() if p.name.startswith("SpawnProcess"))
            os.kill(worker.pid, signal.SIGKILL)
            killed.append(worker.pid)

    seeds = [1, 2, 3, 4]
    table = run_sweep(SCENARIO, GRID, seeds, backend="local", workers=2, progress=kill_a_worker)
    assert killed and table.timing["workers"] >= 3  # a second pool took over
    reference = run_sweep(SCENARIO, GRID, seeds, backend="serial")
    assert [comparable(r) for r in table] == [comparable(r) for r in reference]


def test_models_are_loaded_once_per_worker_not_once_per_run():
    from models import runtime

    runs = expand(GRID, [1, 2])
    warm([("hr_screener", "fp32"), ("hr_screener", "int8"), ("ecg_verifier", "int8")])
    loaded = dict(runtime._cache)
    for run in runs:
        row, _ = execute_run(str(SCENARIO), run)
        assert row["status"] == "ok"
    assert runtime._cache.keys() == loaded.keys()
    assert all(runtime._cache[k] is loaded[k] for k in loaded)


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    tiny = _tiny_memory_watch(tmp_path)
    copy = tmp_path / "watch_copy.yaml"
    copy.write_text((ROOT / "simulator" / "profiles" / "smartwatch.yaml").read_text())
    out = tmp_path / "sweep"
    argv = ["sweep", str(SCENARIO), "--set", f"devices.watch.profile=smartwatch,{tiny},{copy}"]
    argv += ["--set", "duration=1h", "--seeds", "1-2", "--backend", "serial", "--out", str(out)]
    code = cli_main(argv)
    captured = capsys.readouterr()
    assert code == 1  # finished, with failures
    table = load_table(out)
    assert [r["status"] for r in table] == ["ok", "ok", "error", "error", "ok", "ok"]
    failed = table.failed[0]
    assert "devices.watch.models.hr_screener" in failed["error"] and "4096 B" in failed["error"]
    assert f"run {failed['run']} failed" in captured.err and "2 failed" in captured.out
    assert all(isinstance(r["health.sensitivity"], float) for r in table.ok)
    # the copy of the profile gives the same runs as the shipped one
    assert [comparable(r)["devices.watch.energy_j"] for r in table[:2]] == [
        comparable(r)["devices.watch.energy_j"] for r in table[4:]
    ]


def test_resume_after_a_killed_sweep_runs_only_what_is_missing(tmp_path):
    grid = {VARIANT: ["fp32", "int8"], "duration": ["6h"]}
    seeds = list(range(1, 7))
    reference = run_sweep(SCENARIO, grid, seeds, backend="serial")
    out = tmp_path / "sweep"
    argv = [sys.executable, "main.py", "sweep", str(SCENARIO), "--set", f"{VARIANT}=fp32,int8"]
    argv += ["--set", "duration=6h", "--seeds", "1-6", "--backend", "serial", "--out", str(out), "--quiet"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    jsonl = out / "runs.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if jsonl.exists() and jsonl.read_text().count("\n") >= 2:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=30)
    done_before = jsonl.read_text().count("\n")
    assert proc.returncode == -signal.SIGKILL and 2 <= done_before < 12
    with open(jsonl, "a") as f:
        f.write('{"run": "torn", "key": "{\\"overr')  # a row cut mid-write
    ran = []
    resumed = run_sweep(SCENARIO, grid, seeds, backend="serial", out=out, progress=ran.append)
    assert len(ran) == 12 - done_before
    assert [comparable(r) for r in resumed] == [comparable(r) for r in reference]
    assert len((out / "runs.jsonl").read_text().splitlines()) == 12  # compacted, torn line gone


def test_stats_table_is_mean_and_t_interval_per_grid_point(tmp_path):
    table = run_sweep(SCENARIO, GRID, seeds=[1, 2, 3, 4], backend="serial", out=tmp_path / "s")
    for point in table.points():
        values = np.array(table.values("devices.watch.energy_j", point), dtype=float)
        est = table.estimate("devices.watch.energy_j", point)
        half = t_quantile(0.975, 3) * values.std(ddof=1) / math.sqrt(4)
        assert est.mean == pytest.approx(values.mean()) and est.half_width == pytest.approx(half)
    text = table.format_stats(["devices.watch.energy_j", "health.*"])
    assert "hr_screener=fp32" in text and "hr_screener=int8" in text and "duration" not in text.split("\n")[3]
    line = next(x for x in text.splitlines() if x.strip().startswith("devices.watch.energy_j"))
    assert line.count("±") == 2
    stats_csv = (tmp_path / "s" / "stats.csv").read_text().splitlines()
    assert stats_csv[0].startswith("point,set:") and "ci95_low,ci95_high" in stats_csv[0]
    assert len(stats_csv) - 1 == 2 * len(table.metric_names())


# -- compare ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def traced_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "sweep"
    run_sweep(
        SCENARIO,
        {"apps.health.params.ecg_windows": [3, 6], "duration": ["2h"]},
        [1, 2],
        "serial",
        out=out,
        traces=True,
    )
    return out


def test_compare_prints_runs_side_by_side_with_differences(traced_sweep, capsys):
    a, b = sorted((traced_sweep / "runs").glob("seed1-*"))
    assert cli_main(["compare", str(a), str(b), "--changed"]) == 0
    out = capsys.readouterr().out
    energy = next(line for line in out.splitlines() if "health.escalation_energy_j.watch_ecg_capture" in line)
    first = json.loads((a / "summary.json").read_text())["health"]["escalation_energy_j"]["watch_ecg_capture"]
    second = json.loads((b / "summary.json").read_text())["health"]["escalation_energy_j"][
        "watch_ecg_capture"
    ]
    assert first != second and f"({100 * (second - first) / first:+.1f} %)" in energy
    cols = columns([traced_sweep])  # a sweep: one column per grid point, mean over seeds
    assert [c.n for c in cols] == [2, 2] and "ecg_windows=6" in cols[1].label
    assert "mean of 2 seeds" in format_comparison(cols)
    assert cli_main(["compare", str(a), str(traced_sweep / "nothing")]) == 2


def test_a_sweep_without_traces_is_simulated_again_for_plots(traced_sweep):
    entries = run_entries([traced_sweep])
    saved = entries[0].load_trace()
    again = type(entries[0])(entries[0].label, "", {}, None, entries[0].rerun).load_trace()
    assert len(saved) == len(again) > 0
    assert saved.records == again.records


def test_importing_the_sweep_and_its_cli_stays_light():
    code = (
        "import sys, cli.sweep, simulator.sweep, simulator.sweep.compare; "
        "bad = [m for m in ('ray', 'torch', 'onnxruntime', 'PySide6') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_example_answers_its_question_with_error_bars():
    argv = [sys.executable, "examples/sweep_watch_variants.py", "--seeds", "3", "--duration", "2h"]
    argv += ["--backend", "serial", "--variants", "fp32,sparse75"]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert "3 wearer days each (6 runs ok, 0 failed)" in lines[0]
    fp32 = next(line for line in lines if line.startswith("fp32 "))
    assert fp32.count("±") == 4 and "12213" in fp32  # the card's bytes beside the answers
    paired = lines[lines.index("paired with FP32 on the same days (variant − fp32):") + 1]
    assert paired.startswith("sparse75") and paired.count("±") == 4


def test_only_the_ray_backend_imports_ray():
    import ast

    importers = []
    for package in ("simulator", "models", "ui", "cli", "scenarios", "examples", "bench"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(name.split(".")[0] == "ray" for name in names):
                    importers.append(str(path.relative_to(ROOT)))
    assert sorted(set(importers)) == ["simulator/sweep/ray_backend.py"]


@pytest.mark.parametrize("argv", [["--help"], ["sweep", "--help"], ["compare", "--help"]])
def test_help_texts_print(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        cli_main(argv)
    assert stop.value.code == 0 and "sweep" in capsys.readouterr().out
