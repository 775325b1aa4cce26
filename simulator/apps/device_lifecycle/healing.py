"""Protocol steps of self-healing: ``inject_at`` (scenario faults), ``scrub`` (checksums at
rest), ``guard_alarm`` (the range guard's anomaly rate), ``detected`` → ``heal`` (restore
the damaged tensors from the hub's copy) or ``repair`` (fine-tune without a copy)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.apps.device_lifecycle.records import LifeFault, LifeFaultDetected, LifeFaultHealed
from simulator.deploy import Plan

if TYPE_CHECKING:
    from simulator.apps.device_lifecycle.app import App
    from simulator.devices import Device

DAY_S = 86400.0
SHA256_BYTES = 32
ATTACK_WINDOWS = 64  # the attacker's white-box gradient uses this many of the wearer's windows


def checksum_card(app: App, stored):
    """Hashing a model is one memory-bound pass over its bytes: a card with no MACs."""
    card = copy.deepcopy(app.base_card)
    card.variant, card.macs, card.bytes, card.peak_activation_bytes = "sha256", 0, stored.bytes, 0
    return card


def _ids(faults: list[dict[str, Any]]) -> str:
    return ",".join(str(f["id"]) for f in faults)


def inject_at(app: App, fault_id: int, fault: dict[str, Any]):
    """Fault ``fault_id`` hits the model stored on ``fault['device']`` on ``fault['day']``."""
    from models.lifecycle import faults as fault_kinds
    from models.lifecycle.artifact import StoredModel

    yield app.env.timeout(max(fault["day"] * DAY_S - app.env.now, 0.0))
    name = fault["device"]
    if app.serving != name:
        app.lifeline(name, "fault", f"{fault['kind']}: {name} holds no serving model now; nothing hit")
        return
    device = app.device(name)
    rng = app.new_rng(f"fault{fault_id}")
    kind = fault["kind"]
    if kind == "corrupt_download":
        yield from _corrupted_download(app, device, fault_id, rng)
        return
    if kind == "random_flips":
        damaged, flips = fault_kinds.flip_random(app.model.stored, fault["rate"], rng)
    else:
        x, y = _attack_data(app)
        damaged, flips = fault_kinds.flip_targeted(app.model.stored, fault["bits"], x, y)
    reference = StoredModel(app.deployed_data, "", "").tensor_checksums()
    tensors = damaged.damaged_tensors(reference)
    app.model.stored = damaged
    if kind == "targeted_flips":  # the attacker rewrites the on-device checksums too
        app.model.manifest = damaged.tensor_checksums()
    record = {"id": fault_id, "kind": kind, "t": app.env.now, "detected": False, "tensors": set(tensors)}
    app.active_faults.append(record)
    app.sim.trace.append(LifeFault(app.env.now, app.name, name, fault_id, kind, flips, ",".join(tensors)))
    app.lifeline(name, "fault", f"{kind}: {flips} bits in {len(tensors)} tensors")
    app.fire("fault")


def _attack_data(app: App) -> tuple[np.ndarray, np.ndarray]:
    rows = list(app.labelled)[-ATTACK_WINDOWS:]
    return np.stack([r[1] for r in rows]), np.array([r[2] for r in rows], np.int64)


def _corrupted_download(app: App, device: Device, fault_id: int, rng):
    """The hub re-sends the watch's model (a routine re-sync); the first copy arrives
    garbled, the checksums at load reject it, the watch keeps serving and asks again."""
    from models.lifecycle import faults as fault_kinds

    hub = app.params["hub"]
    good = app.hub_copy["stored"]
    arrived = fault_kinds.corrupt_download(good, rng)  # what the garbled copy will hold
    tensors = arrived.damaged_tensors(good.tensor_checksums())
    app.sim.trace.append(
        LifeFault(app.env.now, app.name, device.name, fault_id, "corrupt_download", 0, ",".join(tensors))
    )
    app.lifeline(
        device.name,
        "fault",
        f"download of v{app.hub_copy['version']} arrives corrupted ({len(tensors)} tensors)",
    )
    app.fire("fault")
    yield from app.send(hub, device.name, "model_download", good.bytes)
    yield from app.compute(device, checksum_card(app, arrived), 1, "checksum")
    app.sim.trace.append(
        LifeFaultDetected(app.env.now, app.name, device.name, fault_id, "checksum-at-load", ",".join(tensors))
    )
    app.lifeline(device.name, "detected", "checksum at load: rejected before serving; downloading again")
    app.fire("fault_detected")
    if app.hub_copy["version"] == app.version:  # the deploy service re-sends and installs it
        why = "re-sync from the hub after a checksum failure at load"
        plan = Plan(device.name, app.params["model"], app.card, "serving", "gesture", why, "")
        delivered = yield from app.deployment.deliver(plan)
    else:  # the hub holds an older version: fetched and verified, the watch keeps its own
        delivered = yield from app.send(hub, device.name, "model_download", good.bytes)
    if delivered:
        yield from app.compute(device, checksum_card(app, good), 1, "checksum")
        app.sim.trace.append(
            LifeFaultHealed(app.env.now, app.name, device.name, fault_id, "re-download", good.bytes)
        )
        app.lifeline(device.name, "healed", f"second download verified ({good.bytes} B)")
        app.fire("healed")


def scrub(app: App, device: Device, by: str):
    """Checksums of every stored tensor against the manifest."""
    yield from app.compute(device, checksum_card(app, app.model.stored), 1, "checksum")
    damaged = app.model.damaged_tensors()
    if damaged:
        yield from detected(app, device, by, damaged)


def guard_alarm(app: App):
    """The anomaly rate passed the threshold: checksums locally, then against the hub's;
    intact weights mean the inputs moved (drift), and the bounds are re-profiled."""
    try:
        if app.serving is None:
            return
        device = app.device(app.serving)
        yield from app.compute(device, checksum_card(app, app.model.stored), 1, "checksum")
        damaged = app.model.damaged_tensors()
        if damaged:
            yield from detected(app, device, "guard", damaged)
            return
        hub = app.params["hub"]
        if app.hub_copy["version"] == app.version:
            table_bytes = SHA256_BYTES * len(app.model.manifest)
            delivered = yield from app.send(device.name, hub, "checksum_compare", table_bytes)
            if delivered:
                differing = app.model.stored.damaged_tensors(app.hub_copy["stored"].tensor_checksums())
                yield from app.send(hub, device.name, "checksum_compare", SHA256_BYTES * (len(differing) + 1))
                if differing:
                    yield from detected(app, device, "guard", differing)
                    return
        recent = np.stack(list(app.recent))
        app.model.reprofile_guard(recent)
        yield from app.compute(device, app.card, len(recent), "guard-profile")
        app.lifeline(
            device.name,
            "guard_alarm",
            f"anomaly rate > {app.params['anomaly_rate']:.0%}, weights intact: inputs drifted; bounds re-profiled on {len(recent)} windows",
        )
        app.anomalies.clear()
    finally:
        app.checking = False


def detected(app: App, device: Device, by: str, tensors: list[str]):
    """Record the detection of every active fault whose tensors are among those found, then heal."""
    found = [f for f in app.active_faults if not f["detected"] and f["tensors"] & set(tensors)]
    for fault in found:
        fault["detected"] = True
        app.sim.trace.append(
            LifeFaultDetected(app.env.now, app.name, device.name, fault["id"], by, ",".join(tensors))
        )
    app.lifeline(device.name, "detected", f"{by}: {len(tensors)} tensors differ")
    app.fire("fault_detected")
    yield from heal(app, device, tensors)


def heal(app: App, device: Device, tensors: list[str]):
    """Restore the damaged tensors from the hub's copy of this version, else repair later."""
    copy_ = app.hub_copy
    if app.params["hub_backup"] and copy_["version"] == app.version:
        size = copy_["stored"].tensor_bytes(tensors)
        delivered = yield from app.send(app.params["hub"], device.name, "model_restore", size)
        if delivered:
            yield from app.compute(device, checksum_card(app, copy_["stored"]), 1, "checksum")
            app.model.install(copy_["stored"])
            for fault in app.active_faults:
                app.sim.trace.append(
                    LifeFaultHealed(app.env.now, app.name, device.name, fault["id"], "restore", size)
                )
            app.lifeline(
                device.name, "healed", f"restored {len(tensors)} tensors ({size} B) from {app.params['hub']}"
            )
            app.fire("healed")
            app.active_faults.clear()
            app.anomalies.clear()
            return
    app.repair_pending = [f["id"] for f in app.active_faults]
    app.lifeline(
        device.name,
        "detected",
        "no copy of this version on the hub: repair by fine-tuning at the next charge",
    )


