"""Cheap gates in front of the models, as real devices have them: frame differencing in
front of the camera's detector (Frigate runs its object detector only where motion is),
a voice-activity detector in front of the keyword spotter, and the IMU's any-motion wake-up
in front of the gesture model. Each is a statistic of the real input and a threshold
(app params). Pure numpy.
"""

from __future__ import annotations

import numpy as np

from models.data import audio

# Operations per frame of the motion gate (luma of 64 x 64 x 3, 4 x 4 block means, a
# difference and a compare per 16 x 16 pixel): what the camera's CPU pays per frame.
MOTION_OPS_PER_FRAME = 64 * 64 * 3 + 64 * 64 + 2 * 16 * 16
MOTION_BYTES_PER_FRAME = 64 * 64 * 3


def changed_pixels(previous: np.ndarray, current: np.ndarray, pixel_threshold: float) -> np.ndarray:
    """Frame differencing: how many motion pixels changed by more than ``pixel_threshold``."""
    return (np.abs(current - previous) > pixel_threshold).sum(axis=(-2, -1))


def voice_activity(clips: np.ndarray, frame_s: float = 0.02) -> np.ndarray:
    """Peak over median short-time RMS of each clip (20 ms frames): a voice-activity
    detector's signal-to-floor ratio (stationary room noise stays near 1)."""
    n = int(audio.SAMPLE_RATE * frame_s)
    frames = clips[:, : clips.shape[1] // n * n].reshape(len(clips), -1, n)
    rms = np.sqrt((frames**2).mean(axis=2))
    return rms.max(axis=1) / np.maximum(np.median(rms, axis=1), 1e-9)


def wrist_motion(windows: np.ndarray, smooth: int = 10) -> np.ndarray:
    """Peak rotation rate (rad/s) of each IMU window ``(N, 6, T)``, smoothed over
    ``smooth`` samples and with the gyroscope's bias (the window's median) removed: the
    any-motion wake-up a watch's IMU computes in hardware."""
    gyro = windows[:, 3:, :].astype(np.float64)
    csum = np.cumsum(np.pad(gyro, ((0, 0), (0, 0), (1, 0))), axis=2)
    smoothed = (csum[:, :, smooth:] - csum[:, :, :-smooth]) / smooth
    smoothed -= np.median(smoothed, axis=2, keepdims=True)
    return np.linalg.norm(smoothed, axis=1).max(axis=1)
