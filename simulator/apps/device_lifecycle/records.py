"""Trace records of the device-lifecycle app (each has ``t`` first and ``app`` second)."""

from __future__ import annotations

from typing import NamedTuple


class LifeWindow(NamedTuple):
    """The watch classified one 2 s IMU window of the wearer at ``t`` with model ``version``.

    ``truth``/``predicted`` are class indices; ``anomalous``: the range guard flagged it;
    ``damaged``: the stored weights differed from the version as deployed (ground truth,
    for counting what was served while damaged)."""

    t: float
    app: str
    device: str
    version: str
    truth: int
    predicted: int
    confidence: float
    anomalous: bool
    damaged: bool


class LifeEvent(NamedTuple):
    """A mark on the device's lifeline: ``event`` in :data:`EVENTS`, ``detail`` in words."""

    t: float
    app: str
    device: str
    event: str
    version: str
    detail: str


EVENTS = (
    "deployed",
    "drift_detected",
    "fine_tuned",
    "recompressed",
    "redeployed",
    "rolled_back",
    "backed_up",
    "fault",
    "detected",
    "guard_alarm",
    "healed",
    "migrated",
    "retired",
)


class LifeAccuracy(NamedTuple):
    """Held-out accuracy on ``day``: balanced fresh windows of the same wearer, that day's
    drift applied, scored by the model the device serves (``version``) and by the factory
    model left unadapted (``generic_accuracy``). The simulator's measurement: not charged."""

    t: float
    app: str
    device: str
    day: int
    version: str
    accuracy: float
    generic_accuracy: float
    damaged: bool


class LifeDrift(NamedTuple):
    """The drift detector (river ADWIN on the prediction confidence) fired at ``t``."""

    t: float
    app: str
    device: str
    version: str
    confidence_mean: float
    reference_mean: float
    windows_seen: int


class LifeAdaptation(NamedTuple):
    """One on-device adaptation, from ``start_t`` to ``t``: fine-tune, re-compress, validate.

    Peak training memory is measured on the real torch step; ``deployed`` says whether the
    candidate beat the serving version on the wearer's held-out labelled windows."""

    t: float
    app: str
    device: str
    start_t: float
    version_before: str
    version_after: str
    mode: str
    samples: int
    epochs: int
    trainable_params: int
    train_macs_per_sample: int
    peak_memory_bytes: int
    memory_budget_bytes: int
    profile_memory_bytes: int
    val_windows: int
    val_accuracy_before: float
    val_accuracy_after: float
    deployed: bool
    variant: str
    size_before_bytes: int
    size_after_bytes: int
    size_target_bytes: int
    fp32_bytes: int


class LifeFault(NamedTuple):
    """Fault ``fault_id`` (``kind``: random_flips, corrupt_download, targeted_flips) hit the
    model stored on ``device``: ``flips`` bits (0 for a corrupted span), ``tensors`` changed."""

    t: float
    app: str
    device: str
    fault_id: int
    kind: str
    flips: int
    tensors: str


class LifeFaultDetected(NamedTuple):
    """Fault ``fault_id`` found at ``t`` by ``by`` (``checksum-at-load``, ``checksum-at-rest``,
    ``guard``)."""

    t: float
    app: str
    device: str
    fault_id: int
    by: str
    tensors: str


class LifeFaultHealed(NamedTuple):
    """Fault ``fault_id`` repaired at ``t``: ``how`` is ``restore`` (the hub's copy of the
    damaged tensors over the links, ``restore_bytes``) or ``fine-tune`` (no copy)."""

    t: float
    app: str
    device: str
    fault_id: int
    how: str
    restore_bytes: int


class LifeLink(NamedTuple):
    """A link's radio energy per bit at the sending and the receiving end (recorded at the
    start, so that the summary can price each ``Message`` of the app from the trace alone:
    ``Link.attempt`` draws exactly ``bits × j_per_bit`` at each end)."""

    t: float
    app: str
    link: str
    tx_j_per_bit: float
    rx_j_per_bit: float


class LifeMigration(NamedTuple):
    """The twin moved ``source`` → ``via`` → ``target`` from ``start_t``; the target serves
    from ``t``. Digests are SHA-256 of the twin's state before and after."""

    t: float
    app: str
    source: str
    via: str
    target: str
    start_t: float
    twin_bytes: int
    model_bytes: int
    variant: str
    digest_before: str
    digest_after: str


RECORDS: dict[str, type] = {
    "life_window": LifeWindow,
    "life_event": LifeEvent,
    "life_accuracy": LifeAccuracy,
    "life_drift": LifeDrift,
    "life_adaptation": LifeAdaptation,
    "life_fault": LifeFault,
    "life_fault_detected": LifeFaultDetected,
    "life_fault_healed": LifeFaultHealed,
    "life_link": LifeLink,
    "life_migration": LifeMigration,
}
