"""The command line: light commands never load torch or ONNX Runtime, bad input exits 2 with
one sentence and writes nothing, and ``run`` prints the device table and each app's table.

Wall time is measured by ``bench/cli.py``, not here: what is asserted is what makes it fast
(no heavy import), which does not depend on how busy the machine is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "health_escalation.yaml"
HEAVY = ("torch", "onnxruntime", "PySide6", "pyqtgraph")


def _bad_yaml(tmp_path: Path, name: str, old: str, new: str) -> str:
    text = SCENARIO.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return str(path)


def _main_py(args: list[str], cwd: Path) -> tuple[int, str, str, set[str]]:
    """Run ``python -X importtime main.py ARGS``: exit code, stdout, stderr without the
    import-time lines, and the top-level packages imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / "main.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    imported, messages = set(), []
    for line in result.stderr.splitlines():
        if line.startswith("import time:"):
            imported.add(line.rsplit("|", 1)[-1].strip().split(".")[0])
        else:
            messages.append(line)
    return result.returncode, result.stdout, "\n".join(messages), imported


LIGHT = {
    "list": ["list"],
    "estimate": ["estimate", "--device", "smartwatch", "--macs", "2e6", "--weight-bytes", "3e4"],
    "help": ["--help"],
    "models": ["models"],
    "models --json": ["models", "--json"],
    "recommend": ["recommend", "hr_screener", "--device", "smartwatch"],
}


@pytest.mark.parametrize("name", LIGHT)
def test_light_commands_answer_without_torch_or_onnxruntime(name, tmp_path):
    code, out, err, imported = _main_py(LIGHT[name], tmp_path)
    assert code == 0, err
    assert out.strip()
    assert not imported & set(HEAVY), f"`{name}` imported {sorted(imported & set(HEAVY))}"
    if name == "models --json":
        cards = json.loads(out)
        assert {c["model"] for c in cards} >= {"hr_screener", "ecg_verifier", "camera_detector"}


BAD = {
    "bad profile": (["estimate", "--device", "toaster", "--macs", "1", "--weight-bytes", "1"], "toaster"),
    "unknown scenario": (["run", "no_such_scenario"], "scenario 'no_such_scenario' not found"),
    "bad scenario field": (["run", "BAD_FIELD"], "bogus: unknown field"),
    "bad app param": (["run", "BAD_PARAM"], "apps[0].params.episodes"),
    "bad recommend device": (
        ["recommend", "hr_screener", "--device", "toaster"],
        "unknown --device 'toaster'",
    ),
    "unknown model": (["models", "predict", "toaster", "--input", "x.npy"], "unknown model 'toaster'"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input_exits_2_with_one_sentence_fast_and_writes_nothing(name, tmp_path):
    args, message = BAD[name]
    substitutions = {
        "BAD_FIELD": _bad_yaml(tmp_path, "field.yaml", "seed: 7\n", "seed: 7\nbogus: 1\n"),
        "BAD_PARAM": _bad_yaml(tmp_path, "param.yaml", "episodes: 8", "episodes: many"),
    }
    args = [substitutions.get(a, a) for a in args]
    work = tmp_path / "cwd"
    work.mkdir()
    code, out, err, imported = _main_py(args, work)
    assert code == 2
    assert message in err and err.startswith("error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert out == ""
    assert list(work.iterdir()) == [], "bad input must write nothing"
    assert not imported & set(HEAVY), f"`{name}` imported {sorted(imported & set(HEAVY))}"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "toaster"], "unknown train target 'toaster'"),
        (["estimate", "--device", "phone", "--macs", "-1", "--weight-bytes", "1"], "must be ≥ 0"),
    ],
)
def test_other_user_errors_exit_2(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_run_prints_the_device_table_and_each_apps_table(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code = cli_main(["run", str(SCENARIO), "--until", "30min", "--quiet", "--out", str(out_dir)])
    assert code == 0
    text = capsys.readouterr().out
    summary = json.loads((out_dir / "summary.json").read_text())
    assert "battery start" in text and all(f"  {device} " in text for device in summary["devices"])
    # the health app's own table (simulator/apps/health_escalation/table.py), headed by the app's name
    assert "  health " in text and "model cascade" in text and "HR>120 rule" in text
    assert f"escalations: watch_flag {summary['health']['escalations']['watch_flag']}" in text


def test_an_app_without_a_table_module_gets_its_scalar_metrics():
    from simulator.apps import app_table, app_tables
    from simulator.apps.health_escalation.table import table as health_table
    from simulator.apps.tables import generic_table

    assert app_table("health_escalation") is health_table
    assert app_table("no_such_app_type") is generic_table
    summary = {"lamp": {"switches": 3, "on_fraction": 0.25, "by_room": {"hall": 2}, "log": [1, 2]}}
    lines = app_tables(summary, [{"type": "no_such_app_type", "name": "lamp"}])
    text = "\n".join(lines)
    assert lines[0] == "" and "lamp" in lines[1]
    assert "switches" in text and "0.25" in text and "by_room.hall" in text and "log" not in text
    assert app_tables(summary, [{"type": "no_such_app_type", "name": "absent"}]) == []


def test_the_table_modules_import_no_qt():
    code = (
        "import sys, simulator.apps, simulator.apps.health_escalation.table; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'pyqtgraph', 'shiboken6'}); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compression_cards_get_devices_fit_from_the_function_the_caller_passes(tmp_path):
    """models/ cannot compute devices_fit (it never imports the simulator): the lab takes it
    from its caller (``python main.py compress`` passes simulator.recommend.devices_that_fit)."""
    import numpy as np
    import torch
    from torch import nn

    from models.compress import lab
    from models.compress.common import Splits
    from simulator.recommend import devices_that_fit

    x = np.zeros((4, 1, 8), np.float32)
    y = np.array([0, 1, 0, 1])
    source = lab.ModelSource(
        "toy", "toy", ("a", "b"), (1, 8), lambda: nn.Linear(8, 2), lambda: Splits(x, y, x, y, x, y)
    )
    artifact = tmp_path / "toy.pt"
    torch.save(nn.Linear(8, 2).state_dict(), artifact)
    evaluation = lab.Evaluation(1.0, {"a": 1.0, "b": 1.0}, 0.1, 1.0, np.zeros((4, 2)))

    def card_with(devices_fit):
        bench = lab.Workbench(source, nn.Linear(8, 2), tmp_path, devices_fit=devices_fit)
        return lab.make_card(
            bench,
            variant="fp32",
            float_module=nn.Sequential(nn.Flatten(), nn.Linear(8, 2)),
            artifact=artifact,
            runtime="torch",
            evaluation=evaluation,
            recipe="test",
            precision_per_layer={},
        )

    card = card_with(devices_that_fit)
    assert card.devices_fit == devices_that_fit(card) and "smartwatch" in card.devices_fit
    assert card_with(None).devices_fit == []
