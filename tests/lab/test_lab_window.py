"""The model lab window, offscreen, on a temporary copy of the smallest model's artifacts."""

from __future__ import annotations

import shutil

import pytest

from models.cards import ARTIFACTS_DIR, ModelCard
from simulator.profiles import available_profiles

MODEL = "hr_screener"  # the smallest zoo model: 2.5k parameters


@pytest.fixture
def lab(qtbot, tmp_path):
    from ui.lab.window import LabWindow

    root = tmp_path / "artifacts"
    shutil.copytree(ARTIFACTS_DIR / MODEL, root / MODEL)
    window = LabWindow(root)
    qtbot.addWidget(window)
    window.show()
    return window


def _files(window) -> list[str]:
    return sorted(p.name for p in (window.root / MODEL).iterdir())


def test_models_come_from_one_list(lab, tmp_path):
    from ui.lab import lab_models

    assert lab_models(lab.root) == [MODEL]
    assert [lab.model_box.itemText(i) for i in range(lab.model_box.count())] == [MODEL]
    assert lab_models(tmp_path / "nowhere") == []


def test_bad_knob_is_a_message_and_writes_nothing(lab):
    before = _files(lab)
    lab.select(MODEL, "sparse")
    lab.set_knob("sparsity", "1.5")
    assert not lab.run_recipe()
    assert "sparsity: must be a number in [0, 1), got '1.5'" in lab.error.text()
    assert "Nothing was written" in lab.error.text()
    lab.set_knob("sparsity", "lots")
    assert not lab.run_recipe() and "got 'lots'" in lab.error.text()
    assert not lab.job.running and _files(lab) == before
    assert not list(lab.root.glob(".lab-staging-*"))


def test_recipe_runs_in_a_process_and_writes_a_real_variant(lab, qtbot):
    lab.select(MODEL, "ptq-minmax")
    lab.set_knob("calib_size", "32")
    progress = []
    lab.job.progress.connect(lambda fraction, _text: progress.append(fraction))
    with qtbot.waitSignal(lab.job.finished, timeout=240_000) as finished:
        assert lab.run_recipe()
        assert lab.job.running and not lab.run_button.isEnabled()
    result = finished.args[0]
    card = ModelCard.load(lab.root / MODEL / "ptq-minmax.card.json")
    assert card.precision == "int8" and "calib=random:32" in card.recipe
    assert (lab.root / MODEL / card.artifact).stat().st_size == card.bytes
    assert card.extra["dynamic_sparsity"]["macs_skippable"] > 0
    assert result["written"] == ["ptq-minmax.onnx", "ptq-minmax.card.json"]
    assert progress == sorted(progress) and progress[-1] >= 0.9
    # before → after: confusion matrices count every held-out sample once
    confusion = result["confusion"]
    assert sum(map(sum, confusion["after"])) == sum(map(sum, confusion["before"])) > 0
    assert lab.compare.confusion_after.rowCount() == len(card.classes)
    assert lab.compare.devices.rowCount() == len(available_profiles())
    assert lab.last_stall["ticks"] > 0 and lab.last_stall["p99_ms"] >= 0
    assert "stall p99" in lab.stall_label.text()
    assert not list(lab.root.glob(".lab-staging-*"))
    board_variants = {r["variant"] for r in lab.leaderboard.board["rows"]}
    assert "ptq-minmax" in board_variants


def test_cancel_leaves_the_folder_as_it_was(lab, qtbot):
    before = _files(lab)
    lab.select(MODEL, "sparse")
    lab.set_knob("epochs", "200")
    with qtbot.waitSignal(lab.job.progress, timeout=120_000):
        assert lab.run_recipe()
    with qtbot.waitSignal(lab.job.cancelled, timeout=10_000):
        lab.cancel_button.click()
    assert not lab.job.running and lab.run_button.isEnabled()
    assert _files(lab) == before
    assert not list(lab.root.glob(".lab-staging-*"))
    assert "Cancelled" in lab.status.text()


def test_variants_for_every_device_and_scenario_link(lab):
    rows = lab.make_variants()
    assert [r["device"] for r in rows] == available_profiles()
    assert all(r["choice"] for r in rows)  # the tiny model fits everywhere
    assert lab.variants.table.rowCount() == len(rows)
    from ui.lab.scenario_link import _override_for, open_whatif_with

    meta = {
        "devices": {"watch": {"models": [{"model": MODEL, "variant": "fp32"}]}},
        "chains": {
            "home": [
                {"name": "door", "stages": [{"id": "d", "model": "camera_detector", "trigger": "motion"}]}
            ]
        },
    }
    assert _override_for(meta, MODEL) == f"devices.watch.models.{MODEL}"
    assert _override_for(meta, "camera_detector") == "apps.home.params.chains.door.stages.0.variant"
    assert _override_for(meta, "gesture_imu") is None
    assert "scenarios load models from" in open_whatif_with(None, MODEL, "int8", lab.root)


def test_sensitivity_ticks_fill_the_fp32_layers_knob(lab):
    lab.select(MODEL, "mixed")
    layers = [r["layer"] for r in lab.sensitivity.rows]
    assert layers  # from the committed mixed card
    lab.sensitivity.set_chosen(layers[:1])
    assert lab.knob_values()["fp32_layers"] == layers[0]
