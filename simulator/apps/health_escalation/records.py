"""The health app's records: escalation steps, ground-truth episodes, the wearer's activity."""

from __future__ import annotations

from typing import NamedTuple

STAGES = (
    "watch_flag",
    "ecg_capture",
    "ecg_sent",
    "watch_fallback_alert",
    "phone_confirm",
    "phone_dismiss",
    "doctor_alert",
)


class Escalation(NamedTuple):
    """A step of the escalation chain (watch_flag → ecg_capture → … → doctor_alert), or
    the threshold rule's ``baseline_alert``."""

    t: float
    app: str
    device: str
    stage: str
    episode: int
    label: str
    detail: str


class Episode(NamedTuple):
    """Ground truth: an arrhythmia episode the app should detect, from ``t`` to ``end_t``."""

    t: float
    app: str
    end_t: float
    kind: str
    episode: int


class Activity(NamedTuple):
    """The wearer's activity changed (sleep, rest, commute, exercise…)."""

    t: float
    app: str
    activity: str


class HeRisk(NamedTuple):
    """A step of the encrypted cloud risk (``encrypt`` on the phone, ``evaluate`` on the
    cloud, ``decrypt`` on the phone): ``size_bytes`` it sends on (framed), the plaintext
    model's risk of the same features (the comparison) and, once decrypted, the phone's risk."""

    t: float
    app: str
    device: str
    step: str
    episode: int
    size_bytes: int
    plain: float
    decrypted: float | None
