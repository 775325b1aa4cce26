"""What-if additions: a device (and its link) added to a scenario joins deterministically."""

import pytest

from simulator.engine import Simulation
from simulator.scenario import SpecError
from simulator.trace import DeviceJoined, DeviceLeft, LinkState

BASE = {
    "name": "extras",
    "duration": "3h",
    "seed": 3,
    "devices": [{"name": "watch", "profile": "smartwatch"}, {"name": "phone", "profile": "phone"}],
    "links": [{"name": "ble", "type": "ble", "a": "watch", "b": "phone"}],
}
HUB = [{"name": "hub", "profile": "home_hub", "position": [2, 0]}]
HUB_LINK = [{"type": "wifi", "a": "hub", "b": "phone"}]
HUB_EVENTS = [
    {"at": "1h", "type": "device_join", "device": "hub"},
    {"at": "2h", "type": "device_leave", "device": "hub"},
]


def test_an_added_device_joins_and_leaves_with_its_link_and_reruns_identically():
    runs = []
    for _ in range(2):
        sim = Simulation.from_dict(BASE, extra_devices=HUB, extra_links=HUB_LINK, extra_events=HUB_EVENTS)
        sim.run()
        runs.append(sim.trace.records)
    records = runs[0]
    assert runs[0] == runs[1]
    assert [
        (r.t, type(r))
        for r in records
        if getattr(r, "device", None) == "hub" and type(r) in (DeviceJoined, DeviceLeft)
    ] == [
        (3600.0, DeviceJoined),
        (7200.0, DeviceLeft),
    ]
    link = [(r.t, r.up) for r in records if type(r) is LinkState and r.link == "hub-phone"]
    assert link == [(0.0, False), (3600.0, True), (7200.0, False)]
    assert "hub" not in sim.trace.meta["devices"] and "hub-phone" in sim.trace.meta["links"]


def test_from_file_takes_the_same_additions(tmp_path):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(BASE))
    sim = Simulation.from_file(path, extra_devices=HUB, extra_links=HUB_LINK, extra_events=HUB_EVENTS)
    sim.run()
    assert any(type(r) is DeviceJoined and r.device == "hub" for r in sim.trace.records)


@pytest.mark.parametrize(
    ("devices", "links", "field"),
    [
        ([{"name": "phone", "profile": "phone"}], [], "extra_devices[0].name"),
        ([{"name": "hub", "profile": "toaster"}], [], "extra_devices[0].profile"),
        ([{"name": "hub"}], [], "extra_devices[0].profile"),
        (HUB, [{"type": "wifi", "a": "hub", "b": "fridge"}], "extra_links[0].b"),
        (HUB, [{"type": "zigbee", "a": "hub", "b": "phone"}], "extra_links[0].type"),
    ],
)
def test_bad_additions_name_the_field(devices, links, field):
    with pytest.raises(SpecError, match=field.replace("[", r"\[").replace("]", r"\]")):
        Simulation.from_dict(BASE, extra_devices=devices, extra_links=links)
