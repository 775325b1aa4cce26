"""The home-suggestions app on a small scenario: behaviour, privacy of the wire, latency,
a pure summary, determinism."""

from __future__ import annotations

import pytest

from simulator.apps.home_suggestions import App
from simulator.apps.home_suggestions.homes import suggestion_homes
from simulator.apps.home_suggestions.records import Suggestion
from simulator.engine import Simulation
from simulator.federated.records import FederatedRound
from simulator.trace import Message, Trace

SMALL = {"rounds": 8, "clients_per_round": 3, "round_interval": "10min", "items": 60, "weeks": 3}


def small_sim(seed: int = 3) -> Simulation:
    return Simulation.from_dict(suggestion_homes(6, seed=5, duration="2d", app_params=SMALL), seed=seed)


@pytest.fixture(scope="module")
def ran() -> Simulation:
    return small_sim().run()


def test_suggestions_are_served_and_scored(ran):
    m = ran.summary()["home_suggestions"]
    assert m["suggestions"] > 20
    for key in ("hit_rate_at_10", "ndcg_at_10", "baseline_popular_hit_rate"):
        assert 0.0 <= m[key] <= 1.0
    assert m["ndcg_at_10"] <= m["hit_rate_at_10"]
    rounds = ran.trace.of(FederatedRound)
    assert rounds and rounds[-1].accuracy > m["federated"]["accuracy_initial"]  # the profile learns


def test_only_item_updates_reach_the_cloud_and_slices_stay_home(ran):
    to_cloud = {r.msg_kind for r in ran.trace.of(Message) if r.dst == "cloud"}
    assert to_cloud and all(kind.startswith("fl_") for kind in to_cloud)
    slices = [r for r in ran.trace.of(Message) if r.msg_kind == "profile_slice"]
    assert slices and all(r.src.startswith("phone") and r.dst != "cloud" for r in slices)


def test_latency_is_device_time_under_50_ms(ran):
    m = ran.summary()["home_suggestions"]
    assert set(m["latency_p95_ms"]) <= {"phone", "speaker", "watch", "car"}
    assert all(0.0 < v < 50.0 for v in m["latency_p95_ms"].values())
    served = [r for r in ran.trace.of(Suggestion) if r.served]
    assert all(r.latency_s > 0 for r in served)


def test_summary_is_a_function_of_the_saved_trace(ran, tmp_path):
    path = ran.trace.save(tmp_path / "trace.jsonl.gz")
    loaded = Trace.load(path)
    entry = {"type": "home_suggestions", "name": "home_suggestions"}
    again = App.summarize(loaded, entry, ran.duration_s)
    assert again == ran.summary()["home_suggestions"]


def test_same_seed_same_trace(ran):
    again = small_sim().run()
    assert list(again.trace) == list(ran.trace)
