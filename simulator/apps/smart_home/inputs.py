"""Real inputs for the chains, synthesized from the ground truth with the model lab's own
generators: camera frames (``models.data.images``), 1 s audio clips spoken by espeak-ng
voices (``models.data.audio``) and 2 s wrist IMU windows (``models.data.imu``).

Frames: each camera has a fixed scene (background and clutter drawn once from its seed);
an object of the ground truth is composited on it with the lab's renderer, a moving one in
a new pose each frame, the package in one pose. The light decides colour (lights on) or
infrared (dark: grayscale, vignetting, more sensor noise). Frames that carry an object (or
that the detector must see) are rendered at the detector's 64 × 64; empty frames are
drawn directly at the motion detector's 16 × 16 from the same sensor-noise model (the
noise of a 4 × 4 block mean of Gaussian pixel noise is Gaussian with known variance), so
the gate can look at every frame of a night without rendering each one in full.

Audio: the residents and the TV speak with held-out (``test``) espeak-ng voices, never heard
in training; words are synthesized once and cached by ``models.data.audio.ClipBank``.

These helpers use a few of the generators' private building blocks (the scene and camera
steps of ``images.render``, the plan/render steps of ``audio.make_audio``): the public
functions draw a fresh random scene or clip per call, and a camera needs one scene over
many frames. Pure numpy (no torch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.data import audio, images, imu

MOTION_BLOCK = 4  # 64 x 64 frames → 16 x 16 for motion detection (Frigate also downscales)
LUMA = np.array([0.3, 0.55, 0.15], np.float32)
IR_WEIGHTS = np.array([0.35, 0.45, 0.2], np.float32)  # as images._camera's infrared
DAY_NOISE = 0.03
IR_NOISE = 0.07
_YY, _XX = np.mgrid[0 : images.SIZE, 0 : images.SIZE].astype(np.float32) + 0.5
_VIGNETTE = 1.0 - 0.5 * ((_XX - images.SIZE / 2) ** 2 + (_YY - images.SIZE / 2) ** 2) / (images.SIZE / 2) ** 2


def downscale(gray: np.ndarray) -> np.ndarray:
    """Block means ``(..., 64, 64) → (..., 16, 16)``."""
    size = images.SIZE // MOTION_BLOCK
    shape = (*gray.shape[:-2], size, MOTION_BLOCK, size, MOTION_BLOCK)
    return gray.reshape(shape).mean(axis=(-3, -1))


class CameraScene:
    """One camera's fixed view, and frames of it (see module docstring)."""

    def __init__(self, rng: np.random.Generator) -> None:
        background = images._background(rng)
        images._clutter(background, rng)
        self.background = background  # (64, 64, 3)
        self._clean = {mode: self._develop(background, mode) for mode in ("day", "ir")}
        self._noise_scale = {m: np.sqrt(img + 0.05) for m, img in self._clean.items()}
        self._motion_mean = {m: downscale(img @ LUMA) for m, img in self._clean.items()}
        self._motion_std = {m: self._small_noise_std(img, m) for m, img in self._clean.items()}

    @staticmethod
    def _develop(img: np.ndarray, mode: str) -> np.ndarray:
        """The sensor's clean image of ``img`` (64, 64, 3): colour or infrared."""
        if mode == "ir":
            gray = (img @ IR_WEIGHTS) * _VIGNETTE
            return np.repeat(np.clip(gray, 0, 1)[..., None], 3, axis=2).astype(np.float32)
        return np.clip(img, 0, 1).astype(np.float32)

    @staticmethod
    def _small_noise_std(clean: np.ndarray, mode: str) -> np.ndarray:
        """Std of the motion view's pixels of an empty frame: the noise of each channel is
        independent, σ·sqrt(pixel + 0.05) as in ``frame``; luma and block mean are linear."""
        sigma = IR_NOISE if mode == "ir" else DAY_NOISE
        pixel_var = (sigma**2) * (clean + 0.05) @ (LUMA**2)
        return np.sqrt(downscale(pixel_var) / MOTION_BLOCK**2).astype(np.float32)

    def frame(
        self,
        label: str | None,
        mode: str,
        rng: np.random.Generator,
        pose_rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """One 64 × 64 frame (3, 64, 64) float32: ``label`` composited (``None``: empty)
        in a pose from ``pose_rng`` (default ``rng``), with fresh sensor noise from ``rng``."""
        if label is None or label == "empty":
            clean = self._clean[mode]
        else:
            scene = images._composite(self.background.copy(), label, pose_rng or rng)
            clean = self._develop(scene, mode)
        sigma = IR_NOISE if mode == "ir" else DAY_NOISE
        noisy = clean + rng.normal(0, sigma, clean.shape).astype(np.float32) * np.sqrt(clean + 0.05)
        return np.clip(noisy, 0, 1).transpose(2, 0, 1).astype(np.float32)

    def empty_frames(self, modes: list[str], rngs: list[np.random.Generator]) -> np.ndarray:
        """``frame(None, modes[i], rngs[i])`` for every ``i``, the same values, with the
        arithmetic done for all frames at once (only the noise is drawn frame by frame)."""
        size = images.SIZE
        noise = np.empty((len(modes), size, size, 3), np.float32)
        for i, (mode, rng) in enumerate(zip(modes, rngs, strict=True)):
            noise[i] = rng.normal(0, IR_NOISE if mode == "ir" else DAY_NOISE, (size, size, 3))
        out = np.empty((len(modes), 3, size, size), np.float32)
        for mode in ("day", "ir"):
            rows = [i for i, m in enumerate(modes) if m == mode]
            if rows:
                clean = self._clean[mode]
                noisy = clean + noise[rows] * self._noise_scale[mode]
                out[rows] = np.clip(noisy, 0, 1).transpose(0, 3, 1, 2)
        return out

    def empty_motion_frames(self, modes: list[str], rng: np.random.Generator) -> np.ndarray:
        """Empty frames as the motion detector sees them (16 × 16), one per mode given."""
        out = np.empty((len(modes), images.SIZE // MOTION_BLOCK, images.SIZE // MOTION_BLOCK), np.float32)
        noise = rng.standard_normal(out.shape).astype(np.float32)
        for mode in ("day", "ir"):
            rows = np.fromiter((m == mode for m in modes), bool, len(modes))
            out[rows] = self._motion_mean[mode] + self._motion_std[mode] * noise[rows]
        return out


def motion_view(frames: np.ndarray) -> np.ndarray:
    """What the motion detector sees of 64 × 64 frames ``(N, 3, 64, 64)``: 16 × 16 luma."""
    return downscale(np.einsum("nchw,c->nhw", frames, LUMA))


# ----------------------------------------------------------------------------- audio
@dataclass(frozen=True)
class Speakers:
    """The voices of the night (held-out espeak-ng voices, fixed prosody per speaker)."""

    utterance_of: tuple  # per voice index: (voice, speed_wpm, pitch)

    @classmethod
    def draw(cls, n: int, rng: np.random.Generator) -> Speakers:
        pool = audio.voices("test")
        return cls(
            tuple(
                (
                    pool[int(rng.integers(len(pool)))],
                    int(rng.choice([140, 160, 180])),
                    int(rng.choice([35, 50, 65])),
                )
                for _ in range(n)
            )
        )

    def utterance(self, word: str, voice: int) -> audio.Utterance:
        name, speed, pitch = self.utterance_of[voice]
        return audio.Utterance(text=audio.SPOKEN.get(word, word), voice=name, speed_wpm=speed, pitch=pitch)


def speech_windows(
    words: list[tuple[str | None, int]], speakers: Speakers, rng: np.random.Generator
) -> np.ndarray:
    """1 s clips ``(N, 16000)``: each ``(word, voice)`` spoken in the room's noise and
    reverberation (``None``: a household noise, no word). Needs espeak-ng or its cache."""
    utterances = [None if w is None else speakers.utterance(w, v) for w, v in words]
    bank = audio.ClipBank("test")
    bank.fill([u for u in utterances if u is not None])
    bank.save()
    silence, unknown = audio.CLASSES.index("silence"), audio.CLASSES.index("unknown")
    clips = [
        audio._render(audio._Plan(silence if u is None else unknown, u, ()), bank, rng) for u in utterances
    ]
    return np.stack(clips) if clips else np.zeros((0, audio.SAMPLE_RATE), np.float32)


# ----------------------------------------------------------------------------- IMU
# The IMU windows of a night are generated as whole arrays: the lab's ``imu.window`` draws
# one window at a time (3.3 s for a night's 11,461 windows here). The two activities that
# fill a night, sitting still and walking, follow ``imu._gesture``'s formulas with every
# draw made for all windows at once; the few gestures (a handful a night) come from
# ``imu._gesture`` itself; all are measured together with ``imu._measure``'s physics.
_WANDER = np.stack(
    [np.interp(imu._T, np.linspace(0, imu.WINDOW_S, 5), np.eye(5)[i]) for i in range(5)]
)  # (5, T): imu._wander's interpolation of 5 knots, as a matrix
_IMU_CHUNK = 2048


def _wander(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    knots = rng.normal(0, scale, (n, 5))
    return sum(knots[:, j, None] * _WANDER[j] for j in range(5))  # a (n, 5) @ (5, T) BLAS call was slower


def _posture(user: imu.User, n: int, rng: np.random.Generator):
    """The draws every gesture of ``imu._gesture`` starts with, for ``n`` windows: amplitude,
    tempo, phase ``(n, 1)`` and yaw, pitch, roll ``(n, T)``."""
    amp = user.amplitude * rng.uniform(0.75, 1.25, (n, 1))
    tempo = user.tempo * rng.uniform(0.85, 1.15, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    yaw = rng.uniform(-np.pi, np.pi, (n, 1)) + _wander(rng, n, 0.05)
    pitch = user.rest_pitch + rng.normal(0, 0.2, (n, 1)) + _wander(rng, n, 0.05)
    roll = rng.normal(0, 0.3, (n, 1)) + _wander(rng, n, 0.05)
    return amp, tempo, phase, yaw, pitch, roll


def _still(user: imu.User, n: int, rng: np.random.Generator):
    """``imu._gesture``'s ``still`` for ``n`` windows: a tremor, and a fidget in half of them."""
    t = imu._T
    _, _, phase, yaw, pitch, roll = _posture(user, n, rng)
    tremor = rng.uniform(0.002, 0.01, (n, 1))
    pitch = pitch + tremor * np.sin(2 * np.pi * rng.uniform(6, 11, (n, 1)) * t + phase)
    fidgets = rng.random((n, 1)) < 0.5
    fidget = imu._smoothstep(t, rng.uniform(0, 1.5, (n, 1)), rng.uniform(0.3, 0.8, (n, 1))) * fidgets
    pitch = pitch + rng.normal(0, 0.3, (n, 1)) * fidget
    roll = roll + rng.normal(0, 0.3, (n, 1)) * fidget
    return yaw, pitch, roll, np.zeros((n, imu.N_SAMPLES, 3))


def _walk(user: imu.User, n: int, rng: np.random.Generator, running: bool):
    """``imu._gesture``'s ``walk`` (or ``run``) for ``n`` windows: arm swing and step bounce."""
    t = imu._T
    amp, tempo, phase, yaw, _, roll = _posture(user, n, rng)
    f = tempo * (rng.uniform(1.15, 1.55, (n, 1)) if running else rng.uniform(0.75, 1.1, (n, 1)))
    rest = rng.uniform(-1.1, 0.0, (n, 1)) if running else rng.uniform(-1.5, -0.5, (n, 1))
    pitch = rest + _wander(rng, n, 0.05)
    swing = amp * (rng.uniform(0.35, 0.8, (n, 1)) if running else rng.uniform(0.15, 0.5, (n, 1)))
    pitch = pitch + swing * np.sin(2 * np.pi * f * t + phase)
    yaw = yaw + 0.3 * swing * np.sin(2 * np.pi * f * t + phase + 0.5)
    bounce = amp * (rng.uniform(0.35, 1.1, (n, 1)) if running else rng.uniform(0.1, 0.4, (n, 1)))
    step = np.abs(np.sin(np.pi * 2 * f * t / 2 + phase)) ** (4 if running else 2)
    lin = np.zeros((n, imu.N_SAMPLES, 3))
    lin[:, :, 2] = bounce * (step - step.mean(axis=1, keepdims=True))
    lin[:, :, 0] = 0.3 * bounce * np.sin(2 * np.pi * f * t + phase)
    return yaw, pitch, roll, lin


def _sensor_rotation(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray, mount: np.ndarray) -> list:
    """Sensor-to-world rotations ``imu._rotation(yaw, pitch, roll) @ mount.T`` as a 3 × 3
    nested list of ``(n, T)`` arrays: element by element on contiguous arrays, where
    numpy's batched 3 × 3 products and strided ``(n, T, 3, 3)`` writes were most of the time."""
    cy, sy, cp, sp, cr, sr = (
        np.cos(yaw),
        np.sin(yaw),
        np.cos(pitch),
        np.sin(pitch),
        np.cos(roll),
        np.sin(roll),
    )
    body = [
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ]
    return [[sum(row[j] * mount[k, j] for j in range(3)) for k in range(3)] for row in body]


def _measure(user: imu.User, yaw, pitch, roll, lin, rng: np.random.Generator) -> np.ndarray:
    """``imu._measure`` for ``n`` windows at once: ``(n, T)`` angles → ``(n, 6, T)`` readings:
    ``f = Rᵀ (a + g)`` and ``ω = vee(Rᵀ dR/dt)`` with the same finite differences."""
    rot = _sensor_rotation(yaw, pitch, roll, user.mount)
    rot_dot = [[np.gradient(rot[j][b], 1 / imu.RATE_HZ, axis=1) for b in range(3)] for j in range(3)]
    force = [lin[..., 0], lin[..., 1], lin[..., 2] + 1.0]
    accel = np.stack([sum(rot[j][i] * force[j] for j in range(3)) for i in range(3)], -1)
    # (Rᵀ dR/dt)[a, b] = Σ_j R[j, a] dR[j, b]; vee takes (2, 1), (0, 2), (1, 0)
    gyro = np.stack(
        [sum(rot[j][a] * rot_dot[j][b] for j in range(3)) for a, b in ((2, 1), (0, 2), (1, 0))], -1
    )
    if user.left_wrist:  # as imu._measure: vectors flip y, pseudo-vectors x and z
        accel = accel * [1, -1, 1]
        gyro = gyro * [-1, 1, -1]
    accel = accel + user.accel_bias_g + rng.normal(0, user.accel_noise_g, accel.shape)
    gyro = gyro + user.gyro_bias_rad_s + rng.normal(0, user.gyro_noise_rad_s, gyro.shape)
    return np.concatenate([accel, gyro], axis=2).transpose(0, 2, 1).astype(np.float32)


def wrist_windows(labels: list[str], user: imu.User, rng: np.random.Generator) -> np.ndarray:
    """2 s IMU windows ``(N, 6, 100)`` of the wearer doing each of ``labels``, generated as
    whole arrays (see above); the same distribution as ``imu.window``'s (tested)."""
    out = np.empty((len(labels), *imu.INPUT_SHAPE), np.float32)
    codes = np.array([imu.CLASSES.index(label) for label in labels], np.int64)
    for c in range(0, len(labels), _IMU_CHUNK):
        chunk = codes[c : c + _IMU_CHUNK]
        n = len(chunk)
        yaw, pitch, roll = (np.empty((n, imu.N_SAMPLES)) for _ in range(3))
        lin = np.empty((n, imu.N_SAMPLES, 3))
        for code in np.unique(chunk).tolist():
            rows = np.flatnonzero(chunk == code)
            name = imu.CLASSES[code]
            if name == "still":
                parts = _still(user, len(rows), rng)
            elif name in ("walk", "run"):
                parts = _walk(user, len(rows), rng, running=name == "run")
            else:
                drawn = [imu._gesture(code, user, rng) for _ in rows]
                parts = [np.stack([d[i] for d in drawn]) for i in range(4)]
            yaw[rows], pitch[rows], roll[rows], lin[rows] = parts
        out[c : c + n] = _measure(user, yaw, pitch, roll, lin, rng)
    return out
