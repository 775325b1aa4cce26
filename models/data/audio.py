"""Keyword clips for the smart speaker's ``keyword_spotter``, synthesized with espeak-ng.

No speech data set ships on PyPI, so words are spoken by the Debian ``espeak-ng``
synthesizer (called as a subprocess, WAV on stdout) in many voices: an accent
(``en-us``, ``en-gb-scotland``, ...) combined with a voice variant (``+f3``, ``+klatt2``, ...),
at random speed and pitch. A clip is then placed at a random time in a 1 s window,
reverberated, and mixed with pink/white noise and babble (other words, quieter) at a
random SNR. ``features`` turns 1 s of 16 kHz audio into a 40 x 49 log-mel spectrogram
(25 ms windows, 20 ms hop) computed here in numpy.

Voices are held out: the ``test`` split uses voice variants that ``train`` and ``val``
never use. Synthesized words are cached in ``models/data/cache/`` (git-ignored), so
only the first run pays for espeak-ng.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

CLASSES: tuple[str, ...] = ("hometwin", "yes", "no", "stop", "go", "unknown", "silence")
SPOKEN: dict[str, str] = {"hometwin": "home twin", "yes": "yes", "no": "no", "stop": "stop", "go": "go"}
# Other words, near misses of the keywords included ("home", "twin", "toe", "top", ...).
UNKNOWN_WORDS: tuple[str, ...] = (
    "home", "twin", "hello", "house", "toe", "yet", "yeah", "top", "shop", "goal", "gold",
    "low", "snow", "less", "dog", "cat", "bed", "music", "light", "weather", "timer", "kitchen",
    "morning", "okay", "thanks", "seven", "three", "left", "right", "up", "down", "on", "off",
    "play", "pause", "volume", "tree", "wow", "marvin", "sheila", "happy", "bird", "follow", "learn",
)  # fmt: skip
SAMPLE_RATE = 16_000
ESPEAK_RATE = 22_050
N_MELS = 40
N_FFT = 512
WIN = 400  # 25 ms
HOP = 320  # 20 ms
N_FRAMES = 1 + (SAMPLE_RATE - WIN) // HOP  # 49
INPUT_SHAPE: tuple[int, ...] = (1, N_MELS, N_FRAMES)
SPLITS: dict[str, int] = {"train": 0, "val": 1, "test": 2}
VERSION = "2"  # bump when the generated data change (caches key on it)
BABBLE_POOL = 400

ACCENTS: tuple[str, ...] = (
    "en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc",
)  # fmt: skip
# espeak-ng voice variants; the test split only speaks with TEST_VARIANTS.
TRAIN_VARIANTS: tuple[str, ...] = (
    "m1", "m2", "m3", "m4", "m5", "m6", "f1", "f2", "f4", "klatt", "klatt3", "klatt4", "Alex", "Andy",
    "Annie", "Denis", "Gene", "Hugo", "Jacky", "Lee", "Mario", "Michael", "Storm", "adam", "anika",
    "aunty", "belinda", "benjamin", "boris", "david", "ed", "edward", "grandma", "iven", "iven3", "john",
    "linda", "max", "norbert", "paul", "quincy", "rob", "robert", "steph", "steph3", "travis", "zac",
)  # fmt: skip
TEST_VARIANTS: tuple[str, ...] = (
    "m7", "f3", "f5", "klatt2", "Alicia", "Andrea", "Diogo", "Marco", "Mike", "caleb", "edward2",
    "gustave", "iven2", "michel", "pablo", "shelby", "steph2", "victor",
)  # fmt: skip
CACHE_DIR = Path(__file__).resolve().parent / "cache"
CLIP_VERSION = "2"  # the synthesized words themselves (the cache file name)


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


@dataclass(frozen=True)
class Utterance:
    """One word as espeak-ng says it: text, voice and prosody (a cache key)."""

    text: str
    voice: str  # "accent+variant"
    speed_wpm: int
    pitch: int  # espeak 0..99

    @property
    def key(self) -> str:
        return f"{self.text}|{self.voice}|{self.speed_wpm}|{self.pitch}"


def voices(split: str) -> list[str]:
    """``accent+variant`` voices of a split; ``test`` variants are disjoint from the others."""
    variants = TEST_VARIANTS if split == "test" else TRAIN_VARIANTS
    return [f"{accent}+{variant}" for accent in ACCENTS for variant in variants]


# ----------------------------------------------------------------------------- synthesis
def _resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling by truncating (or padding) the spectrum."""
    n_out = int(round(len(x) * rate_out / rate_in))
    spectrum = np.fft.rfft(x)
    keep = n_out // 2 + 1
    spectrum = spectrum[:keep] if len(spectrum) >= keep else np.pad(spectrum, (0, keep - len(spectrum)))
    return np.fft.irfft(spectrum, n_out) * (n_out / len(x))


