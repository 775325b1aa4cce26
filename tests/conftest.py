"""Shared test set-up. GUI tests run offscreen; nothing here imports Qt."""

from __future__ import annotations

import os

import pytest

# GUI tests (tests/test_ui_*.py) draw offscreen; harmless for every other test.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TINY_SCENARIO = """\
name: Tiny house
description: A watch, a phone and the cloud with an outage; no apps (GUI tests).
duration: 6h
seed: 3
devices:
  - {name: watch, profile: smartwatch, position: [-1, 0]}
  - {name: phone, profile: phone, position: [0, 0]}
  - {name: cloud, profile: cloud, position: [1, 0]}
links:
  - {name: watch-phone, type: ble, a: watch, b: phone}
  - {name: phone-cloud, type: wan, a: phone, b: cloud}
events:
  - {at: "1h", type: link_down, link: watch-phone, until: "2h", reason: out of range}
  - {at: "3h", type: device_off, device: phone, until: "3.5h"}
narration:
  - {at: 600, text: "Ten minutes in: the watch idles."}
  - {at: 5400, text: "The phone is out of BLE range."}
"""


@pytest.fixture
def tiny_scenario(tmp_path):
    """A small valid scenario file that needs no trained models."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SCENARIO)
    return path


def make_synthetic_trace(n_watch: int = 1, hours: float = 6.0):
    """A hand-built health-escalation trace (no simulator needed): chains watch → phone → cloud."""
    from simulator.apps.health_escalation import Activity, Episode, Escalation
    from simulator.trace import (
        BatterySample,
        DeviceState,
        Inference,
        LinkState,
        Message,
        Narration,
        PowerState,
        Trace,
    )

    duration = hours * 3600.0
    devices = {"phone": {"kind": "phone", "capacity_wh": 12.98, "position": [0, 0], "models": []}}
    devices["cloud"] = {"kind": "cloud", "capacity_wh": None, "position": [1, 0], "models": []}
    links = {"phone-cloud": {"type": "wan", "a": "phone", "b": "cloud"}}
    for k in range(n_watch):
        devices[f"watch{k}"] = {
            "kind": "watch",
            "capacity_wh": 1.6,
            "position": [-1, k],
            "models": [{"model": "hr_screener", "variant": "fp32"}],
        }
        links[f"watch{k}-phone"] = {"type": "ble", "a": f"watch{k}", "b": "phone"}
    trace = Trace(
        {
            "scenario": "Synthetic",
            "sim_time_s": duration,
            "devices": devices,
            "links": links,
            "apps": [{"type": "health_escalation", "name": "health"}],
        }
    )
    rows = []
    for name in devices:
        rows.append(PowerState(0.0, name, "idle", 0.05))
        rows.append(BatterySample(0.0, name, 1.0, 0.0))
    rows.append(Activity(0.0, "health", "sleep"))
    rows.append(Narration(1200.0, "First flag coming."))
    msg_id = 0
    for k in range(n_watch):
        w = f"watch{k}"
        for step in range(int(duration // 600)):
            t = step * 600.0 + 5 * k
            rows.append(Inference(t, w, "hr_screener", "fp32", 1, t + 0.02, 0.001, "normal", 0.1))
            soc = max(0.0, 1.0 - t / duration * 0.5)
            rows.append(PowerState(t, w, "active", 0.2))
            rows.append(PowerState(t + 0.02, w, "idle", 0.05))
            rows.append(BatterySample(t + 0.02, w, soc, t * 0.05))
            if step % 6 == 3:
                ep = step
                rows.append(Episode(t - 100, "health", t + 900, "afib", ep))
                rows.append(Escalation(t + 1, "health", w, "watch_flag", ep, "suspicious", ""))
                msg_id += 1
                rows.append(
                    Message(t + 2, w, "phone", f"{w}-phone", "ecg", 24000, t + 4, "delivered", 1, msg_id)
                )
                rows.append(Inference(t + 4, "phone", "ecg_verifier", "int8", 3, t + 4.5, 0.01, "afib", 0.9))
                rows.append(Escalation(t + 4.5, "health", "phone", "phone_confirm", ep, "afib", ""))
                msg_id += 1
                rows.append(
                    Message(
                        t + 5, "phone", "cloud", "phone-cloud", "alert", 900, t + 5.5, "delivered", 1, msg_id
                    )
                )
                rows.append(Escalation(t + 5.5, "health", "cloud", "doctor_alert", ep, "afib", ""))
    rows.append(LinkState(2 * 3600.0, "watch0-phone", False, "out of range"))
    rows.append(LinkState(2.5 * 3600.0, "watch0-phone", True, "back"))
    rows.append(DeviceState(4 * 3600.0, "phone", False, "depleted"))
    rows.append(PowerState(4 * 3600.0, "phone", "off", 0.0))
    rows.sort(key=lambda r: r.t)
    for r in rows:
        trace.append(r)
    return trace


@pytest.fixture
def synthetic_trace():
    return make_synthetic_trace()
