"""Bad scenarios and profiles end with one clear message naming the file and the field."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from simulator.profiles import load_profile
from simulator.scenario import ScenarioError, list_scenarios, load_scenario
from simulator.validate import SpecError, read_yaml

ROOT = Path(__file__).resolve().parents[1]
GOOD = {
    "name": "t",
    "duration": "1h",
    "devices": [{"name": "watch", "profile": "smartwatch"}, {"name": "phone", "profile": "phone"}],
    "links": [{"type": "ble", "a": "watch", "b": "phone"}],
}


def write(tmp_path, data, name="s.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def with_change(path_value):
    data = json.loads(json.dumps(GOOD))
    node = data
    *parents, last = path_value[0]
    for key in parents:
        node = node[key]
    node[last] = path_value[1]
    return data


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            (["devices", 0, "battery"], {"capacity_wh": -5}),
            "devices[0].battery.capacity_wh: must be > 0, got -5",
        ),
        ((["devices", 0, "colour"], "red"), "devices[0].colour: unknown field"),
        ((["devices", 0, "profile"], "toaster"), "devices[0].profile: unknown device profile 'toaster'"),
        ((["duration"], "soon"), "duration: expected a duration"),
        ((["links", 0, "b"], "fridge"), "links[0].b: unknown device 'fridge'"),
        ((["links", 0, "loss"], 1.5), "links[0].loss: must be ≤ 0.99, got 1.5"),
        ((["links", 0, "type"], "zigbee"), "links[0].type: must be one of ble, wifi, wan"),
        ((["seed"], "abc"), "seed: expected an integer, got 'abc'"),
        ((["devices", 1, "name"], "watch"), "devices[1].name: duplicate device name 'watch'"),
        (
            (["devices", 0, "battery"], {"state_of_charge": 2}),
            "devices[0].battery.state_of_charge: must be ≤ 1",
        ),
    ],
)
def test_invalid_scenarios_name_file_and_field(tmp_path, change, expected):
    path = write(tmp_path, with_change(change))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message


def test_missing_required_field_and_bad_yaml(tmp_path):
    data = dict(GOOD)
    del data["devices"]
    with pytest.raises(ScenarioError, match="devices: required field is missing"):
        load_scenario(write(tmp_path, data))
    with pytest.raises(ScenarioError, match=r"line \d+ column \d+: invalid YAML"):
        load_scenario(write(tmp_path, "name: x\nduration: [1h\n"))
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_events_must_target_known_things(tmp_path):
    data = dict(GOOD, events=[{"at": "10min", "type": "link_down", "link": "nope"}])
    with pytest.raises(ScenarioError, match=r"events\[0\].link: unknown link 'nope'"):
        load_scenario(write(tmp_path, data))
    data = dict(GOOD, events=[{"at": "10min", "type": "device_off", "device": "watch", "until": "5min"}])
    with pytest.raises(ScenarioError, match=r"events\[0\].until: must be after at"):
        load_scenario(write(tmp_path, data))


def test_user_profile_file_is_loaded_and_validated(tmp_path):
    good = read_yaml(ROOT / "simulator/profiles/smartwatch.yaml")
    good["name"] = "my_watch"
    good["battery"]["capacity_wh"] = 0.5
    profile_file = write(tmp_path, good, "my_watch.yaml")
    profile = load_profile(profile_file)
    assert profile.name == "my_watch" and profile.battery["capacity_wh"] == 0.5
    scenario = dict(
        GOOD, devices=[{"name": "watch", "profile": "my_watch.yaml"}, {"name": "phone", "profile": "phone"}]
    )
    spec = load_scenario(write(tmp_path, scenario))
    assert spec["devices"][0]["profile_path"] == str(profile_file)

    bad = dict(good)
    bad["battery"] = dict(good["battery"], capacity_wh="big")
    with pytest.raises(SpecError, match=r"bad_watch.yaml, battery.capacity_wh: expected a number, got 'big'"):
        load_profile(write(tmp_path, bad, "bad_watch.yaml"))
    del bad["power_states"]["idle"]
    bad["battery"]["capacity_wh"] = 1.0
    with pytest.raises(SpecError, match="power_states.idle: required state is missing"):
        load_profile(write(tmp_path, bad, "bad_watch2.yaml"))


def test_overrides_apply_by_name_and_are_validated(tmp_path):
    path = write(tmp_path, GOOD)
    spec = load_scenario(
        path, overrides={"devices.watch.battery.capacity_wh": 0.7, "links.watch-phone.loss": 0.2}
    )
    assert spec["devices"][0]["battery"]["capacity_wh"] == 0.7
    assert spec["links"][0]["loss"] == 0.2
    with pytest.raises(ScenarioError, match="must be > 0"):
        load_scenario(path, overrides={"devices.watch.battery.capacity_wh": 0})
    with pytest.raises(ScenarioError, match="no element named 'toaster'"):
        load_scenario(path, overrides={"devices.toaster.state": "idle"})


def test_shipped_scenarios_are_valid():
    found = list_scenarios()
    assert any(p.stem == "health_escalation" for p, _, _ in found)
    for path, name, description in found:
        assert name and description
        load_scenario(path)


def run_cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_cli_bad_scenario_exits_2_and_writes_nothing(tmp_path):
    path = write(tmp_path, with_change((["devices", 0, "battery"], {"capacity_wh": -5})))
    out = tmp_path / "out"
    result = run_cli("run", str(path), "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}, devices[0].battery.capacity_wh: must be > 0, got -5" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
    assert not any(p.name.startswith(".hometwin") for p in tmp_path.iterdir())


def test_cli_estimate_json_and_bad_profile():
    result = run_cli(
        "estimate",
        "--device",
        "smartwatch",
        "--macs",
        "1e6",
        "--weight-bytes",
        "20000",
        "--precision",
        "int8",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"latency_s", "energy_j", "fits_memory"}
    assert data["fits_memory"] is True and data["latency_s"] > 0
    bad = run_cli("estimate", "--device", "toaster", "--macs", "1", "--weight-bytes", "1")
    assert (
        bad.returncode == 2
        and "unknown device profile 'toaster'" in bad.stderr
        and "Traceback" not in bad.stderr
    )
