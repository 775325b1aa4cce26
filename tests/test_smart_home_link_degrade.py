"""The engine's ``link_degrade`` event (added for the smart home's switching policy): a
link's latency, bandwidth and loss change for a while and come back; bad events name the field."""

from __future__ import annotations

import pytest

from simulator.engine import Simulation
from simulator.scenario import SpecError
from simulator.trace import LinkState

BASE = {
    "name": "degrade",
    "duration": "1h",
    "devices": [{"name": "hub", "profile": "home_hub"}, {"name": "speaker", "profile": "speaker"}],
    "links": [{"name": "wifi", "type": "wifi", "a": "hub", "b": "speaker"}],
}


def scenario(event: dict) -> dict:
    return {**BASE, "events": [event]}


def test_degrade_changes_quality_for_a_while_then_restores():
    event = {"at": "10min", "until": "20min", "type": "link_degrade", "link": "wifi", "latency_s": 0.2,
             "bandwidth_bps": 1e5}  # fmt: skip
    sim = Simulation.from_dict(scenario(event))
    link = sim.links["wifi"]
    nominal = (link.latency_s, link.bandwidth_bps, link.loss)
    sim.run(until=15 * 60)
    assert (link.latency_s, link.bandwidth_bps, link.loss) == (0.2, 1e5, nominal[2])
    assert link.transfer_time_s(1000) == pytest.approx(0.2 + 8000 / 1e5)
    sim.run()
    assert (link.latency_s, link.bandwidth_bps, link.loss) == nominal
    states = [r for r in sim.trace.of(LinkState) if r.link == "wifi"]
    assert [round(r.t) for r in states] == [600, 1200] and all(r.up for r in states)
    assert "latency_s 0.2" in states[0].reason and states[1].reason.startswith("end of")


@pytest.mark.parametrize(
    ("event", "field", "words"),
    [
        ({"at": 1, "type": "link_degrade", "link": "wifi"}, "events[0].latency_s", "at least one"),
        (
            {"at": 1, "type": "link_down", "link": "wifi", "loss": 0.5},
            "events[0].loss",
            "only a link_degrade",
        ),
        (
            {"at": 1, "type": "link_degrade", "link": "wifi", "bandwidth_bps": 0},
            "events[0].bandwidth_bps",
            "> 0",
        ),
        ({"at": 1, "type": "link_degrade", "link": "lan", "loss": 0.1}, "events[0].link", "unknown link"),
    ],
)
def test_bad_degrade_names_the_field(event, field, words):
    with pytest.raises(SpecError) as error:
        Simulation.from_dict(scenario(event), source="x.yaml")
    assert f"x.yaml, {field}:" in str(error.value) and words in str(error.value)