def _parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """16-bit mono PCM from espeak's stdout (its header has a bogus streaming length)."""
    buf = io.BytesIO(data)
    assert buf.read(4) == b"RIFF", "espeak-ng did not return a WAV"
    buf.read(8)
    rate = ESPEAK_RATE
    while True:
        header = buf.read(8)
        if len(header) < 8:
            return np.zeros(0, np.float32), rate
        chunk, size = header[:4], int.from_bytes(header[4:], "little")
        if chunk == b"fmt ":
            fmt = buf.read(size)
            rate = int.from_bytes(fmt[4:8], "little")
        elif chunk == b"data":
            pcm = np.frombuffer(data[buf.tell() :], dtype="<i2")
            return pcm.astype(np.float32) / 32768.0, rate
        else:
            buf.read(size)


def synthesize(utt: Utterance) -> np.ndarray:
    """The trimmed word at 16 kHz, float32, peak-normalized; needs ``espeak-ng``."""
    cmd = ["espeak-ng", "-v", utt.voice, "-s", str(utt.speed_wpm), "-p", str(utt.pitch), "--stdout", utt.text]
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=30).stdout
    pcm, rate = _parse_wav(out)
    audio = _resample(pcm, rate, SAMPLE_RATE).astype(np.float32)
    loud = np.flatnonzero(np.abs(audio) > 0.02 * max(np.abs(audio).max(), 1e-6))
    if len(loud):
        audio = audio[max(loud[0] - 160, 0) : loud[-1] + 160]
    audio = audio / max(np.abs(audio).max(), 1e-6)
    # On the int16 grid the cache stores, so cached and fresh clips are bit-identical.
    return np.round(audio * 32767.0).astype(np.int16).astype(np.float32) / 32767.0


class ClipBank:
    """Synthesized words, in memory and in an ``.npz`` cache per split."""

    def __init__(self, split: str, cache_dir: Path | None = CACHE_DIR):
        self.path = None if cache_dir is None else cache_dir / f"espeak-{split}-v{CLIP_VERSION}.npz"
        self.clips: dict[str, np.ndarray] = {}
        self._dirty = False
        self._lock = threading.Lock()
        if self.path is not None and self.path.exists():
            with np.load(self.path) as data:
                self.clips = {k: data[k].astype(np.float32) / 32767.0 for k in data.files}

    def fill(self, utterances: list[Utterance], workers: int = 2) -> None:
        """Synthesize what is missing (subprocesses run in parallel)."""
        missing = sorted(
            {u.key: u for u in utterances if u.key not in self.clips}.values(), key=lambda u: u.key
        )
        if not missing:
            return
        if not espeak_available():
            raise RuntimeError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
        with ThreadPoolExecutor(workers) as pool:
            for utt, audio in zip(missing, pool.map(synthesize, missing), strict=True):
                self.clips[utt.key] = audio
        self._dirty = True

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A name of this process's own: two processes building the cache at once must not
        # write (and rename away) the same temporary file.
        tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp.npz")
        np.savez(tmp, **{k: np.round(v * 32767.0).astype(np.int16) for k, v in self.clips.items()})
        tmp.replace(self.path)
        self._dirty = False

    def __getitem__(self, utt: Utterance) -> np.ndarray:
        return self.clips[utt.key]


# ----------------------------------------------------------------------------- mixing
def _random_utterance(text: str, split: str, rng: np.random.Generator) -> Utterance:
    pool = voices(split)
    # Prosody on a grid so clips repeat across samples and the cache stays small.
    return Utterance(
        text=text,
        voice=pool[rng.integers(len(pool))],
        speed_wpm=int(rng.choice([120, 140, 160, 180, 200, 220])),
        pitch=int(rng.choice([20, 35, 50, 65, 80])),
    )


@cache
def _babble_pool(split: str) -> tuple[Utterance, ...]:
    """A fixed set of background talkers per split (keeps the clip cache small)."""
    rng = np.random.default_rng([SPLITS[split], 0xBAB])
    return tuple(
        _random_utterance(UNKNOWN_WORDS[rng.integers(len(UNKNOWN_WORDS))], split, rng)
        for _ in range(BABBLE_POOL)
    )


