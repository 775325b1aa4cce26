"""Drift of one wearer's IMU data: how the watch's input distribution changes from given days.

A :class:`Drift` is a parameterized transform of the ``models.data.imu`` generator, applied
from ``start_day`` on; the generator itself is untouched (shipped scenarios depend on what
it returns). Three kinds, each outside what the training wearers cover:

- ``new_sport``: the wearer takes up boxing-style training: faster, wider movements
  (tempo and amplitude beyond the training range) and more of the vigorous classes.
- ``other_wrist``: the watch moves to the other wrist and sits on its inner side (mirror
  plus a turn of the case about the forearm that training never shows).
- ``sensor_ageing``: the accelerometer's gain and the gyroscope's bias drift a little more
  each day since the onset, and the noise grows (MEMS ageing and a loosening strap).

``severity`` scales each kind (1 = the default magnitude). Drifts compose in start order;
:func:`wearer_on_day` gives the wearer (and the post-measurement transform) of a day.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from models.data import imu

KINDS: tuple[str, ...] = ("new_sport", "other_wrist", "sensor_ageing")
VIGOROUS = ("run", "clap", "twist", "wave")


@dataclass(frozen=True)
class Drift:
    """A change of the wearer's data from ``start_day`` (a float: day 7.5 is noon of day 7)."""

    kind: str
    start_day: float
    severity: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"drift kind must be one of {', '.join(KINDS)}, got {self.kind!r}")


@dataclass(frozen=True)
class SensorTransform:
    """Applied to measured windows: per-axis accelerometer gain and extra biases/noise."""

    accel_gain: np.ndarray  # (3,)
    accel_bias_g: np.ndarray  # (3,)
    gyro_bias_rad_s: np.ndarray  # (3,)
    extra_noise: float  # extra noise as a share of each channel's own spread

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = x.copy()
        x[:, :3] = x[:, :3] * self.accel_gain[None, :, None] + self.accel_bias_g[None, :, None]
        x[:, 3:] = x[:, 3:] + self.gyro_bias_rad_s[None, :, None]
        if self.extra_noise > 0:
            spread = x.std(axis=2, keepdims=True)
            x = x + rng.normal(0.0, 1.0, x.shape).astype(np.float32) * self.extra_noise * spread
        return x.astype(np.float32)


IDENTITY = SensorTransform(np.ones(3), np.zeros(3), np.zeros(3), 0.0)


def _turn_about_forearm(angle_rad: float) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def wearer_on_day(
    user: imu.User, drifts: list[Drift], day: float
) -> tuple[imu.User, SensorTransform, np.ndarray]:
    """The wearer on ``day`` with every drift begun by then: ``(user, transform, mix)``
    where ``mix`` is how often they do each class that day."""
    mix = np.full(len(imu.CLASSES), 1.0 / len(imu.CLASSES))
    transform = IDENTITY
    for drift in sorted(drifts, key=lambda d: d.start_day):
        if day < drift.start_day:
            continue
        k = drift.severity
        if drift.kind == "new_sport":
            user = dataclasses.replace(
                user, tempo=user.tempo * (1 + 0.45 * k), amplitude=user.amplitude * (1 + 0.9 * k)
            )
            weights = np.array([2.0 if c in VIGOROUS else 1.0 for c in imu.CLASSES])
            mix = mix * weights / (mix * weights).sum()
        elif drift.kind == "other_wrist":
            user = dataclasses.replace(
                user,
                left_wrist=not user.left_wrist,
                mount=_turn_about_forearm(np.pi * 0.6 * min(k, 1.6)) @ user.mount,
            )
        else:  # sensor_ageing: grows with the days since the onset (a month ≈ full effect)
            age = min((day - drift.start_day) / 30.0 + 0.35, 1.0) * k
            transform = SensorTransform(
                accel_gain=np.array([1 - 0.5 * age, 1 + 0.4 * age, 1 - 0.45 * age]),
                accel_bias_g=np.array([0.5, -0.4, 0.35]) * age,
                gyro_bias_rad_s=np.array([1.2, -0.9, 1.0]) * age,
                extra_noise=0.8 * age,
            )
    return user, transform, mix


def windows_on_day(
    user: imu.User,
    drifts: list[Drift],
    day: float,
    labels: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Windows of the given class ``labels`` performed by ``user`` on ``day`` (with drift)."""
    who, transform, _ = wearer_on_day(user, drifts, day)
    if len(labels) == 0:
        return np.empty((0, *imu.INPUT_SHAPE), np.float32)
    x = np.stack([imu.window(int(label), who, rng) for label in labels])
    return transform(x, rng)


def labels_on_day(
    user: imu.User, drifts: list[Drift], day: float, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` classes the wearer does on ``day``, drawn from that day's mix."""
    _, _, mix = wearer_on_day(user, drifts, day)
    return rng.choice(len(imu.CLASSES), size=n, p=mix).astype(np.int64)
