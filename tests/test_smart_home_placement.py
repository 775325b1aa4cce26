"""Placement in the smart-home chains: without it the shipped night is what it was; with it
each placed input leaves a ``Placed`` record and its layers run where the policy says (heads,
tails and the input on the right devices, the chain going on from the result), the RL agent
loads as a policy, saved traces load, runs are deterministic, and a bad placement exits 2
naming the field. The module's runs share one cache folder of their own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.apps.smart_home import ChainHop, ChainStage, Placed, Truth
from simulator.engine import Simulation
from simulator.placement.policies import SHIPPED_AGENT
from simulator.trace import Inference, Message, Trace
from simulator.validate import SpecError, read_yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "smart_home.yaml"
STRESSED = ROOT / "scenarios" / "smart_home_stressed.yaml"
DATA = Path(__file__).resolve().parent / "data"
# A short evening (18:00-19:00): the doorbell joins at 18:05, nobody home at first.
SHORT = {
    "duration": "60min",
    "events": [{"at": "5min", "type": "device_join", "device": "doorbell", "reason": "installed"}],
    "apps.home.params.pets_at_door_per_hour": 3.0,
    "apps.home.params.pets_per_hour": 6.0,
}
INDOOR_DETECT = "apps.home.params.chains.indoor.stages.0.placement"
DOOR_DETECT = "apps.home.params.chains.doorbell.stages.0.placement"


@pytest.fixture(scope="module", autouse=True)
def own_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOMETWIN_CACHE", str(tmp_path_factory.mktemp("hometwin-cache")))
        yield


def evening(**placements) -> Simulation:
    return Simulation.from_file(SCENARIO, overrides={**SHORT, **placements}).run()


def test_the_shipped_night_without_placement_is_the_night_from_before_placement():
    """Summary of scenarios/smart_home.yaml stored before phase B touched the app."""
    summary = Simulation.from_file(SCENARIO).run().summary()
    summary.pop("wall_s")
    summary["home"].pop("wall_model_s")
    expected = json.loads((DATA / "smart_home_reference_summary.json").read_text())
    assert json.loads(json.dumps(summary)) == expected
    assert "placement" not in summary["home"]


def test_offloading_the_input_runs_the_detector_on_the_hub_and_the_hub_confirms_without_a_payload():
    sim = evening(**{INDOOR_DETECT: {"policy": "offload", "to": "hub", "boundary": "int8"}})
    placed = [r for r in sim.trace.of(Placed) if r.source == "camera"]
    detects = [r for r in sim.trace.of(ChainStage) if r.chain == "indoor" and r.stage == "detect"]
    assert placed and len(placed) == len(detects)
    assert {(r.split, r.tail_device, r.sink, r.status) for r in placed} == {(0, "hub", "hub", "ok")}
    assert all(r.sent_bytes == 3 * 64 * 64 + 8 for r in placed)  # the int8 frame and its scale
    on_camera = [r for r in sim.trace.of(Inference) if r.device == "camera" and r.model == "camera_detector"]
    assert not on_camera  # no layer ran on the camera
    assert all("input to hub" in r.detail for r in detects)
    # the hub already holds the frame: a confirm after an offloaded detect needs no payload hop
    confirms = [r for r in sim.trace.of(ChainStage) if r.chain == "indoor" and r.stage == "confirm"]
    assert confirms and all(r.device == "hub" for r in confirms)
    assert not [h for h in sim.trace.of(ChainHop) if h.chain == "indoor" and h.stage_to == "confirm"]
    metrics = sim.summary()["home"]["placement"]["indoor/detect"]
    assert metrics["requests"] == len(placed) and metrics["offloaded_pct"] == 100.0
    assert metrics["splits"] == {"0": len(placed)} and metrics["battery_j"] == 0.0


def test_a_split_runs_the_head_on_the_camera_the_tail_on_the_hub_and_the_frame_follows():
    sim = evening(**{INDOOR_DETECT: {"policy": "split", "to": "hub", "split": 4}})
    placed = [r for r in sim.trace.of(Placed) if r.source == "camera"]
    assert placed and {(r.split, r.n_layers, r.tail_device) for r in placed} == {(4, 9, "hub")}
    runs = [r for r in sim.trace.of(Inference) if r.model == "camera_detector" and "[" in r.variant]
    heads = [r for r in runs if r.device == "camera"]
    tails = [r for r in runs if r.device == "hub"]
    assert len(heads) == len(tails) == len(placed)
    assert {r.variant for r in heads} == {"mixed[0:4]"} and {r.variant for r in tails} == {"mixed[4:9]"}
    # the frame is still on the camera, which did not see the result: the hub tells it, then
    # it sends the frame for the confirm
    hops = [h for h in sim.trace.of(ChainHop) if h.chain == "indoor" and h.stage_to == "confirm"]
    confirms = [r for r in sim.trace.of(ChainStage) if r.chain == "indoor" and r.stage == "confirm"]
    assert confirms  # nobody is home in the first hour: the hub confirms
    assert [(h.src, h.dst, h.size_bytes) for h in hops[:2]] == [
        ("hub", "camera", 16),
        ("camera", "hub", 12288),
    ]


def test_a_result_goes_around_a_down_link_to_where_the_chain_goes_on():
    # nobody is home at first and the phone is away: the hub's confirm must reach the phone,
    # whose Wi-Fi is down, so its result travels hub → cloud → phone (LTE)
    sim = evening(**{"apps.home.params.chains.indoor.stages.1.placement": {"policy": "local"}})
    placed = [r for r in sim.trace.of(Placed) if r.source == "hub"]
    assert placed and {(r.sink, r.tail_device, r.status) for r in placed} == {("phone", "hub", "ok")}
    assert all(r.met for r in placed)
    results = [m for m in sim.trace.of(Message) if m.msg_kind == "result"]
    assert {(m.src, m.dst) for m in results} == {("hub", "cloud"), ("cloud", "phone")}
    notify = [r for r in sim.trace.of(ChainStage) if r.chain == "indoor" and r.stage == "notify"]
    assert notify and all(r.outcome == "action" for r in notify)


def test_placed_energy_is_what_the_chain_metrics_count():
    sim = evening(**{DOOR_DETECT: {"policy": "offload", "to": "hub", "boundary": "int8"}})
    home = sim.summary()["home"]
    placement = home["placement"]["doorbell/detect"]
    assert placement["requests"] > 5 and placement["tail_devices"].get("hub", 0) > 0
    chain = home["chains"]["doorbell"]["energy_j_by_device"]
    # the doorbell's share: radio bits of the frames it sent (and any layers it ran)
    assert placement["energy_j_by_device"]["doorbell"] == pytest.approx(placement["battery_j"], rel=1e-6)
    assert chain["doorbell"] >= placement["energy_j_by_device"]["doorbell"]
    assert chain["hub"] >= placement["energy_j_by_device"]["hub"] > 0


def test_rl_without_an_agent_file_loads_the_shipped_agent_and_places(tmp_path):
    sim = evening(**{DOOR_DETECT: {"policy": "rl", "boundary": "int8"}})
    placed = [r for r in sim.trace.of(Placed) if r.source == "doorbell"]
    assert placed and {r.policy for r in placed} == {"rl"}
    assert sim.apps[0].placements[("doorbell", "detect")]["agent"] == str(SHIPPED_AGENT)
    path = tmp_path / "trace.jsonl.gz"
    sim.trace.save(path)
    loaded = Trace.load(path)
    assert loaded.of(Placed) == sim.trace.of(Placed)
    meta = loaded.meta["chains"]["home"][0]["stages"][0]
    assert meta["placement"]["policy"] == "rl" and "agent" not in meta["placement"]


def test_same_seed_same_trace_with_placement():
    placement = {INDOOR_DETECT: {"policy": "min_latency"}, DOOR_DETECT: {"policy": "battery_aware"}}
    a, b = evening(**placement), evening(**placement)
    assert a.trace.records == b.trace.records


def test_the_stressed_home_has_four_cameras_and_places_their_detectors():
    sim = Simulation.from_file(STRESSED, overrides={"duration": "40min"}).run()
    cameras = {r.where for r in sim.trace.of(Truth) if r.kind not in ("command", "tv", "noise")}
    assert {"doorbell", "porch", "camera", "hallway"} <= cameras
    placed = sim.summary()["home"]["placement"]
    assert set(placed) == {"doorbell/detect", "porch/detect", "indoor/detect", "hallway/detect"}
    assert placed["doorbell/detect"]["offloaded_pct"] == 0.0  # the weak link: its int8 model stays
    assert placed["indoor/detect"]["offloaded_pct"] > 90.0  # FP32 on the camera: the hub is faster
    assert sim.devices["doorbell"].state_of_charge < 0.15


# -- bad placements name the field ---------------------------------------------------------
def _error(placement, stage=0, chain=0) -> str:
    raw = read_yaml(SCENARIO)
    raw["apps"][0]["params"]["chains"][chain]["stages"][stage]["placement"] = placement
    with pytest.raises(SpecError) as error:
        Simulation.from_dict(raw, source="x.yaml")
    return str(error.value)


@pytest.mark.parametrize(
    ("placement", "stage", "chain", "field", "words"),
    [
        ({"policy": "fastest"}, 0, 0, "stages[0].placement.policy", "unknown placement policy 'fastest'"),
        ({"policy": "split", "to": "hub", "split": 10}, 0, 0, "stages[0].placement.split", "between 0 and 9"),
        ({"policy": "offload", "to": "garage"}, 0, 1, "stages[0].placement.to", "unknown device 'garage'"),
        ({"policy": "local"}, 2, 0, "stages[2].placement", "only a model stage"),
        ({"policy": "local"}, 0, 4, "stages[0].placement", "timer stage"),
        ({"policy": "rl", "agent": "nowhere.zip"}, 0, 0, "stages[0].placement.agent", "file not found"),
    ],
)
def test_bad_placement_names_the_field(placement, stage, chain, field, words):
    message = _error(placement, stage, chain)
    assert message.startswith(f"x.yaml, apps[0].params.chains[{chain}].{field}"), message
    assert words in message


@pytest.mark.parametrize(
    ("placement", "expected"),
    [
        ("{policy: fastest}", "chains[0].stages[0].placement.policy: unknown placement policy 'fastest'"),
        (
            "{policy: split, to: hub, split: 12}",
            "chains[0].stages[0].placement.split: must be between 0 and 9 for camera_detector (9 layers), got 12",
        ),
    ],
)
def test_cli_exits_2_on_a_bad_placement(tmp_path, placement, expected):
    anchor = "deadline: 200ms}"
    text = SCENARIO.read_text().replace(anchor, f"deadline: 200ms, placement: {placement}}}", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "run", str(bad), "--quiet", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert not (tmp_path / "out").exists()
