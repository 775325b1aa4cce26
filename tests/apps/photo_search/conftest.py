"""Shared by the photo-search tests: a small scenario (two nights, ~400 photos) and its run."""

from __future__ import annotations

import copy

import pytest

from simulator.engine import Simulation

SMALL = {
    "name": "Small gallery",
    "description": "Two days, 300 library photos, a doorbell and the phone.",
    "duration": "40h",
    "seed": 5,
    "devices": [
        {
            "name": "phone",
            "profile": "phone",
            "position": [0, 0],
            "battery": {"state_of_charge": 0.5},
            "models": {"photo_image_encoder": "int8", "photo_text_encoder": "int8"},
        },
        {"name": "doorbell", "profile": "doorbell", "position": [1, 0], "state": "sleep"},
        {"name": "cloud", "profile": "cloud", "position": [-1, 0]},
    ],
    "links": [
        {"name": "doorbell-phone", "type": "wifi", "a": "doorbell", "b": "phone"},
        {"name": "phone-cloud", "type": "wan", "a": "phone", "b": "cloud"},
    ],
    "events": [
        {"at": "01:00", "type": "charge_start", "device": "phone", "until": "06:00"},
        {"at": "23:00", "type": "charge_start", "device": "phone", "until": "30:00"},
    ],
    "apps": [
        {
            "type": "photo_search",
            "name": "photos",
            "params": {
                "library": {"photos": 300},
                "sources": [
                    {"device": "doorbell", "rooms": ["porch", "garden"], "photos_per_day": 60},
                    {
                        "device": "phone",
                        "rooms": ["kitchen", "bedroom"],
                        "photos_per_day": 40,
                        "hours": ["08:00", "22:00"],
                    },
                ],
                "queries_per_day": 8,
                "query_times": ["00:30"],
            },
        }
    ],
}


def _run(raw: dict = SMALL, **overrides) -> Simulation:
    sim = Simulation.from_dict(copy.deepcopy(raw), overrides=overrides or None, source="small.yaml")
    sim.run()
    return sim


@pytest.fixture(scope="session")
def photo_run():
    """Run the small scenario with dotted-path overrides."""
    return _run


@pytest.fixture(scope="session")
def photo_small_raw() -> dict:
    return copy.deepcopy(SMALL)


@pytest.fixture(scope="session")
def small() -> Simulation:
    """The small scenario, run once for the session."""
    return _run()
