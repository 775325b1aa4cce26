"""Synthetic wrist IMU windows for the watch's ``gesture_imu`` model, with per-user variation.

A window is 2 s at 50 Hz of a 3-axis accelerometer (g, specific force, +1 g up at rest)
and a 3-axis gyroscope (rad/s), shape ``(6, 100)``: ``ax ay az gx gy gz``.

Each gesture is a forearm orientation trajectory (yaw, pitch, roll) plus linear
acceleration in the world frame; the sensor readings are derived from it physically
(``f = R^T (a + g)``, ``omega = vee(R^T dR/dt)``), so accelerometer and gyroscope agree.

Every wearer is different (``make_user``): tempo, amplitude, rest posture, how the watch
sits on the wrist (a mounting rotation), which wrist (a mirror), sensor biases and noise,
and which activities they do most (``activity_mix``, for non-IID federated clients).
``generate(user, n, rng)`` draws windows for one wearer; ``make_dataset(split, n, seed)``
pools a split's users, and the ``test`` users are never seen in training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASSES: tuple[str, ...] = ("still", "walk", "run", "wave", "clap", "raise_wrist", "twist")
RATE_HZ = 50
WINDOW_S = 2.0
N_SAMPLES = int(RATE_HZ * WINDOW_S)
CHANNELS: tuple[str, ...] = ("ax", "ay", "az", "gx", "gy", "gz")
INPUT_SHAPE: tuple[int, ...] = (len(CHANNELS), N_SAMPLES)
SPLITS: dict[str, int] = {"train": 0, "val": 1, "test": 2}
VERSION = "3"  # bump when the generated data change (caches key on it)
USERS_PER_SPLIT: dict[str, int] = {"train": 12, "val": 8, "test": 20}

_T = np.arange(N_SAMPLES) / RATE_HZ


@dataclass(frozen=True)
class User:
    """One wearer: how they move and how their watch measures it."""

    user_id: str
    tempo: float  # multiplies every gesture frequency
    amplitude: float  # multiplies swing angles and linear accelerations
    rest_pitch: float  # forearm elevation when idle (rad; -1.5 hanging, 0 on a desk)
    mount: np.ndarray  # (3, 3) rotation of the watch on the wrist
    left_wrist: bool  # mirrors the lateral axis
    accel_bias_g: np.ndarray  # (3,)
    gyro_bias_rad_s: np.ndarray  # (3,)
    accel_noise_g: float
    gyro_noise_rad_s: float
    activity_mix: np.ndarray  # (n_classes,) how often this wearer does each gesture


def _rotation(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Body-to-world rotation matrices (T, 3, 3) for z-y-x Euler angles."""
    cy, sy, cp, sp, cr, sr = (
        np.cos(yaw),
        np.sin(yaw),
        np.cos(pitch),
        np.sin(pitch),
        np.cos(roll),
        np.sin(roll),
    )
    return np.stack(
        [
            np.stack([cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr], -1),
            np.stack([sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr], -1),
            np.stack([-sp, cp * sr, cp * cr], -1),
        ],
        -2,
    )


def _small_rotation(rng: np.random.Generator, max_rad: float) -> np.ndarray:
    yaw, pitch, roll = rng.uniform(-max_rad, max_rad, 3)
    return _rotation(np.array([yaw]), np.array([pitch]), np.array([roll]))[0]


def make_user(rng: np.random.Generator, user_id: str = "user") -> User:
    """A random wearer (see ``User``)."""
    return User(
        user_id=user_id,
        tempo=float(rng.uniform(0.8, 1.25)),
        amplitude=float(rng.uniform(0.55, 1.5)),
        rest_pitch=float(rng.uniform(-1.4, 0.2)),
        mount=_small_rotation(rng, 0.6),
        left_wrist=bool(rng.random() < 0.7),
        accel_bias_g=rng.normal(0, 0.04, 3),
        gyro_bias_rad_s=rng.normal(0, 0.04, 3),
        accel_noise_g=float(rng.uniform(0.02, 0.1)),
        gyro_noise_rad_s=float(rng.uniform(0.02, 0.2)),
        activity_mix=rng.dirichlet(np.full(len(CLASSES), 0.7)),
    )


