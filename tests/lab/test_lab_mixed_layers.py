"""The layers ticked on the lab's sensitivity plot reach the mixed recipe (``fp32_layers``)."""

from __future__ import annotations

import shutil

from cli.core import main as cli_main
from models.cards import ARTIFACTS_DIR, ModelCard


def test_mixed_keeps_exactly_the_chosen_layers(tmp_path, capsys):
    root = tmp_path / "artifacts"
    shutil.copytree(ARTIFACTS_DIR / "hr_screener", root / "hr_screener")
    (root / "hr_screener" / "mixed.card.json").unlink()
    argv = ["compress", "hr_screener", "--recipe", "mixed", "--calib-size", "32", "--artifacts", str(root)]
    assert cli_main([*argv, "--fp32-layers", "nope"]) == 2
    assert "'nope' is not a layer of hr_screener" in capsys.readouterr().err
    assert not (root / "hr_screener" / "mixed.card.json").exists()
    assert cli_main([*argv, "--fp32-layers", "features.0.0"]) == 0
    card = ModelCard.load(root / "hr_screener" / "mixed.card.json")
    assert card.extra["fp32_layers"] == ["features.0.0"]
    assert {k for k, v in card.precision_per_layer.items() if v == "fp32"} == {"features.0.0"}
    assert "FP32 kept for features.0.0" in card.recipe