def repair(app: App, device: Device):
    """Fine-tune the damaged model back (no copy), at the charger."""
    from models.lifecycle.ondevice import personal_card, training_card
    from simulator.apps.device_lifecycle.adaptation import split_heldout

    params = app.params
    rows = list(app.labelled)
    x, y = np.stack([r[1] for r in rows]), np.array([r[2] for r in rows], np.int64)
    held = split_heldout(len(y), params["heldout_share"])
    calibration = np.stack(list(app.recent))
    candidate = app.model.repair_without_copy(
        x[~held],
        y[~held],
        calibration,
        params["finetune_epochs"],
        params["finetune_lr"],
        params["finetune_batch"],
        seed=app.version,
    )
    train_card = training_card(app.fp32_card, candidate.training)
    for _ in range(params["finetune_epochs"]):
        yield from app.compute(
            device, train_card, int((~held).sum()), "fine-tune", candidate.training.final_loss
        )
    yield from app.compute(device, app.fp32_card, len(calibration), "calibrate")
    accuracy_before = app.model.accuracy(x[held], y[held])
    accuracy_after = app.model.accuracy(x[held], y[held], candidate.compressed.model)
    card = personal_card(app.base_card, candidate.compressed.model, app.version + 1, accuracy_after)
    yield from app.compute(device, app.card, int(held.sum()), "validate")
    yield from app.compute(device, card, int(held.sum()), "validate")
    if accuracy_after <= accuracy_before:  # keep the damaged version; try again next night
        app.lifeline(
            device.name,
            "rolled_back",
            f"repair not better on held-out windows ({accuracy_after:.1%} ≤ {accuracy_before:.1%})",
        )
        return
    app.model.adopt(candidate)
    app.version += 1
    app.deploy_version(device, card, "repaired by fine-tuning (no copy on the hub)")
    for fault_id in app.repair_pending:
        app.sim.trace.append(LifeFaultHealed(app.env.now, app.name, device.name, fault_id, "fine-tune", 0))
    app.lifeline(
        device.name,
        "healed",
        f"weights clamped to their clean ranges, biases fine-tuned on {int((~held).sum())} windows; "
        f"held-out {accuracy_before:.1%} → {accuracy_after:.1%}",
    )
    app.fire("healed")
    app.repair_pending = []
    app.active_faults.clear()
    app.anomalies.clear()
