"""The smart-home app: chains fire on the ground truth, gating cuts detector calls, deploys
arrive before serving, a device leaving re-homes or breaks chains, switching under a
degraded link, the reserved accelerator share, determinism, and one bad input per chain
field (exit 2 naming the field). The module's runs share one cache folder of their own
(``HOMETWIN_CACHE``), empty when the module starts."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.apps.smart_home import ChainHop, ChainStage, DeployPlan, PolicyChange, Truth
from simulator.engine import Simulation
from simulator.scenario import SpecError
from simulator.trace import Message, ModelDeployed
from simulator.validate import read_yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "smart_home.yaml"
SHORT_EVENTS = [
    {"at": "5min", "type": "device_join", "device": "doorbell", "reason": "installed"},
    {"at": "40min", "until": "70min", "type": "link_degrade", "link": "hub-doorbell", "latency_s": 0.2,
     "bandwidth_bps": 4.0e5, "loss": 0.05},
]  # fmt: skip
# A short, busy evening (18:00-19:40): the doorbell joins at 18:05, Wi-Fi degraded 18:40-19:10.
BUSY = {
    "apps.home.params.pets_at_door_per_hour": 3.0,
    "apps.home.params.pir_false_per_hour": 2.0,
    "apps.home.params.voice_per_hour": 8.0,
    "apps.home.params.gestures_per_hour": 8.0,
    "apps.home.params.probe_period_s": 10.0,
    "duration": "100min",
    "events": SHORT_EVENTS,
}


def short_sim(seed: int = 3, **overrides) -> Simulation:
    return Simulation.from_file(SCENARIO, seed=seed, overrides={**BUSY, **overrides})


@pytest.fixture(scope="module", autouse=True)
def empty_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOMETWIN_CACHE", str(tmp_path_factory.mktemp("hometwin-cache")))
        yield


@pytest.fixture(scope="module")
def night(empty_cache) -> Simulation:
    return short_sim().run()


def stages(sim: Simulation, chain: str) -> list[ChainStage]:
    return [r for r in sim.trace.of(ChainStage) if r.chain == chain]


def test_security_chain_fires_on_people_at_the_door_and_announces(night):
    app = night.apps[0]
    runs = stages(night, "doorbell")
    actions = [r for r in runs if r.outcome == "action"]
    assert actions, "a person or package at the door must reach the speaker or the phone"
    truths = [t for t in night.trace.of(Truth) if t.where == "doorbell" and t.label in ("person", "package")]
    real = [a for a in actions if any(t.t <= a.trigger_t <= t.end_t + 30 for t in truths)]
    assert len(real) >= len(actions) / 2  # most alerts rest on someone or something at the door
    for action in actions:  # the speaker when someone is home, else the phone
        assert action.device == ("speaker" if app.state.night.home_at(action.t) else "phone")
    metrics = night.summary()["home"]["chains"]["doorbell"]
    assert metrics["recall"] > 0.5 and metrics["true_alerts"] >= 1
    assert metrics["precision"] == pytest.approx(metrics["true_alerts"] / metrics["alerts"], abs=1e-3)
    # camera → hub → speaker: hops recorded with bytes and latency
    hops = [h for h in night.trace.of(ChainHop) if h.chain == "doorbell" and h.status == "delivered"]
    assert {(h.src, h.dst) for h in hops} & {("doorbell", "hub"), ("hub", "speaker")}
    assert all(h.end_t > h.t and h.size_bytes > 0 for h in hops)


def test_voice_and_gesture_chains_act_on_real_models(night):
    for chain in ("voice", "gesture"):
        metrics = night.summary()["home"]["chains"][chain]
        assert metrics["model_calls"] > 0
        assert metrics["truth_events"] > 0
        assert metrics["detected"] >= 1, chain
    # the model outputs vary (real inference, not a constant)
    scores = {round(r.score, 3) for r in stages(night, "gesture")}
    assert len(scores) > 10


def test_deploy_arrives_before_the_doorbell_serves(night):
    plan = next(r for r in night.trace.of(DeployPlan) if r.device == "doorbell" and r.role == "serving")
    deployed = next(r for r in night.trace.of(ModelDeployed) if r.device == "doorbell")
    assert plan.t == pytest.approx(5 * 60, abs=1.0)
    assert deployed.t > plan.t and deployed.variant == plan.variant
    sent = [m for m in night.trace.of(Message) if m.msg_kind == "deploy" and m.dst == "doorbell"]
    assert sent and sent[0].size_bytes == plan.size_bytes and sent[0].end_t <= deployed.t + 1e-9
    assert "does not fit" in plan.options  # fp32 does not fit the doorbell's 512 kB: the reason says so
    first = min(r.t for r in stages(night, "doorbell"))
    assert first >= deployed.t


def test_switching_goes_local_under_a_degraded_link_and_back(night):
    changes = [r for r in night.trace.of(PolicyChange) if r.policy == "switching" and r.device == "doorbell"]
    assert changes and changes[0].state == "local" and 40 * 60 <= changes[0].t <= 70 * 60 + 60
    local = [
        r for r in stages(night, "doorbell") if r.stage == "confirm" and "decided on the camera" in r.detail
    ]
    hub = [r for r in stages(night, "doorbell") if r.stage == "confirm" and r.device == "hub"]
    assert hub  # before the degradation the hub confirms
    for r in local:
        assert any(c.state == "local" and c.t <= r.t for c in changes)


def test_motion_gating_cuts_detector_calls_and_camera_energy():
    on = short_sim(duration="30min").run().summary()["home"]
    off = short_sim(**{"duration": "30min", "apps.home.params.motion_gating": False}).run().summary()["home"]
    calls_on, calls_off = on["chains"]["indoor"]["model_calls"], off["chains"]["indoor"]["model_calls"]
    assert calls_off == off["chains"]["indoor"]["inputs"] > 10 * calls_on > 0
    energy_on = on["chains"]["indoor"]["energy_j_by_device"]["camera"]
    energy_off = off["chains"]["indoor"]["energy_j_by_device"]["camera"]
    assert energy_off > 2 * energy_on


def _reindexed(triggers: list[float], share: float) -> dict:
    """The short night with a best-effort batch of 1,000 frames started on the hub 0.2 s
    before each doorbell run began (≈ 2 s of its compute)."""
    sim = short_sim(**{"apps.home.params.reserved_share": share})
    app = sim.apps[0]
    chain = next(c for c in app.chains if c["name"] == "clip_index")

    def reindex(at_s: float):
        yield sim.env.timeout(at_s)
        yield from app.sensors.best_effort_batch(
            app.state.hub, app.state.hub.models["camera_detector"], 1000, chain
        )

    for t in triggers:
        sim.env.process(reindex(t - 0.2))
    return sim.run().summary()["home"]["chains"]["doorbell"]


def test_reserved_share_lowers_the_security_chains_worst_hub_wait(night):
    triggers = sorted(
        {
            r.trigger_t
            for r in stages(night, "doorbell")
            if r.run and r.stage == "detect" and r.outcome == "pass"
        }
    )
    hub_confirms = [r for r in stages(night, "doorbell") if r.stage == "confirm" and r.device == "hub"]
    assert triggers and hub_confirms
    reserved, unreserved = _reindexed(triggers, 0.25), _reindexed(triggers, 0.0)
    slice_s = night.apps[0].params["best_effort_slice_s"]
    with_share, without = reserved["compute_wait_s"]["confirm"], unreserved["compute_wait_s"]["confirm"]
    assert with_share["n"] == without["n"] >= 1
    assert with_share["max"] <= slice_s + 1e-6  # at most one slice of the batch
    assert without["max"] > 0.5  # the whole batch: past the confirm's 500 ms deadline
    assert unreserved["deadline_misses_by_stage"].get("confirm", 0) > reserved[
        "deadline_misses_by_stage"
    ].get("confirm", 0)


def test_cache_gives_the_same_night_and_skips_inputs_and_models(tmp_path, monkeypatch):
    monkeypatch.setenv("HOMETWIN_CACHE", "off")
    fresh = short_sim(duration="40min").run()
    monkeypatch.setenv("HOMETWIN_CACHE", str(tmp_path))
    cold = short_sim(duration="40min").run()
    assert list((tmp_path / "smart_home").glob("*/*.npz"))

    def refuse(*_args, **_kwargs):
        raise AssertionError("a warm run must not generate inputs or run a model")

    from simulator.apps.smart_home import inputs, streams
    from simulator.apps.smart_home.verdicts import Verdicts

    for target, name in ((inputs.CameraScene, "frame"), (inputs.CameraScene, "empty_motion_frames")):
        monkeypatch.setattr(target, name, refuse)
    for name in ("wrist_windows", "speech_windows"):
        monkeypatch.setattr(streams, name, refuse)
    monkeypatch.setattr(Verdicts, "_predictor", refuse)
    warm = short_sim(duration="40min").run()
    assert fresh.trace.records == cold.trace.records == warm.trace.records
    wall = "wall_model_s"  # host wall time: the one number allowed to differ
    assert {k: v for k, v in fresh.summary()["home"].items() if k != wall} == {
        k: v for k, v in warm.summary()["home"].items() if k != wall
    }


def test_same_seed_same_trace_and_another_seed_differs():
    a = short_sim(seed=5, duration="25min").run()
    b = short_sim(seed=5, duration="25min").run()
    assert a.trace.records == b.trace.records
    c = short_sim(seed=6, duration="25min").run()
    assert [r for r in c.trace.of(Truth)] != [r for r in a.trace.of(Truth)]


def test_leave_rehomes_or_breaks_chains():
    events = [*SHORT_EVENTS[:1], {"at": "30min", "type": "device_leave", "device": "hub"}]
    sim = short_sim(duration="45min", events=events).run()
    changes = [r for r in sim.trace.of(PolicyChange) if r.policy.startswith("chain ")]
    states = {(r.policy, r.state) for r in changes}
    assert ("chain doorbell", "re-homed") in states  # the confirm stage has a fallback
    assert ("chain voice", "broken") in states  # the hub acts on voice, nobody else can
    after = [r for r in stages(sim, "doorbell") if r.t > 30 * 60 and r.stage == "confirm"]
    assert all(r.device == "doorbell" for r in after)


# -- bad input: one per chain field, each names the field --------------------------------
def _bad(mutate) -> str:
    raw = read_yaml(SCENARIO)
    chains = copy.deepcopy(raw["apps"][0]["params"]["chains"])
    mutate(chains)
    with pytest.raises(SpecError) as error:
        Simulation.from_dict(raw, overrides={"apps.home.params.chains": chains}, source="x.yaml")
    return str(error.value)


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (
            lambda c: c[0]["stages"][1].update(model="cam_detector"),
            "chains[0].stages[1].model",
            "unknown model",
        ),
        (lambda c: c[0]["stages"][1].update(variant="int4"), "chains[0].stages[1].variant", "no variant"),
        (lambda c: c[0]["stages"][1].update(device="garage"), "chains[0].stages[1].device", "unknown device"),
        (
            lambda c: c[0]["stages"][1].update(fallback="garage"),
            "chains[0].stages[1].fallback",
            "unknown device",
        ),
        (lambda c: c[3]["stages"][1].update(trigger="speaker"), "chains[3].stages", "stage cycle"),
        (
            lambda c: c[0]["stages"][0].update(trigger="smoke"),
            "chains[0].stages[0].trigger",
            "unknown trigger",
        ),
        (
            lambda c: c[2]["stages"][0].update(trigger="motion"),
            "chains[2].stages[0].trigger",
            "needs a camera",
        ),
        (
            lambda c: c[0]["stages"][1]["condition"].update(classes=["car"]),
            "stages[1].condition.classes[0]",
            "no class",
        ),
        (
            lambda c: c[0]["stages"][2].update(model="camera_detector"),
            "chains[0].stages[2].model",
            "exactly one",
        ),
        (lambda c: c[0]["stages"][1].update(deadline=0), "chains[0].stages[1].deadline", "> 0"),
        (lambda c: c[0].update(qos="urgent"), "chains[0].qos", "security"),
        (lambda c: c[4]["stages"][0].pop("every"), "chains[4].stages[0].every", "period"),
        (lambda c: c[1].update(name="doorbell"), "chains[1].name", "duplicate"),
        (lambda c: c[3]["stages"][1].update(input="next"), "chains[3].stages[1].input", "same device"),
    ],
)
def test_bad_chain_names_the_field(mutate, field, words):
    message = _bad(mutate)
    assert message.startswith("x.yaml, apps[0].params.")
    assert field in message and words in message


@pytest.mark.parametrize("clock", ["20:00", "03:00", "25:00"])
def test_a_start_clock_the_night_cannot_follow_names_the_field(clock):
    raw = read_yaml(SCENARIO)
    with pytest.raises(SpecError) as error:
        Simulation.from_dict(raw, overrides={"apps.home.params.start_clock": clock}, source="x.yaml")
    assert "x.yaml, apps[0].params.start_clock:" in str(error.value)


def test_stage_cycle_error_shows_the_loop():
    message = _bad(lambda c: c[3]["stages"][1].update(trigger="speaker"))
    assert "speaker → phone → speaker" in message or "phone → speaker → phone" in message


def test_cli_exits_2_on_a_bad_chain(tmp_path):
    text = SCENARIO.read_text().replace("model: keyword_spotter,", "model: keyword_spoter,", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "run", str(bad), "--quiet"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "apps[0].params.chains[2].stages[0].model: unknown model 'keyword_spoter'" in done.stderr
