"""Deployment, the core service (``simulator.deploy``): plan with recommend, move the bytes
over the links, write the manifest on arrival, serve only after it, forget on leave."""

from __future__ import annotations

import pytest
import yaml

from simulator.deploy import Deployment, DeployPlan, Need, NoVariantFits, model_cards, plan_need
from simulator.engine import Simulation
from simulator.recommend import recommend
from simulator.trace import Message, ModelDeployed


def _sim() -> Simulation:
    spec = yaml.safe_load(open("scenarios/smart_home.yaml"))
    spec.update(duration="10min", apps=[], narration=[])
    spec["events"] = [{"at": "1min", "type": "device_join", "device": "doorbell", "reason": "installed"}]
    return Simulation.from_dict(spec, seed=3)


def test_the_plan_is_recommends_choice_and_a_pin_wins():
    sim = _sim()
    profile = sim.devices["doorbell"].profile
    cards = model_cards("camera_detector")
    need = Need("camera_detector", budget_s=0.5, max_accuracy_loss_pts=1.0, serves="door", backup=True)
    plans = plan_need("doorbell", profile, need, cards)
    assert plans[0].role == "serving"
    assert plans[0].card.variant == recommend(cards, profile, max_latency_s=0.5)["choice"]
    assert all(p.role == "emergency" and p.card.accuracy >= plans[0].card.accuracy for p in plans[1:])
    pinned = plan_need("doorbell", profile, Need("camera_detector", 0.5, variant="fp32"), cards)
    assert [p.card.variant for p in pinned] == ["fp32"] and "pinned" in pinned[0].reason
    with pytest.raises(NoVariantFits, match="no variant of camera_detector fits 'doorbell' within 1e-06 ms"):
        plan_need("doorbell", profile, Need("camera_detector", 1e-9), cards)


def test_a_joining_device_serves_only_after_the_bytes_arrived():
    sim = _sim()
    events: list[str] = []
    deployment = Deployment(
        sim, "app", "hub", lambda device: [Need("camera_detector", 0.5)], notify=events.append
    )
    deployment.install("camera")  # present at t = 0: set up, no transfer
    assert deployment.serving("camera", "camera_detector") is not None
    deployment.install("doorbell")  # not present yet: planned only
    planned = deployment.planned("doorbell", "camera_detector")
    assert planned is not None and deployment.serving("doorbell", "camera_detector") is None
    sim.env.process(deployment.join("doorbell", 60.0))
    sim.run()
    records = sim.trace.records
    plan = next(r for r in records if type(r) is DeployPlan)
    deployed = next(r for r in records if type(r) is ModelDeployed and r.device == "doorbell")
    moved = [r for r in records if type(r) is Message and r.msg_kind == "deploy"]
    assert plan.t == pytest.approx(60.0) and plan.size_bytes == int(planned.bytes)
    assert moved and all(m.size_bytes == plan.size_bytes for m in moved)
    arrived = max(m.end_t for m in moved if m.status == "delivered")
    assert deployed.t == pytest.approx(arrived) and deployed.t > plan.t
    assert events == ["device_joined", "deploy_started", "model_deployed"]
    assert deployment.serving("doorbell", "camera_detector") is planned
    assert deployment.leave("doorbell") == ["camera_detector"]
    assert deployment.serving("doorbell", "camera_detector") is None
