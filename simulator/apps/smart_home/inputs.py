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
def wrist_windows(labels: list[str], user: imu.User, rng: np.random.Generator) -> np.ndarray:
    """2 s IMU windows ``(N, 6, 100)`` of the wearer doing each of ``labels``."""
    if not labels:
        return np.zeros((0, *imu.INPUT_SHAPE), np.float32)
    return np.stack([imu.window(imu.CLASSES.index(label), user, rng) for label in labels])
