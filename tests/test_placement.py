"""Placement: costs of split placements, policies that behave as named, the scenario field."""

from __future__ import annotations

import dataclasses
import itertools
import math
import subprocess
import sys
from pathlib import Path

import pytest

from models.cards import find_card
from simulator.compute import estimate_card
from simulator.placement import (
    POLICIES,
    Placement,
    Request,
    check_placement,
    estimate,
    estimates,
    layer_table,
    make_policy,
)
from simulator.placement.cost import static_state
from simulator.placement.policies import AllOffload, FixedSplit
from simulator.profiles import load_profile
from simulator.validate import SpecError

ROOT = Path(__file__).resolve().parents[1]
CAMERA = find_card("camera_detector", "fp32")
TABLE = layer_table("camera_detector")


def home_state(bandwidth_bps: float = 2.0e7, up: bool = True, soc: float = 1.0):
    """A camera on Wi-Fi to the hub (figures of links.yaml but the bandwidth), the hub on WAN."""
    state = static_state(
        {"cam": "camera", "hub": "home_hub", "cloud": "cloud"},
        [
            ("cam-hub", "wifi", "cam", "hub", {"bandwidth_bps": bandwidth_bps}),
            ("hub-cloud", "wan", "hub", "cloud", {}),
        ],
        {"cam": soc},
    )
    if not up:
        state.links["cam-hub"] = dataclasses.replace(state.links["cam-hub"], up=False)
    return state


def camera_request(deadline_s: float = 0.1, boundary: str = "int8") -> Request:
    # the smart-home chain: a camera's result is needed on the hub
    return Request(
        0, 0.0, "cam", CAMERA, TABLE, deadline_s, sink="hub", targets=("hub", "cloud"), boundary=boundary
    )


def test_part_cards_add_up_to_the_card():
    n = TABLE.n_layers
    assert TABLE.part_card(CAMERA, 0, n) is CAMERA
    for k in range(1, n):
        head, tail = TABLE.part_card(CAMERA, 0, k), TABLE.part_card(CAMERA, k, n)
        assert head.macs + tail.macs == CAMERA.macs
        assert abs(head.bytes + tail.bytes - CAMERA.bytes) <= 1
        assert TABLE.part_card(CAMERA, 0, k) is head  # cached: devices cache costs by identity
    request = Request(0, 0.0, "cam", CAMERA, TABLE, 1.0, targets=("hub",))
    local = estimate(request, Placement("cam", n), home_state())
    whole = estimate_card(load_profile("camera"), CAMERA)
    assert local.latency_s == pytest.approx(whole.latency_s) and local.sent_bytes == 0
    assert local.energy_j == {"cam": pytest.approx(whole.energy_j)}


def test_offloading_costs_the_tensor_over_the_link():
    state = home_state(bandwidth_bps=1e6)
    request = camera_request(boundary="fp32")
    at0, at6 = (estimate(request, Placement("hub", k), state) for k in (0, 6))
    assert at0.sent_bytes == 3 * 64 * 64 * 4 and at6.sent_bytes == 64 * 4 * 4 * 4
    # 49 kB at 1 Mbps: about 0.4 s on the link, far more than the 4 kB after the pools
    assert at0.latency_s > 0.39 and at6.latency_s < 0.1
    assert at0.energy_j["cam"] == pytest.approx(at0.sent_bytes * 8 * 4.0e-8 / (1 - 0.005), rel=1e-6)
    int8 = estimate(camera_request(boundary="int8"), Placement("hub", 0), state)
    assert int8.sent_bytes == 3 * 64 * 64 + 8


def test_min_latency_offloads_a_big_model_on_fast_wifi_and_stays_local_on_a_down_link():
    policy = POLICIES["min_latency"]()
    request = camera_request()
    assert policy.place(request, home_state(bandwidth_bps=2e7)) == Placement("hub", 0)
    assert policy.place(request, home_state(up=False)) == Placement("cam", TABLE.n_layers)
    assert policy.place(request, home_state(bandwidth_bps=1e6)) == Placement("cam", TABLE.n_layers)


def test_min_energy_sends_the_input_when_radio_bits_are_cheaper_than_compute():
    request = camera_request()
    assert POLICIES["min_energy"]().place(request, home_state(bandwidth_bps=1e6)) == Placement("hub", 0)
    fp32 = camera_request(boundary="fp32")  # 4x the bits: local is cheaper
    assert POLICIES["min_energy"]().place(fp32, home_state(bandwidth_bps=1e6)).split == TABLE.n_layers


