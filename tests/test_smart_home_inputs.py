"""The smart home's inputs: IMU windows generated as whole arrays follow the model lab's
per-window generator (same physics exactly, same distribution of motions); the cache's
keys change with what the inputs are made of."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.data import imu
from simulator.apps.smart_home import inputs


@pytest.fixture(scope="module")
def wearer() -> imu.User:
    return imu.make_user(np.random.default_rng(7))


def test_measuring_many_windows_is_the_lab_physics_exactly(wearer):
    rng = np.random.default_rng(0)
    drawn = [
        imu._gesture(imu.CLASSES.index(name), wearer, rng) for name in ("walk", "wave", "twist", "still")
    ]
    yaw, pitch, roll, lin = (np.stack([d[i] for d in drawn]) for i in range(4))
    quiet = dataclasses.replace(wearer, accel_noise_g=0.0, gyro_noise_rad_s=0.0)
    batch = inputs._measure(quiet, yaw, pitch, roll, lin, np.random.default_rng(1))
    one_by_one = [
        imu._measure(quiet, yaw[i], pitch[i], roll[i], lin[i], np.random.default_rng(1)) for i in range(4)
    ]
    np.testing.assert_allclose(batch, np.stack(one_by_one), atol=1e-6)


def _summary(windows: np.ndarray) -> np.ndarray:
    """Per window: each channel's mean and spread (posture and how much it moves)."""
    return np.concatenate([windows.mean(axis=2), windows.std(axis=2)], axis=1)


@pytest.mark.parametrize("name", ["still", "walk", "run"])
def test_vectorised_windows_follow_the_lab_distribution(wearer, name):
    n = 400
    batch = inputs.wrist_windows([name] * n, wearer, np.random.default_rng(1))
    rng = np.random.default_rng(2)
    lab = np.stack([imu.window(imu.CLASSES.index(name), wearer, rng) for _ in range(n)])
    a, b = _summary(batch), _summary(lab)
    # Each statistic's mean over windows agrees within 4 standard errors.
    se = np.sqrt(a.var(axis=0) / n + b.var(axis=0) / n) + 1e-6
    assert np.all(np.abs(a.mean(axis=0) - b.mean(axis=0)) < 4 * se), name
    assert np.allclose(a.std(axis=0), b.std(axis=0), rtol=0.25, atol=0.01)


def test_windows_of_a_night_keep_their_order_and_labels(wearer):
    labels = ["still"] * 5 + ["wave"] + ["walk"] * 3 + ["still"]
    windows = inputs.wrist_windows(labels, wearer, np.random.default_rng(3))
    assert windows.shape == (len(labels), *imu.INPUT_SHAPE) and windows.dtype == np.float32
    spread = windows[:, 3:].std(axis=2).mean(axis=1)  # gyroscope activity
    assert spread[5] > spread[:5].max() and spread[6:9].min() > spread[:5].max()


def test_empty_frames_made_together_are_the_frames_made_one_by_one():
    scene = inputs.CameraScene(np.random.default_rng(3))
    modes = ["day", "ir", "ir", "day", "ir"]
    together = scene.empty_frames(modes, [np.random.default_rng(i) for i in range(5)])
    alone = np.stack([scene.frame(None, m, np.random.default_rng(i)) for i, m in enumerate(modes)])
    assert together.dtype == alone.dtype == np.float32
    assert np.array_equal(together, alone)
