"""Bad input to the device-lifecycle app: every param, one bad value each, is a ``SpecError``
naming ``apps[0].params.<field>``; the CLI exits 2 with the field and no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, short_spec

from simulator.engine import Simulation
from simulator.validate import SpecError

DRIFT = {"device": "watch", "kind": "other_wrist", "day": 1.0}
FAULT = {"device": "watch", "kind": "random_flips", "day": 2.0}
MIGRATION = {"to": "watch2", "via": "hub", "retire_day": 4.0}

BAD = [
    ("model", "resnet50", "model"),
    ("watch", "phone", "watch"),  # the phone does not host the gesture model
    ("watch", "fridge", "watch"),
    ("phone", "fridge", "phone"),
    ("hub", "fridge", "hub"),
    ("wearer", 20, "wearer"),
    ("wake", "soon", "wake"),
    ("wake", "25:00", "wake"),
    ("bedtime", "06:00", "bedtime"),  # before wake
    ("window_every_s", 1, "window_every_s"),
    ("charge_start", -1, "charge_start"),
    ("charge_hours", 0.0, "charge_hours"),
    ("label_share", 1.5, "label_share"),
    ("buffer_windows", 4, "buffer_windows"),
    ("min_labelled", 2, "min_labelled"),
    ("min_labelled", 300, "min_labelled"),  # more than the buffer keeps
    ("heldout_share", 0.9, "heldout_share"),
    ("finetune_mode", "everything", "finetune_mode"),
    ("finetune_epochs", 0, "finetune_epochs"),
    ("finetune_lr", 0.0, "finetune_lr"),
    ("finetune_batch", 0, "finetune_batch"),
    ("training_memory_budget_bytes", 10, "training_memory_budget_bytes"),
    ("size_targets_bytes", {"watch": 0}, "size_targets_bytes"),
    ("size_targets_bytes", {"toaster": 1000}, "size_targets_bytes.toaster"),
    ("default_size_target_bytes", 0, "default_size_target_bytes"),
    ("detector_delta", 0.0, "detector_delta"),
    ("detector_min_drop", 2.0, "detector_min_drop"),
    ("guard", "sometimes", "guard"),
    ("anomaly_rate", -0.1, "anomaly_rate"),
    ("guard_window", 1, "guard_window"),
    ("hub_backup", "maybe", "hub_backup"),
    ("heldout_windows", 3, "heldout_windows"),
    ("drifts", [{**DRIFT, "device": "hub"}], r"drifts\[0\]\.device"),  # a drift on a device without the model
    ("drifts", [{**DRIFT, "kind": "earthquake"}], r"drifts\[0\]\.kind"),
    ("drifts", [{**DRIFT, "day": 9.0}], r"drifts\[0\]\.day"),  # after the end of the run
    ("drifts", [{**DRIFT, "severity": 0.0}], r"drifts\[0\]\.severity"),
    ("faults", [{**FAULT, "rate": 1.5}], r"faults\[0\]\.rate"),  # a fault rate outside [0, 1]
    ("faults", [{**FAULT, "kind": "gremlins"}], r"faults\[0\]\.kind"),
    ("faults", [{**FAULT, "device": "phone"}], r"faults\[0\]\.device"),
    ("faults", [{**FAULT, "day": -1.0}], r"faults\[0\]\.day"),
    ("faults", [{**FAULT, "kind": "targeted_flips", "bits": 0}], r"faults\[0\]\.bits"),
    ("migration", {**MIGRATION, "retire_day": 3.0}, r"migration\.retire_day"),  # before the join (3.9)
    ("migration", {**MIGRATION, "to": "watch"}, r"migration\.to"),
    ("migration", {**MIGRATION, "via": "fridge"}, r"migration\.via"),
    ("migration", {"to": "watch2"}, r"migration\.retire_day"),
]


@pytest.mark.parametrize(("field", "value", "expected"), BAD, ids=[f"{f}={v!r}" for f, v, _ in BAD])
def test_bad_param_names_the_field(field, value, expected):
    with pytest.raises(SpecError, match=rf"apps\[0\]\.params\.{expected}"):
        Simulation.from_dict(short_spec(**{field: value}))


def test_every_param_has_a_bad_input_case():
    from simulator.apps.device_lifecycle.params import PARAMS

    assert set(PARAMS) == {field for field, _, _ in BAD}


def test_cli_exits_2_on_a_retirement_before_the_join(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(short_spec(migration={**MIGRATION, "retire_day": 3.0})))
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "main.py", "run", str(path), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "apps[0].params.migration.retire_day" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert not out.exists()  # nothing half-written