def _colored_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power ~ 1/f**exponent (0 white, 1 pink, 2 brown), unit RMS."""
    spectrum = rng.normal(size=n // 2 + 1) + 1j * rng.normal(size=n // 2 + 1)
    freqs = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    noise = np.fft.irfft(spectrum / freqs ** (exponent / 2), n)
    return noise / max(np.sqrt(np.mean(noise**2)), 1e-9)


def _reverb(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rt60_s = rng.uniform(0.1, 0.6)
    n = int(min(rt60_s, 0.4) * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    ir = rng.normal(size=n) * np.exp(-6.9 * t / rt60_s)
    ir[0] = 1.0 / rng.uniform(0.2, 1.0)  # direct path against the room
    size = 1 << int(np.ceil(np.log2(len(x) + n)))  # power-of-two FFTs are the fast ones
    wet = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[: len(x)]
    return wet / max(np.abs(wet).max(), 1e-6)


def _place(clip: np.ndarray, rng: np.random.Generator, n: int = SAMPLE_RATE) -> np.ndarray:
    """The clip at a random offset in an ``n``-sample window (cropped if too long)."""
    out = np.zeros(n, np.float32)
    if len(clip) > n:
        start = rng.integers(0, len(clip) - n + 1)
        return clip[start : start + n].copy()
    offset = rng.integers(0, n - len(clip) + 1)
    out[offset : offset + len(clip)] = clip
    return out


@dataclass(frozen=True)
class _Plan:
    """What goes into one sample, drawn before any audio is needed."""

    label: int
    word: Utterance | None
    babble: tuple[Utterance, ...]


def _plan(label: int, split: str, rng: np.random.Generator) -> _Plan:
    name = CLASSES[label]
    word = None
    if name == "unknown":
        word = _random_utterance(UNKNOWN_WORDS[rng.integers(len(UNKNOWN_WORDS))], split, rng)
    elif name != "silence":
        word = _random_utterance(SPOKEN[name], split, rng)
    n_babble = int(rng.choice([0, 0, 1, 2, 3]))
    babble = tuple(_babble_pool(split)[i] for i in rng.integers(0, BABBLE_POOL, n_babble))
    return _Plan(label, word, babble)


def _render(plan: _Plan, bank: ClipBank, rng: np.random.Generator) -> np.ndarray:
    n = SAMPLE_RATE
    noise = _colored_noise(rng, n, rng.choice([0.0, 1.0, 1.0, 2.0]))
    for utt in plan.babble:  # distant talkers: reverberant, quiet
        noise += rng.uniform(0.2, 1.0) * _reverb(_place(bank[utt], rng), rng)
    noise /= max(np.sqrt(np.mean(noise**2)), 1e-9)
    if plan.word is None:
        signal = np.zeros(n, np.float32)
        snr_gain = 0.0
    else:
        signal = _place(bank[plan.word], rng)
        if rng.random() < 0.6:
            signal = _reverb(signal, rng)
        speech_rms = (
            np.sqrt(np.mean(signal[np.abs(signal) > 0.05] ** 2)) if np.any(np.abs(signal) > 0.05) else 0.1
        )
        snr_db = rng.uniform(3, 25)
        snr_gain = 10 ** (snr_db / 20) / speech_rms
    level = 10 ** rng.uniform(-3.0, -1.3)  # noise RMS: quiet room to loud kitchen
    mix = level * (noise + snr_gain * signal)
    return (mix / max(1.0, np.abs(mix).max())).astype(np.float32)


# ----------------------------------------------------------------------------- features
def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)


@cache
def mel_filterbank() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) triangular HTK-mel filters, 20 Hz - 8 kHz."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(20.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    bins = np.fft.rfftfreq(N_FFT, 1 / SAMPLE_RATE)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def features(audio: np.ndarray) -> np.ndarray:
    """Log-mel spectrograms ``(N, 1, 40, 49)`` of 1 s clips ``(N, 16000)`` (or one clip)."""
    audio = np.atleast_2d(np.asarray(audio, np.float32))
    idx = np.arange(N_FRAMES)[:, None] * HOP + np.arange(WIN)[None, :]
    frames = audio[:, idx] * np.hanning(WIN).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, N_FFT, axis=-1)) ** 2
    mel = power @ mel_filterbank().T  # (N, frames, mels)
    logmel = (np.log(mel + 1e-6) + 4.0) / 4.0  # roughly zero-mean, unit-scale
    return logmel.transpose(0, 2, 1)[:, None].astype(np.float32)


# ----------------------------------------------------------------------------- data sets
def make_audio(
    split: str, n: int, seed: int = 0, bank: ClipBank | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` balanced, shuffled 1 s clips ``(n, 16000)`` float32 and labels ``(n,)``."""
    rng = np.random.default_rng([seed, SPLITS[split], 0xA0D])
    y = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    plans = [_plan(int(label), split, rng) for label in y]
    own_bank = bank is None
    bank = ClipBank(split) if own_bank else bank
    bank.fill([u for p in plans for u in ((p.word,) if p.word else ()) + p.babble])
    if own_bank:
        bank.save()
    x = np.stack([_render(p, bank, rng) for p in plans]) if n else np.zeros((0, SAMPLE_RATE), np.float32)
    return x, y


def make_dataset(split: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` balanced log-mel inputs ``(n, 1, 40, 49)`` and labels; needs espeak-ng or the cache."""
    audio, y = make_audio(split, n, seed)
    return np.concatenate([features(audio[i : i + 512]) for i in range(0, max(n, 1), 512)])[:n], y