def test_battery_aware_shifts_from_latency_to_energy_as_the_battery_empties():
    policy = POLICIES["battery_aware"]()
    request = camera_request()
    slow_link = 6e6  # offloading is slower here, but cheaper for the camera's battery
    chosen = {}
    for soc in (1.0, 0.5, 0.1, 0.0):
        state = home_state(slow_link, soc=soc)
        chosen[soc] = estimate(request, policy.place(request, state), state)
    full, empty = home_state(slow_link, soc=1.0), home_state(slow_link, soc=0.0)
    assert chosen[1.0].placement == POLICIES["min_latency"]().place(request, full) == Placement("cam", 9)
    assert chosen[0.0].placement == POLICIES["min_energy"]().place(request, empty) == Placement("hub", 0)
    # in between: never faster and never hungrier than at a fuller battery
    socs = sorted(chosen, reverse=True)
    for fuller, emptier in itertools.pairwise(socs):
        assert chosen[emptier].latency_s >= chosen[fuller].latency_s
        assert chosen[emptier].battery_j <= chosen[fuller].battery_j
    # at 10 %: a mid-network split, nearly as frugal as sending the input and faster
    assert chosen[0.1].placement == Placement("hub", 2)


def test_deadline_aware_takes_the_cheapest_placement_that_meets_the_deadline():
    policy = POLICIES["deadline_aware"]()
    state = home_state(6e6)
    options = estimates(camera_request(), state)
    picked = []
    for deadline_ms in (100, 21, 19, 16, 14.5, 14.1, 1):
        request = camera_request(deadline_s=deadline_ms / 1e3)
        placed = estimate(request, policy.place(request, state), state)
        meeting = [e for e in options if e.latency_s <= request.deadline_s]
        if meeting:
            assert placed.latency_s <= request.deadline_s
            assert placed.battery_j == min(e.battery_j for e in meeting)
        else:  # nothing meets it: the fastest
            assert placed.latency_s == min(e.latency_s for e in options)
        picked.append(placed.placement)
    assert picked[0] == Placement("hub", 0) and picked[-1] == Placement("cam", 9)
    assert len(set(picked)) >= 4  # the split moves as the deadline tightens


def test_infeasible_placements_are_infinitely_slow():
    down = estimate(camera_request(), Placement("hub", 0), home_state(up=False))
    assert math.isinf(down.latency_s) and "down" in down.reason
    cloud = estimate(camera_request(), Placement("cloud", 0), home_state())
    assert math.isfinite(cloud.latency_s) and set(cloud.energy_j) == {"cam", "hub", "cloud"}


def test_fixed_policies_place_as_named():
    request = camera_request()
    state = home_state()
    assert POLICIES["local"]().place(request, state) == Placement("cam", 9)
    assert AllOffload("cloud").place(request, state) == Placement("cloud", 0)
    assert FixedSplit("hub", 4).place(request, state) == Placement("hub", 4)


# -- the scenario field -------------------------------------------------------------------
DEVICES = {"cam": "camera", "hub": "hub", "cloud": "cloud"}
WHERE = "apps[0].params.chains[0].stages[0].placement"


def check(raw, **kwargs):
    return check_placement(raw, "home.yaml", WHERE, DEVICES, TABLE.n_layers, "camera_detector", **kwargs)


def test_a_valid_placement_is_normalised():
    config = check({"policy": "min_latency"})
    assert config["targets"] == ["hub", "cloud"] and config["to"] == "hub" and config["boundary"] == "fp32"
    assert isinstance(make_policy(config), POLICIES["min_latency"])
    split = check({"policy": "split", "to": "cloud", "split": 3, "boundary": "int8"})
    assert make_policy(split).place(camera_request(), home_state()) == Placement("cloud", 3)


@pytest.mark.parametrize(
    "raw, field, words",
    [
        ({"policy": "fastest"}, "policy", "unknown placement policy 'fastest'"),
        (
            {"policy": "split", "to": "hub", "split": 12},
            "split",
            "between 0 and 9 for camera_detector (9 layers), got 12",
        ),
        ({"policy": "split", "to": "hub", "split": -1}, "split", "got -1"),
        ({"policy": "split", "to": "hub"}, "split", "needs a split index"),
        ({"policy": "min_latency", "split": 2}, "split", "only the split policy"),
        ({"policy": "offload", "to": "attic"}, "to", "unknown device 'attic'"),
        ({"policy": "min_energy", "targets": ["hub", "garage"]}, "targets[1]", "unknown device 'garage'"),
        ({"policy": "rl", "agent": "no/such/agent.zip"}, "agent", "file not found"),
        ({"policy": "local", "boundary": "int4"}, "boundary", "must be one of fp32, int8"),
        ({"policy": "local", "where": "hub"}, "where", "unknown field"),
    ],
)
def test_bad_placement_names_the_field(raw, field, words):
    with pytest.raises(SpecError) as error:
        check(raw)
    message = str(error.value)
    assert message.startswith(f"home.yaml, {WHERE}.{field}") and words in message, message


def test_importing_placement_loads_neither_torch_nor_gymnasium():
    code = (
        "import sys, simulator.placement, simulator.placement.home, simulator.placement.rl; "
        "bad = [m for m in ('torch', 'gymnasium', 'stable_baselines3') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
