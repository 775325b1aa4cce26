"""The wearer's days as the watch sees them: window times, classes, windows, labels (numpy).

Each day's windows are drawn from their own RNG stream (``day<d>``), so a day's data do not
depend on what happened before it; drift (``models.lifecycle.drift``) applies from its own
start day, window by window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.data import imu
from models.lifecycle.drift import Drift, labels_on_day, windows_on_day

DAY_S = 86400.0


@dataclass
class DayWindows:
    """The windows of one wearing day."""

    day: int
    times_s: np.ndarray  # simulated times
    labels: np.ndarray  # true classes
    x: np.ndarray  # (n, 6, 100)
    labelled: np.ndarray  # bool: the wearer confirmed or corrected this window


DEVICE_DRIFTS = ("sensor_ageing",)  # a property of the hardware, not of the wearer


def drifts_of(params: dict, device: str) -> list[Drift]:
    """The drifts in the data measured by ``device``: the wearer's, and its own hardware's."""
    return [
        Drift(d["kind"], d["day"], d["severity"])
        for d in params["drifts"]
        if d["kind"] not in DEVICE_DRIFTS or d["device"] == device
    ]


def _groups(times_s: np.ndarray, drifts: list[Drift]) -> np.ndarray:
    """A key per window: how many drifts have begun by then (and the whole day for ageing)."""
    days = times_s / DAY_S
    return np.array([sum(day >= d.start_day for d in drifts) for day in days])


def wearing_day(
    user: imu.User, drifts: list[Drift], day: int, params: dict, rng: np.random.Generator
) -> DayWindows:
    """Windows every ``window_every_s`` from ``wake`` to ``bedtime`` of ``day``."""
    start = day * DAY_S + params["wake"]
    end = day * DAY_S + params["bedtime"]
    times = np.arange(start, end, params["window_every_s"], dtype=float)
    keys = _groups(times, drifts)
    labels = np.empty(len(times), np.int64)
    x = np.empty((len(times), *imu.INPUT_SHAPE), np.float32)
    for key in np.unique(keys):
        index = np.flatnonzero(keys == key)
        moment = float(times[index[0]] / DAY_S)
        labels[index] = labels_on_day(user, drifts, moment, len(index), rng)
        x[index] = windows_on_day(user, drifts, moment, labels[index], rng)
    labelled = rng.random(len(times)) < params["label_share"]
    return DayWindows(day, times, labels, x, labelled)


def heldout_day(
    user: imu.User, drifts: list[Drift], day: float, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` balanced windows of the wearer on ``day`` (the daily held-out evaluation)."""
    labels = (np.arange(n) % len(imu.CLASSES)).astype(np.int64)
    return windows_on_day(user, drifts, day, labels, rng), labels
