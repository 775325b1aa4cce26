"""Generated homes: a scenario dict with any number of devices (for benchmarks and stress tests).

``generate_home(n_devices, seed)`` lays out a household: wearers (a watch and a phone each,
with the health-escalation app), cameras, speakers and hubs on Wi-Fi, hubs and phones on
WAN to one cloud; plus a scheduled life (link outages, devices off and on, charging) drawn
from ``seed``. The dict goes to ``Simulation.from_dict``; the same arguments give the same
scenario.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def generate_home(
    n_devices: int = 50,
    seed: int = 0,
    duration: str = "24h",
    wearers: int | None = None,
    health_app: bool = True,
    outages: int | None = None,
) -> dict[str, Any]:
    """A scenario dict with ``n_devices`` devices (at least 3: one wearer and the cloud)."""
    if n_devices < 3:
        raise ValueError(f"n_devices: need at least 3 (a watch, a phone and the cloud), got {n_devices}")
    rng = np.random.default_rng(seed)
    n_wearers = wearers if wearers is not None else max(1, min(8, (n_devices - 1) // 6))
    n_wearers = max(1, min(n_wearers, (n_devices - 1) // 2))
    rest = n_devices - 1 - 2 * n_wearers
    n_hubs = max(1 if rest else 0, round(rest * 0.15))
    n_cameras = round((rest - n_hubs) * 0.55)
    n_speakers = rest - n_hubs - n_cameras

    devices: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    apps: list[dict[str, Any]] = []

    def place(ring: float, k: int, n: int, jitter: float = 0.08) -> list[float]:
        a = 2 * math.pi * (k + 0.5) / max(1, n) + rng.uniform(-jitter, jitter)
        return [round(ring * math.cos(a), 3), round(ring * math.sin(a), 3)]

    devices.append({"name": "cloud", "profile": "cloud", "position": [0.0, -3.2]})
    hubs = [f"hub{k}" for k in range(n_hubs)]
    for k, name in enumerate(hubs):
        devices.append({"name": name, "profile": "home_hub", "position": place(1.0, k, n_hubs)})
        links.append({"name": f"{name}-cloud", "type": "wan", "a": name, "b": "cloud"})
    for k in range(n_wearers):
        watch, phone = f"watch{k}", f"phone{k}"
        pw = place(2.6, k, n_wearers, 0.0)
        pp = place(2.0, k, n_wearers, 0.0)
        devices.append(
            {"name": watch, "profile": "smartwatch", "position": pw, "models": {"hr_screener": "fp32"}}
        )
        devices.append(
            {
                "name": phone,
                "profile": "phone",
                "position": pp,
                "battery": {"state_of_charge": round(float(rng.uniform(0.5, 1.0)), 3)},
                "models": {"ecg_verifier": "int8"},
            }
        )
        links.append({"name": f"{watch}-{phone}", "type": "ble", "a": watch, "b": phone})
        links.append({"name": f"{phone}-cloud", "type": "wan", "a": phone, "b": "cloud"})
        if health_app:
            apps.append(
                {
                    "type": "health_escalation",
                    "name": f"health{k}",
                    "params": {
                        "watch": watch,
                        "phone": phone,
                        "cloud": "cloud",
                        "episodes": int(rng.integers(3, 9)),
                    },
                }
            )
    others = [("camera", f"camera{k}") for k in range(n_cameras)] + [
        ("speaker", f"speaker{k}") for k in range(n_speakers)
    ]
    for k, (profile, name) in enumerate(others):
        devices.append({"name": name, "profile": profile, "position": place(1.55, k, len(others))})
        if hubs:
            links.append({"name": f"{name}-wifi", "type": "wifi", "a": name, "b": hubs[k % len(hubs)]})

    events: list[dict[str, Any]] = []
    hours = _hours(duration)
    n_outages = outages if outages is not None else max(2, n_devices // 3)
    for _ in range(n_outages):
        link = links[int(rng.integers(len(links)))]["name"]
        start = float(rng.uniform(0.2, hours - 0.5))
        length = float(rng.uniform(0.1, 1.0))
        events.append(
            {
                "at": f"{start:.3f}h",
                "type": "link_down",
                "link": link,
                "until": f"{min(hours, start + length):.3f}h",
                "reason": "out of range",
            }
        )
    switchable = [d["name"] for d in devices if d["profile"] in ("camera", "speaker")]
    for name in switchable[: max(1, len(switchable) // 4)]:
        start = float(rng.uniform(0.5, hours - 1.0))
        events.append(
            {"at": f"{start:.3f}h", "type": "device_off", "device": name, "until": f"{start + 0.75:.3f}h"}
        )
    for k in range(n_wearers):
        events.append(
            {
                "at": "0h",
                "type": "charge_start",
                "device": f"phone{k}",
                "until": f"{float(rng.uniform(5.5, 7.5)):.3f}h",
            }
        )
    return {
        "name": f"Generated home ({n_devices} devices)",
        "description": (
            f"A generated household of {n_devices} devices: {n_wearers} wearers (watch + phone, health "
            f"escalation), {n_cameras} cameras, {n_speakers} speakers, {n_hubs} hubs and the cloud; "
            "random link outages and devices switched off."
        ),
        "duration": duration,
        "seed": int(seed),
        "devices": devices,
        "links": links,
        "events": events,
        "apps": apps,
    }


def _hours(duration: str) -> float:
    text = str(duration).strip()
    if text.endswith("h"):
        return float(text[:-1])
    if text.endswith("d"):
        return 24.0 * float(text[:-1])
    return float(text) / 3600.0
