"""The same sweep on a local Ray instance gives the same rows as serially; the CLI's
``--address`` attaches to that running instance and changes nothing else.

Skipped (with the reason) only where Ray cannot start a local instance."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.sweep import comparable, load_table, run_sweep

ray = pytest.importorskip("ray", reason="ray is not installed")

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "health_escalation.yaml"
GRID = {"devices.watch.models.hr_screener": ["fp32", "int8"], "duration": ["2h"]}
SEEDS = [1, 2]


@pytest.fixture(scope="module")
def local_ray():
    try:
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            logging_level="ERROR",
            runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
        )
    except Exception as exc:  # any failure to start is the reason to skip, said as it is
        pytest.skip(f"a local Ray instance could not start here: {type(exc).__name__}: {exc}")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def serial_rows():
    return [comparable(r) for r in run_sweep(SCENARIO, GRID, SEEDS, backend="serial")]


def test_ray_rows_equal_serial_rows(local_ray, serial_rows, tmp_path):
    table = run_sweep(SCENARIO, GRID, SEEDS, backend="ray", out=tmp_path / "ray")
    assert len(table) == 4 and all(r["status"] == "ok" for r in table)
    assert [comparable(r) for r in table] == serial_rows
    assert table.timing["workers"] >= 1


def test_cli_attaches_to_a_running_cluster_with_address(local_ray, serial_rows, tmp_path):
    out = tmp_path / "attached"
    argv = [sys.executable, "main.py", "sweep", str(SCENARIO), "--backend", "ray", "--address", local_ray]
    argv += ["--set", "devices.watch.models.hr_screener=fp32,int8", "--set", "duration=2h"]
    argv += ["--seeds", "1-2", "--out", str(out), "--quiet"]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "4 runs (4 ok)" in result.stdout
    assert [comparable(r) for r in load_table(out)] == serial_rows
