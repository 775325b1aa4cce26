"""Routing and multi-hop sending, the one core service (``simulator.network``)."""

from __future__ import annotations

import yaml

from simulator.engine import Simulation
from simulator.network import link_ends, route_now, send, shortest_route


def test_fewest_hops_and_ties_to_the_first_link_listed():
    links = [("a", "b"), ("b", "c"), ("a", "d"), ("d", "c"), ("c", "e")]
    hops = shortest_route(links, "a", "e")
    assert [(s, r) for _, s, r in hops] == [("a", "b"), ("b", "c"), ("c", "e")]
    assert [link for link, _, _ in hops] == [("a", "b"), ("b", "c"), ("c", "e")]
    assert shortest_route(links, "c", "a") == [(("b", "c"), "c", "b"), (("a", "b"), "b", "a")]
    assert shortest_route(links, "a", "a") == []
    assert shortest_route(links, "a", "zz") is None
    assert shortest_route([("a", "b"), ("x", "y")], "a", "y") is None


def test_link_ends_reads_pairs_mappings_and_objects():
    assert link_ends(("a", "b")) == ("a", "b")
    assert link_ends({"a": "p", "b": "q", "type": "ble"}) == ("p", "q")


def test_federated_clients_reach_the_server_through_their_phone():
    spec = yaml.safe_load(open("scenarios/federated_gestures.yaml"))
    links = spec["links"]
    watches = sorted({link_ends(link)[0] for link in links if link_ends(link)[0].startswith("watch")})
    assert len(watches) >= 10
    for watch in watches:
        hops = shortest_route(links, watch, "cloud")
        assert [s for _, s, _ in hops] == [watch, watch.replace("watch", "phone")]


def _home_sim(duration: str = "1min") -> Simulation:
    spec = yaml.safe_load(open("scenarios/smart_home.yaml"))
    spec.update(duration=duration, apps=[], events=[], narration=[])
    return Simulation.from_dict(spec, seed=3)


def test_multi_hop_send_goes_hop_by_hop_over_the_links_up_now():
    sim = _home_sim()
    hops = route_now(sim, "camera", "cloud")
    assert [(link.name, s, r) for link, s, r in hops] == [
        ("hub-camera", "camera", "hub"),
        ("hub-cloud", "hub", "cloud"),
    ]
    seen = []
    outcome = {}

    def go():
        outcome["delivery"] = yield from send(
            sim, "camera", "cloud", "probe", 10_000, retries=5, on_hop=lambda *hop: seen.append(hop)
        )

    sim.env.process(go())
    sim.run(until=30.0)
    assert outcome["delivery"].status == "delivered" and outcome["delivery"].at == "cloud"
    assert [(link.name, status) for link, _, _, _, status in seen] == [
        ("hub-camera", "delivered"),
        ("hub-cloud", "delivered"),
    ]
    messages = [r for r in sim.trace.records if type(r).__name__ == "Message"]
    assert {m.link for m in messages} == {"hub-camera", "hub-cloud"}
    sim.link_between("hub", "cloud").set_up(False, "test")  # around it, through the phone
    assert [link.name for link, _, _ in route_now(sim, "camera", "cloud")] == [
        "hub-camera",
        "hub-phone",
        "phone-cloud",
    ]
    sim.link_between("hub", "camera").set_up(False, "test")
    assert route_now(sim, "camera", "cloud") is None
