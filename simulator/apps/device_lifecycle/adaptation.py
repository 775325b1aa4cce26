"""Protocol step ``adapt``: fine-tune on the device, re-compress to fit, validate, deploy or
roll back, back up to the hub. Runs while the watch charges, every step charged to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulator.apps.device_lifecycle.records import LifeAdaptation

if TYPE_CHECKING:
    from simulator.apps.device_lifecycle.app import App
    from simulator.devices import Device


def labelled_since(app: App, since_s: float) -> tuple[np.ndarray, np.ndarray]:
    rows = [(x, y) for t, x, y in app.labelled if t >= since_s]
    if not rows:
        return np.empty((0, *app.clean_x.shape[1:]), np.float32), np.empty(0, np.int64)
    return np.stack([r[0] for r in rows]), np.array([r[1] for r in rows], np.int64)


def split_heldout(n: int, share: float) -> np.ndarray:
    """True for the windows held out for validation: every k-th, k = round(1 / share)."""
    return np.arange(n) % max(round(1.0 / share), 2) == 0


def adapt(app: App, device: Device):
    """One adaptation (a SimPy process generator); waits for another night when fewer than
    ``min_labelled`` labelled windows came since the drift was detected."""
    from models.lifecycle.ondevice import personal_card, training_card

    params = app.params
    x, y = labelled_since(app, app.adapt_pending_since)
    if len(y) < params["min_labelled"]:
        return
    start = app.env.now
    held = split_heldout(len(y), params["heldout_share"])
    x_train, y_train, x_val, y_val = x[~held], y[~held], x[held], y[held]
    calibration = np.stack(list(app.recent))
    version_before = f"v{app.version}"
    size_before = app.model.stored.bytes
    candidate = app.model.candidate(
        x_train,
        y_train,
        calibration,
        params["finetune_mode"],
        params["finetune_epochs"],
        params["finetune_lr"],
        params["finetune_batch"],
        seed=app.version,
    )
    training = candidate.training
    budget = params["training_memory_budget_bytes"]
    train_card = training_card(app.fp32_card, training)
    for _ in range(params["finetune_epochs"]):
        yield from app.compute(device, train_card, len(y_train), "fine-tune", training.final_loss)
    app.lifeline(
        device.name,
        "fine_tuned",
        f"{training.mode}: {training.trainable_params} parameters, {params['finetune_epochs']} epochs on "
        f"{len(y_train)} labelled windows; peak {training.peak_memory_bytes / 1024:.0f} KiB of {budget / 1024:.0f} KiB",
    )
    compressed = candidate.compressed
    yield from app.compute(device, app.fp32_card, len(calibration), "calibrate")
    target = app.model.size_target_bytes
    app.lifeline(
        device.name,
        "recompressed",
        f"{compressed.model.variant}: {compressed.model.bytes} B (target {target} B; FP32 {compressed.candidates[0].bytes} B)",
    )
    accuracy_before = app.model.accuracy(x_val, y_val)
    accuracy_after = app.model.accuracy(x_val, y_val, compressed.model)
    candidate_card = personal_card(app.base_card, compressed.model, app.version + 1, accuracy_after)
    yield from app.compute(device, app.card, len(y_val), "validate")
    yield from app.compute(device, candidate_card, len(y_val), "validate")
    deployed = accuracy_after > accuracy_before and training.peak_memory_bytes <= budget
    if deployed:
        app.model.adopt(candidate)
        app.version += 1
        app.deploy_version(device, candidate_card, "personalized: fine-tuned on the device")
        app.lifeline(
            device.name,
            "redeployed",
            f"validation {accuracy_before:.1%} → {accuracy_after:.1%} on {len(y_val)} held-out windows",
        )
        app.fire("adapted")
        app.detector.reset()
        app.adapt_pending_since = None
        app.anomalies.clear()
        yield from backup(app, device)
    else:
        why = (
            f"over the training memory budget ({training.peak_memory_bytes} B > {budget} B)"
            if training.peak_memory_bytes > budget
            else f"not better on held-out windows ({accuracy_after:.1%} ≤ {accuracy_before:.1%})"
        )
        app.lifeline(
            device.name, "rolled_back", f"candidate discarded, {version_before} keeps serving: {why}"
        )
        app.fire("rolled_back")
        app.detector.reset()
        app.adapt_pending_since = None
    app.sim.trace.append(
        LifeAdaptation(
            app.env.now,
            app.name,
            device.name,
            start,
            version_before,
            f"v{app.version}",
            training.mode,
            len(y_train),
            params["finetune_epochs"],
            training.trainable_params,
            training.train_macs_per_sample,
            training.peak_memory_bytes,
            budget,
            int(device.profile.memory_bytes),
            len(y_val),
            round(accuracy_before, 5),
            round(accuracy_after, 5),
            deployed,
            compressed.model.variant,
            size_before,
            compressed.model.bytes,
            target,
            compressed.candidates[0].bytes,
        )
    )


def backup(app: App, device: Device):
    """The deployed artifact and the twin go to the hub (its copy for restores)."""
    if not app.params["hub_backup"]:
        return
    twin_bytes = len(app.twin().to_bytes())
    stored = app.model.stored
    delivered = yield from app.send(device.name, app.params["hub"], "model_backup", stored.bytes + twin_bytes)
    if delivered:
        app.hub_copy = {"version": app.version, "stored": stored}
        app.lifeline(
            device.name,
            "backed_up",
            f"v{app.version} on {app.params['hub']}: {stored.bytes} B model + {twin_bytes} B twin",
        )
