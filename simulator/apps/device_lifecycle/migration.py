"""Protocol step ``migrate``: the watch is retired; its twin moves watch → phone → hub, the
hub re-compresses the personalized weights for the new watch's size target and deploys
them with the core deploy service (``simulator.deploy``: fit check, bytes over the links,
installed on arrival); the new watch serves with the twin (detector, calibration, history)
restored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.apps.device_lifecycle.healing import checksum_card
from simulator.apps.device_lifecycle.records import LifeMigration

if TYPE_CHECKING:
    from simulator.apps.device_lifecycle.app import App

DAY_S = 86400.0
WINDOW_S = 2.0  # the new watch must classify a 2 s window before the next one is complete


def migrate_at(app: App, spec: dict[str, Any]):
    """On ``spec['retire_day']``: move the twin from the worn watch to ``spec['to']``."""
    from models.lifecycle.artifact import compress_to_fit
    from models.lifecycle.ondevice import CALIBRATION_WINDOWS, ConfidenceDrift, OnDeviceModel, personal_card
    from models.lifecycle.twin import Twin
    from simulator.deploy import Need, NoVariantFits, Plan, plan_need

    yield app.env.timeout(max(spec["retire_day"] * DAY_S - app.env.now, 0.0))
    old, hub, new = app.serving, spec["via"], spec["to"]
    if old is None:
        return
    start = app.env.now
    twin = app.twin()
    digest_before = twin.digest()
    data = twin.to_bytes()
    app.serving = None  # the wearer takes the old watch off
    delivered = yield from app.send(old, hub, "twin", len(data))
    if not delivered:
        app.lifeline(old, "migrated", f"twin could not reach {hub}: links down")
        app.serving = old
        return
    app.lifeline(old, "migrated", f"twin → {hub}: {len(data)} B (digest {digest_before[:12]})")
    app.sim.leave(app.device(old), "retired")
    app.lifeline(old, "retired", f"replaced by {new}")
    at_hub = Twin.from_bytes(data)
    windows = at_hub.weights[CALIBRATION_WINDOWS]
    target = app.device(new)
    size_target = app.size_target(new)
    staged = OnDeviceModel.from_twin(at_hub, app.params["model"], app.model.stored, size_target)
    compressed = compress_to_fit(staged.module, windows, size_target)
    yield from app.compute(app.device(hub), app.fp32_card, len(windows), "calibrate")
    # the accuracy the personalized weights last validated at on the wearer's windows
    card = personal_card(app.base_card, compressed.model, app.version + 1, app.card.accuracy)
    try:  # the deploy service's fit check (memory, latency within one window) on the new profile
        (plan,) = plan_need(
            new, target.profile, Need(app.params["model"], WINDOW_S, serves="gesture"), [card]
        )
    except NoVariantFits as exc:
        app.lifeline(new, "migrated", f"{compressed.model.variant} does not fit {new}: {exc}")
        return
    delivered = yield from app.send(hub, new, "twin", len(data))
    if not delivered:
        app.lifeline(new, "migrated", f"twin could not reach {new}: links down")
        return
    # the personalized variant's bytes over the links, installed on arrival (ModelDeployed)
    delivered = yield from app.deployment.deliver(
        Plan(
            new, plan.model, card, "serving", plan.serves, f"migrated from {old}: {plan.reason}", plan.options
        )
    )
    if not delivered:
        app.lifeline(new, "migrated", f"deploy to {new} failed: links down")
        return
    yield from app.compute(target, checksum_card(app, compressed.model), 1, "checksum")
    arrived = Twin.from_bytes(data)
    model = OnDeviceModel.from_twin(arrived, app.params["model"], compressed.model, size_target)
    detector = ConfidenceDrift.from_state(arrived.detector)
    # the twin as the new watch holds it, re-read from its live objects (weights loaded into
    # its module, the detector unpickled): nothing lost on the way if the digests are equal
    digest_after = restored_twin(model, detector, arrived).digest()
    model.reprofile_guard(arrived.weights[CALIBRATION_WINDOWS])
    app.model = model
    app.detector = detector
    app.version += 1
    app.card = card  # the deploy service installed it on arrival
    app.cards_held.append(card)  # see App.compute
    app.deployed_data = compressed.model.data
    app.hub_copy = {"version": app.version, "stored": compressed.model}
    app.serving = new
    app.anomalies.clear()
    app.sim.trace.append(
        LifeMigration(
            app.env.now,
            app.name,
            old,
            hub,
            new,
            start,
            len(data),
            compressed.model.bytes,
            compressed.model.variant,
            digest_before,
            digest_after,
        )
    )
    app.lifeline(
        new,
        "migrated",
        f"serving {compressed.model.variant} ({compressed.model.bytes} B, target {size_target} B); twin digest "
        + ("equal" if digest_after == digest_before else "DIFFERS"),
    )
    app.fire("migrated")


def restored_twin(model, detector, arrived):
    """The twin rebuilt from what the new watch restored: its module's weights, its
    detector's state, and the calibration, thresholds and history it unpacked."""
    from models.lifecycle.ondevice import CALIBRATION_WINDOWS
    from models.lifecycle.twin import Twin

    weights = {k: v.detach().cpu().numpy().copy() for k, v in model.module.state_dict().items()}
    weights[CALIBRATION_WINDOWS] = arrived.weights[CALIBRATION_WINDOWS]
    return Twin(weights, detector.state(), arrived.calibration, arrived.thresholds, arrived.history)