def users(split: str, count: int | None = None, seed: int = 0) -> list[User]:
    """The wearers of a split; disjoint seed streams keep ``test`` users out of training."""
    count = USERS_PER_SPLIT[split] if count is None else count
    return [
        make_user(np.random.default_rng([seed, SPLITS[split], i, 0x1A1]), f"{split}-{i:03d}")
        for i in range(count)
    ]


# ----------------------------------------------------------------------------- gestures
def _smoothstep(t: np.ndarray, start: float, duration: float) -> np.ndarray:
    s = np.clip((t - start) / duration, 0, 1)
    return s * s * (3 - 2 * s)


def _wander(rng: np.random.Generator, scale: float) -> np.ndarray:
    """Slow random drift of an angle (posture is never perfectly held)."""
    knots = rng.normal(0, scale, 5)
    return np.interp(_T, np.linspace(0, WINDOW_S, 5), knots)


def _gesture(label: int, user: User, rng: np.random.Generator):
    """(yaw, pitch, roll, linear accel world (T, 3)) of one gesture window."""
    name = CLASSES[label]
    amp = user.amplitude * rng.uniform(0.75, 1.25)
    tempo = user.tempo * rng.uniform(0.85, 1.15)
    phase = rng.uniform(0, 2 * np.pi)
    yaw = rng.uniform(-np.pi, np.pi) + _wander(rng, 0.05)
    pitch = np.full(N_SAMPLES, user.rest_pitch + rng.normal(0, 0.2)) + _wander(rng, 0.05)
    roll = np.full(N_SAMPLES, rng.normal(0, 0.3)) + _wander(rng, 0.05)
    lin = np.zeros((N_SAMPLES, 3))
    if name == "still":
        tremor = rng.uniform(0.002, 0.01)
        pitch += tremor * np.sin(2 * np.pi * rng.uniform(6, 11) * _T + phase)
        if rng.random() < 0.5:  # a fidget: shifting the arm, scratching
            fidget = _smoothstep(_T, rng.uniform(0, 1.5), rng.uniform(0.3, 0.8))
            pitch += rng.normal(0, 0.3) * fidget
            roll += rng.normal(0, 0.3) * fidget
    elif name in ("walk", "run"):
        running = name == "run"
        f = tempo * (rng.uniform(1.15, 1.55) if running else rng.uniform(0.75, 1.1))
        pitch = (rng.uniform(-1.1, 0.0) if running else rng.uniform(-1.5, -0.5)) + _wander(rng, 0.05)
        swing = amp * (rng.uniform(0.35, 0.8) if running else rng.uniform(0.15, 0.5))
        pitch = pitch + swing * np.sin(2 * np.pi * f * _T + phase)
        yaw = yaw + 0.3 * swing * np.sin(2 * np.pi * f * _T + phase + 0.5)
        bounce = amp * (rng.uniform(0.35, 1.1) if running else rng.uniform(0.1, 0.4))
        step = np.abs(np.sin(np.pi * 2 * f * _T / 2 + phase)) ** (4 if running else 2)
        lin[:, 2] = bounce * (step - step.mean())
        lin[:, 0] = 0.3 * bounce * np.sin(2 * np.pi * f * _T + phase)
    elif name == "wave":
        f = tempo * rng.uniform(1.5, 2.8)
        pitch = rng.uniform(0.5, 1.4) + _wander(rng, 0.05)  # hand up
        yaw = yaw + amp * rng.uniform(0.2, 0.7) * np.sin(2 * np.pi * f * _T + phase)
        roll = roll + amp * rng.uniform(0.0, 0.5) * np.sin(2 * np.pi * f * _T + phase + 1.0)
        lin[:, 1] = amp * rng.uniform(0.2, 0.6) * np.sin(2 * np.pi * f * _T + phase)
    elif name == "clap":
        f = tempo * rng.uniform(1.8, 3.2)
        pitch = rng.uniform(-0.3, 0.4) + _wander(rng, 0.05)
        roll = roll + rng.choice([-1, 1]) * 1.2
        yaw = yaw + amp * rng.uniform(0.15, 0.35) * np.sin(2 * np.pi * f * _T + phase)
        hits = np.arange(phase / (2 * np.pi * f), WINDOW_S, 1 / f)
        impact = np.zeros(N_SAMPLES)
        for hit in hits:
            dt = _T - hit
            impact += np.where(dt >= 0, np.exp(-np.maximum(dt, 0) / 0.02) * np.cos(2 * np.pi * 25 * dt), 0)
        lin[:, 1] = amp * rng.uniform(0.3, 2.5) * impact
    elif name == "raise_wrist":
        start, duration = rng.uniform(0.1, 1.1), rng.uniform(0.35, 0.8) / tempo
        lift = _smoothstep(_T, start, duration)
        pitch = pitch + (rng.uniform(0.0, 0.5) - pitch[0]) * lift
        roll = roll + (rng.uniform(-1.6, -1.0) - roll[0]) * lift
        lin[:, 2] = amp * 0.3 * np.gradient(np.gradient(lift)) * RATE_HZ
    elif name == "twist":
        f = tempo * rng.uniform(0.9, 2.0)
        pitch = rng.uniform(-0.4, 0.9) + _wander(rng, 0.05)
        roll = roll + amp * rng.uniform(0.25, 1.0) * np.sin(2 * np.pi * f * _T + phase)
        yaw = yaw + amp * rng.uniform(0.0, 0.25) * np.sin(2 * np.pi * f * _T + phase + 0.7)
        lin[:, 0] = rng.normal(0, 0.05) * np.sin(2 * np.pi * f * _T + phase)
    if name in ("wave", "clap", "twist"):  # the gesture fills only part of the window
        duration = rng.uniform(0.6, WINDOW_S)
        active = _smoothstep(_T, start := rng.uniform(0, WINDOW_S - duration), 0.15)
        active *= 1 - _smoothstep(_T, start + duration - 0.15, 0.15)
        rest_yaw, rest_pitch, rest_roll = yaw.mean(), pitch.mean(), roll.mean()
        yaw = rest_yaw + (yaw - rest_yaw) * active
        pitch = rest_pitch + (pitch - rest_pitch) * active
        roll = rest_roll + (roll - rest_roll) * active
        lin = lin * active[:, None]
    return yaw, pitch, roll, lin


