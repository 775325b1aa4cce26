"""The app contract: shipped results unchanged, apps namespaced, params checked at load,
a trace that grows (devices join and leave, models deploy), trace format versions."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from models.cards import find_card
from simulator.apps.health_escalation import Episode, Escalation
from simulator.engine import Simulation
from simulator.trace import (
    DeviceJoined,
    DeviceLeft,
    DeviceState,
    LinkState,
    Message,
    ModelDeployed,
    ModelRemoved,
    PowerState,
    Trace,
    TraceError,
)
from simulator.validate import SpecError, read_yaml

ROOT = Path(__file__).resolve().parents[1]
HEALTH = ROOT / "scenarios" / "health_escalation.yaml"
DATA = Path(__file__).resolve().parent / "data"


def test_shipped_health_scenario_equals_the_reference_from_before_the_app_contract():
    """Stored before the health app moved onto the contract (format 1): same records, same summary."""
    sim = Simulation.from_file(HEALTH).run()
    reference = Trace.load(DATA / "health_reference_trace.jsonl.gz")
    assert len(sim.trace) == len(reference)
    assert sim.trace.records == reference.records
    summary = sim.summary()
    summary.pop("wall_s")
    expected = json.loads((DATA / "health_reference_summary.json").read_text())
    assert json.loads(json.dumps(summary)) == expected
    assert "health" in summary and summary["health"]["detected"] == expected["health"]["detected"]


def _wearer(suffix: str) -> tuple[list[dict], list[dict]]:
    devices = [
        {"name": f"watch_{suffix}", "profile": "smartwatch", "models": {"hr_screener": "int8"}},
        {"name": f"phone_{suffix}", "profile": "phone", "models": {"ecg_verifier": "int8"}},
    ]
    links = [
        {"name": f"ble_{suffix}", "type": "ble", "a": f"watch_{suffix}", "b": f"phone_{suffix}"},
        {"name": f"wan_{suffix}", "type": "wan", "a": f"phone_{suffix}", "b": "cloud"},
    ]
    return devices, links


def _home(*wearers: str) -> dict:
    devices, links, apps = [{"name": "cloud", "profile": "cloud"}], [], []
    for who in wearers:
        d, link = _wearer(who)
        devices += d
        links += link
        apps.append(
            {
                "type": "health_escalation",
                "name": who,
                "params": {
                    "watch": f"watch_{who}",
                    "phone": f"phone_{who}",
                    "cloud": "cloud",
                    "episodes": 3,
                    "flag_threshold": 0.3,
                },
            }
        )
    return {"name": "home", "duration": "8h", "seed": 11, "devices": devices, "links": links, "apps": apps}


def _own_records(trace: Trace, who: str) -> list[tuple]:
    """Everything about one wearer: its app's records and its devices' and links' records,
    without message ids (trace-wide sequence numbers, unique across apps)."""
    devices = {f"watch_{who}", f"phone_{who}"}
    rows = []
    for r in trace.records:
        if getattr(r, "app", None) == who:
            rows.append(tuple(r))
        elif type(r) is Message:
            if r.link in (f"ble_{who}", f"wan_{who}"):
                rows.append(tuple(r)[:-1])
        elif getattr(r, "device", None) in devices or getattr(r, "link", None) in (
            f"ble_{who}",
            f"wan_{who}",
        ):
            rows.append(tuple(r))
    return rows


def test_two_health_apps_in_one_home_each_give_what_they_give_alone():
    alone = Simulation.from_dict(_home("alice")).run()
    together = Simulation.from_dict(_home("alice", "bob")).run()
    bob_alone = Simulation.from_dict(_home("bob")).run()
    for who, solo in (("alice", alone), ("bob", bob_alone)):
        mine = _own_records(solo.trace, who)
        assert any(type(r) is Escalation for r in solo.trace if getattr(r, "app", None) == who)
        assert _own_records(together.trace, who) == mine
        assert together.summary()[who] == solo.summary()[who]
    # Namespaced: the two wearers live different days (different RNG streams) and number
    # their own episodes from 0.
    episodes = {
        who: [(r.t, r.kind) for r in together.trace if type(r) is Episode and r.app == who]
        for who in ("alice", "bob")
    }
    assert episodes["alice"] != episodes["bob"]
    assert {r.episode for r in together.trace if type(r) is Episode and r.app == "bob"} == {0, 1, 2}


def test_app_names_must_be_unique_and_default_to_the_type():
    raw = _home("alice", "bob")
    raw["apps"][1]["name"] = "alice"
    with pytest.raises(SpecError, match=r"apps\[1\]\.name: duplicate app name 'alice'"):
        Simulation.from_dict(raw)
    raw = _home("alice")
    del raw["apps"][0]["name"]
    sim = Simulation.from_dict(raw)
    assert sim.apps[0].name == "health_escalation"
    assert [(a["type"], a["name"]) for a in sim.trace.meta["apps"]] == [
        ("health_escalation", "health_escalation")
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("screen_period_s", "often", r"apps\[0\]\.params\.screen_period_s: expected a duration"),
        ("flag_threshold", "high", r"apps\[0\]\.params\.flag_threshold: expected a number"),
        ("watch", "fridge", r"apps\[0\]\.params\.watch: unknown device 'fridge'"),
        ("episodes", -2, r"apps\[0\]\.params\.episodes: expected a count"),
        ("nonsense", 1, r"apps\[0\]\.params\.nonsense: unknown field"),
    ],
)
def test_bad_app_params_are_caught_when_the_scenario_loads(field, value, message):
    raw = _home("alice")
    raw["apps"][0]["params"][field] = value
    with pytest.raises(SpecError, match=message):
        Simulation.from_dict(raw)


def test_cli_app_param_of_the_wrong_type_exits_2_before_the_run_starts(tmp_path):
    raw = read_yaml(HEALTH)
    raw["apps"][0]["params"]["screen_period_s"] = [1, 2]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    code = (
        "import sys, main; rc = main.main(sys.argv[1:]); "
        "heavy = [m for m in ('torch', 'onnxruntime') if m in sys.modules]; "
        "print('heavy:', heavy); sys.exit(rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "run", str(bad), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"{bad}, apps[0].params.screen_period_s: expected a duration" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert "heavy: []" in result.stdout  # rejected before any model was loaded


def test_unknown_app_type_names_the_field():
    raw = _home("alice")
    raw["apps"][0]["type"] = "toaster"
    with pytest.raises(SpecError, match=r"apps\[0\]\.type: unknown app 'toaster' \(expected one of: "):
        Simulation.from_dict(raw)


def _joining_home() -> dict:
    return {
        "name": "join",
        "duration": "3h",
        "seed": 1,
        "devices": [
            {"name": "hub", "profile": "home_hub"},
            {"name": "phone", "profile": "phone"},
            {"name": "guest", "profile": "phone", "battery": {"state_of_charge": 0.5}},
        ],
        "links": [
            {"name": "hub-phone", "type": "wifi", "a": "hub", "b": "phone"},
            {"name": "hub-guest", "type": "wifi", "a": "hub", "b": "guest"},
        ],
        "events": [
            {"at": "1h", "type": "device_join", "device": "guest", "until": "2h", "reason": "guest arrives"}
        ],
    }


def test_a_device_joins_and_leaves_as_trace_records():
    sim = Simulation.from_dict(_joining_home()).run()
    trace = sim.trace
    assert "guest" not in trace.meta["devices"] and "phone" in trace.meta["devices"]
    before = [r for r in trace.until(3599.0) if getattr(r, "device", None) == "guest"]
    assert before == []  # absent: draws nothing, records nothing
    joined = trace.of(DeviceJoined)
    assert [(r.t, r.device, r.kind, r.profile, r.reason) for r in joined] == [
        (3600.0, "guest", "phone", "phone", "guest arrives")
    ]
    assert joined[0].capacity_wh == pytest.approx(12.98, rel=0.05)
    assert [(r.t, r.device, r.reason) for r in trace.of(DeviceLeft)] == [
        (7200.0, "guest", "end of guest arrives")
    ]
    guest_link = [(r.t, r.up) for r in trace.of(LinkState) if r.link == "hub-guest"]
    assert guest_link == [(0.0, False), (3600.0, True), (7200.0, False)]
    on_off = [(r.t, r.on) for r in trace.of(DeviceState) if r.device == "guest"]
    assert on_off == [(3600.0, True), (7200.0, False)]
    powered = [r for r in trace.of(PowerState) if r.device == "guest"]
    assert powered[0].t == 3600.0 and powered[-1].power_w == 0.0
    # It drew energy only while in the home.
    assert sim.devices["guest"].energy_j == pytest.approx(
        sim.devices["guest"].profile.power_states_w["idle"] * 3600.0, rel=1e-9
    )


def test_deploys_and_removals_are_manifest_records():
    sim = Simulation.from_dict(_joining_home())
    guest = sim.devices["guest"]
    fp32, int8 = find_card("camera_detector", "fp32"), find_card("camera_detector", "ptq-minmax")

    def deploy():
        yield sim.env.timeout(4000.0)
        guest.deploy(fp32, app="home", serves="doorbell", reason="best accuracy that fits")
        yield sim.env.timeout(100.0)
        guest.deploy(int8, app="home", serves="doorbell", reason="link degraded")
        yield sim.env.timeout(100.0)
        guest.remove_model("camera_detector", "no longer needed")

    sim.env.process(deploy())
    sim.run()
    deployed = sim.trace.of(ModelDeployed)
    assert [(r.t, r.variant, r.size_bytes, r.serves) for r in deployed] == [
        (4000.0, "fp32", fp32.bytes, "doorbell"),
        (4100.0, "ptq-minmax", int8.bytes, "doorbell"),
    ]
    assert deployed[0].privacy == fp32.privacy_level and deployed[0].version == str(fp32.version)
    removed = sim.trace.of(ModelRemoved)
    assert [(r.t, r.variant, r.reason) for r in removed] == [
        (4100.0, "fp32", "replaced by ptq-minmax"),
        (4200.0, "ptq-minmax", "no longer needed"),
    ]
    assert "camera_detector" not in guest.models


def test_a_device_that_joins_brings_its_models_as_deploy_records():
    raw = _joining_home()
    raw["devices"][2]["models"] = {"keyword_spotter": "ptq-minmax"}
    sim = Simulation.from_dict(raw).run()
    assert [(r.t, r.device, r.model, r.variant) for r in sim.trace.of(ModelDeployed)] == [
        (3600.0, "guest", "keyword_spotter", "ptq-minmax")
    ]


def test_join_events_need_a_known_device():
    raw = _joining_home()
    raw["events"][0]["device"] = "ghost"
    with pytest.raises(SpecError, match=r"events\[0\]\.device: unknown device 'ghost'"):
        Simulation.from_dict(raw)


def test_a_format_1_trace_still_opens_and_an_unknown_format_is_named(tmp_path):
    # the shipped day as stored before the app contract (the 4-class verifier), format 1
    old = Trace.load(DATA / "health_format1_trace.jsonl.gz")
    with gzip.open(DATA / "health_format1_trace.jsonl.gz", "rt") as f:
        assert json.loads(f.readline())["format"] == "hometwin-trace/1"
    escalations = old.of(Escalation)
    assert escalations and {r.app for r in escalations} == {"health"}
    assert old.meta["apps"] == [{"type": "health_escalation", "name": "health"}]
    future = tmp_path / "future.jsonl.gz"
    with gzip.open(future, "wt") as f:
        f.write(json.dumps({"format": "hometwin-trace/9", "meta": {}}) + "\n")
    with pytest.raises(TraceError, match=r"format 'hometwin-trace/9'; expected hometwin-trace/2"):
        Trace.load(future)


def test_a_saved_trace_round_trips_app_and_growth_records(tmp_path):
    sim = Simulation.from_dict(_joining_home()).run()
    loaded = Trace.load(sim.trace.save(tmp_path / "t.jsonl.gz"))
    assert loaded.records == sim.trace.records


def test_a_link_bandwidth_of_zero_is_refused_at_load():
    raw = _joining_home()
    raw["links"][0]["bandwidth_bps"] = 0
    with pytest.raises(SpecError, match=r"links\[0\]\.bandwidth_bps: must be > 0, got 0"):
        Simulation.from_dict(raw)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_refuses_an_output_folder_under_a_file_before_running(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    result = _cli("run", str(HEALTH), "--until", "10min", "--quiet", "--out", str(blocker / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{blocker} is a file, not a folder" in result.stderr


def test_cli_estimate_refuses_a_batch_below_one():
    result = _cli("estimate", "--device", "phone", "--macs", "1", "--weight-bytes", "1", "--batch", "0")
    assert result.returncode == 2 and "--batch must be ≥ 1, got 0" in result.stderr


def test_a_drained_device_that_rejoins_stays_off():
    raw = _joining_home()
    raw["devices"][2]["battery"] = {"state_of_charge": 0.001, "capacity_wh": 0.01}
    raw["events"] = [
        {"at": "10min", "type": "device_join", "device": "guest"},
        {"at": "1h", "type": "device_leave", "device": "guest"},
        {"at": "2h", "type": "device_join", "device": "guest"},
    ]
    sim = Simulation.from_dict(raw).run()
    on_off = [(r.t, r.on, r.reason) for r in sim.trace.of(DeviceState) if r.device == "guest"]
    assert on_off[-1][1] is False  # depleted before leaving; the rejoin does not switch it on
    assert [r.t for r in sim.trace.of(DeviceJoined)] == [600.0, 7200.0]
    assert sim.devices["guest"].battery.empty and not sim.devices["guest"].on
