"""The suggestion scenario as a dict: N homes, each a phone (the federated client), a
speaker and, in most homes, a watch and a car head unit; one cloud.

``suggestion_homes(n_homes, seed)`` lays the homes on a sunflower disc around the cloud;
per home the phone reaches the cloud over home Wi-Fi/broadband, the speaker over the home
Wi-Fi, the watch and the car over BLE. ``scenarios/home_suggestions.yaml`` is its 50-home
output: ``python -m simulator.apps.home_suggestions.homes 50 > scenarios/home_suggestions.yaml``.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import yaml

GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))  # a sunflower spiral: even spacing at any N

DESCRIPTION = (
    "Fifty homes learn what to suggest, and when, without their events leaving home. Each "
    "home's phone trains a shared recommender overnight on the charger (only item factors "
    "travel; the members' own factors stay on the phone), then hands the speaker, the watch "
    "and the car their slice of the profile. At a moment of context (home, commute, gym, "
    "evening) the device that serves the member ranks ten suggestions from its cached "
    "slice in well under a millisecond; the trace scores them against what the member "
    "really used in that held-out week."
)
NARRATION = [
    {
        "at": 0,
        "text": "18:00 on a Monday. Fifty homes: a phone, a speaker, most a watch and a car. The "
        "devices hold an untrained profile, so this evening's suggestions are near random.",
    },
    {
        "on": "round_start",
        "text": "Phones are charging on home Wi-Fi: the cloud starts a federated round. Selected "
        "phones train on their home's three weeks of events; only item-factor updates travel.",
    },
    {
        "on": "slice_synced",
        "text": "A phone pushed a profile slice to a home device: the speaker gets scenes, "
        "playlists and reminders; the car and watch get what they can show on the move.",
    },
    {
        "on": "round_end",
        "text": "The cloud averaged the updates: the suggestions panel plots the held-out "
        "hit-rate@10 per round against the most-popular baseline.",
    },
]
DEFAULT_PARAMS: dict[str, Any] = {
    "server": "cloud",
    "clients": "phone*",
    "strategy": "fedadam",
    "server_lr": 0.05,
    "rounds": 140,
    "clients_per_round": 10,
    "round_interval": "20min",
    "deadline": "2min",
    "local_epochs": 2,
    "batch_size": 32,
    "lr": 0.3,
    "compression": "int8",
    "dropout": 0.05,
    "away_fraction": 0.0,
    "catalogue": "home_v1",
    "factor_dim": 8,
    "items": 240,
    "weeks": 4,
    "blur_m": 500.0,
}


def suggestion_homes(
    n_homes: int = 50,
    seed: int = 11,
    duration: str = "7d",
    watch_share: float = 0.6,
    car_share: float = 0.7,
    app_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The scenario dict (see the module docstring); ``app_params`` override the app's."""
    if n_homes < 1:
        raise ValueError(f"n_homes: need at least 1 home, got {n_homes}")
    rng = np.random.default_rng([seed, 0x5A])
    devices: list[dict[str, Any]] = [{"name": "cloud", "profile": "cloud", "position": [0.0, 0.0]}]
    links: list[dict[str, Any]] = []
    for k in range(n_homes):
        suffix = f"{k:02d}"
        radius, angle = math.sqrt(k + 4.0) * 1.3, k * GOLDEN_ANGLE

        def at(offset: float, turn: float, radius: float = radius, angle: float = angle) -> list[float]:
            return [
                round((radius + offset) * math.cos(angle + turn), 3),
                round((radius + offset) * math.sin(angle + turn), 3),
            ]

        phone = f"phone{suffix}"
        devices.append(
            {
                "name": phone,
                "profile": "phone",
                "position": at(0.0, 0.0),
                "battery": {"state_of_charge": round(float(rng.uniform(0.4, 0.9)), 3)},
            }
        )
        devices.append({"name": f"speaker{suffix}", "profile": "speaker", "position": at(0.5, 0.08)})
        links.append(
            {
                "name": f"{phone}-cloud",
                "type": "wifi",
                "a": phone,
                "b": "cloud",
                "bandwidth_bps": round(float(np.exp(rng.uniform(np.log(5e6), np.log(5e7)))), -5),
            }
        )
        links.append(
            {"name": f"{phone}-speaker{suffix}", "type": "wifi", "a": phone, "b": f"speaker{suffix}"}
        )
        if rng.random() < watch_share:
            devices.append(
                {
                    "name": f"watch{suffix}",
                    "profile": "smartwatch",
                    "position": at(0.5, -0.08),
                    "battery": {"state_of_charge": round(float(rng.uniform(0.5, 0.9)), 3)},
                }
            )
            links.append({"name": f"{phone}-watch{suffix}", "type": "ble", "a": phone, "b": f"watch{suffix}"})
        if rng.random() < car_share:
            devices.append({"name": f"car{suffix}", "profile": "car_head_unit", "position": at(0.9, 0.0)})
            links.append({"name": f"{phone}-car{suffix}", "type": "ble", "a": phone, "b": f"car{suffix}"})
    return {
        "name": f"Home suggestions ({n_homes} homes)",
        "description": DESCRIPTION if n_homes == 50 else DESCRIPTION.replace("Fifty", f"{n_homes:,}"),
        "duration": duration,
        "seed": seed,
        "devices": devices,
        "links": links,
        "events": [],
        "apps": [
            {
                "type": "home_suggestions",
                "name": "home_suggestions",
                "params": {**DEFAULT_PARAMS, **(app_params or {})},
            }
        ],
        "narration": NARRATION if n_homes == 50 else [],
    }


def main(argv: list[str]) -> None:
    n_homes = int(argv[0]) if argv else 50
    header = f"# Generated by `python -m simulator.apps.home_suggestions.homes {n_homes}` (simulator/apps/home_suggestions/homes.py).\n"
    sys.stdout.write(
        header + yaml.safe_dump(suggestion_homes(n_homes), sort_keys=False, width=100, allow_unicode=True)
    )


if __name__ == "__main__":
    main(sys.argv[1:])