def _measure(user: User, yaw, pitch, roll, lin, rng: np.random.Generator) -> np.ndarray:
    rot = _rotation(yaw, pitch, roll) @ user.mount.T  # sensor-to-world
    specific_force = lin + np.array([0.0, 0.0, 1.0])
    accel = np.einsum("tji,tj->ti", rot, specific_force)
    rot_dot = np.gradient(rot, 1 / RATE_HZ, axis=0)
    omega_hat = np.einsum("tji,tjk->tik", rot, rot_dot)
    gyro = np.stack([omega_hat[:, 2, 1], omega_hat[:, 0, 2], omega_hat[:, 1, 0]], -1)
    if user.left_wrist:  # mirror through the lateral plane: vectors flip y, pseudo-vectors x and z
        accel = accel * [1, -1, 1]
        gyro = gyro * [-1, 1, -1]
    accel = accel + user.accel_bias_g + rng.normal(0, user.accel_noise_g, accel.shape)
    gyro = gyro + user.gyro_bias_rad_s + rng.normal(0, user.gyro_noise_rad_s, gyro.shape)
    return np.concatenate([accel, gyro], axis=1).T.astype(np.float32)


def window(label: int, user: User, rng: np.random.Generator) -> np.ndarray:
    """One ``(6, 100)`` window of gesture ``CLASSES[label]`` performed by ``user``."""
    return _measure(user, *_gesture(label, user, rng), rng)


def generate(
    user: User, n: int, rng: np.random.Generator, balanced: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` windows of one wearer: balanced classes, or drawn from ``user.activity_mix``."""
    if balanced:
        y = rng.permutation(np.arange(n) % len(CLASSES))
    else:
        y = rng.choice(len(CLASSES), size=n, p=user.activity_mix)
    x = (
        np.stack([window(int(label), user, rng) for label in y])
        if n
        else np.empty((0, *INPUT_SHAPE), np.float32)
    )
    return x, y.astype(np.int64)


def make_dataset(split: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` balanced, shuffled windows pooled over the split's users."""
    rng = np.random.default_rng([seed, SPLITS[split], 0x60D])
    y = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    people = users(split, seed=seed)
    who = rng.permutation(np.arange(n) % len(people))
    x = np.empty((n, *INPUT_SHAPE), np.float32)
    for i in range(n):
        x[i] = window(int(y[i]), people[who[i]], rng)
    return x, y
