"""A short device-lifecycle scenario (five days) for the app's tests: drift on day 1, a
targeted attack, a corrupted download and random flips on days 3, the new watch joins on
day 3.9 and the old one retires on day 4."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator.engine import Simulation

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = ROOT / "scenarios" / "device_lifecycle.yaml"


def short_spec(**params: Any) -> dict[str, Any]:
    """The shipped scenario cut to five days (windows every 2 min so that a day brings enough
    labelled windows to adapt on); ``params`` override the app's params."""
    spec = yaml.safe_load(SCENARIO.read_text())
    spec["duration"] = "5d"
    spec["narration"] = []
    spec["events"] = [{"at": "3.9d", "type": "device_join", "device": "watch2", "reason": "unboxed"}]
    app = spec["apps"][0]["params"]
    app.update(
        {
            "window_every_s": 120,
            "drifts": [{"device": "watch", "kind": "other_wrist", "day": 1.0}],
            "faults": [
                {"device": "watch", "kind": "targeted_flips", "day": 2.4, "bits": 20},
                {"device": "watch", "kind": "corrupt_download", "day": 2.5},
                {"device": "watch", "kind": "random_flips", "day": 2.6, "rate": 0.001},
            ],
            "migration": {"to": "watch2", "via": "hub", "retire_day": 4.0},
        }
    )
    app.update(copy.deepcopy(params))
    return spec


def short_sim(seed: int = 3, **params: Any) -> Simulation:
    return Simulation.from_dict(short_spec(**params), seed=seed)


@pytest.fixture(scope="session")
def lifecycle_run() -> Simulation:
    return short_sim().run()
