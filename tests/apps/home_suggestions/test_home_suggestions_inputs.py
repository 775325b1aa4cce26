"""Bad input to the home-suggestions app: an unknown catalogue, a negative blur radius."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from simulator.apps.home_suggestions.homes import suggestion_homes
from simulator.engine import Simulation
from simulator.validate import SpecError

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [("catalogue", "shop_v9", "catalogue"), ("blur_m", -5.0, "blur_m")],
)
def test_bad_param_names_the_field(field, value, expected):
    spec = suggestion_homes(3, app_params={field: value, "clients_per_round": 2})
    with pytest.raises(SpecError, match=rf"apps\[0\]\.params\.{expected}"):
        Simulation.from_dict(spec)


def test_cli_exits_2_on_unknown_catalogue(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(suggestion_homes(3, app_params={"catalogue": "nope", "clients_per_round": 2}))
    )
    result = subprocess.run(
        [sys.executable, "main.py", "run", str(path), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "apps[0].params.catalogue" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
