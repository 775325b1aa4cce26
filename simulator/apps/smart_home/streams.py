"""Each sensor's inputs over the night, built before the loop from the ground truth: when
each input is complete, what is really in it (a truth id), whether the sensor's gate lets
it through, and its model input on demand. The outputs do not depend on simulation
state, so the app runs the models over them in batches before the night starts.

The schedule of a stream is cheap and always built; its inputs (frames, speech, IMU
windows) are made only when the gate statistic or a model needs them, and the gate
statistic is kept in the cache (:data:`CACHE`, a :class:`simulator.cache.Store`) under a key of what the inputs are made of
(``Stream.key``), which also keys the models' outputs.

- Cameras: a frame every ``frame_period_s``; a PIR camera (the battery doorbell) only in
  clips, from ``pir_wake_s`` after its PIR fires until ``clip_idle_s`` after the last warm
  body left (at most ``clip_max_s``). The motion gate compares each frame with the one
  before (the first frame of a clip passes: the PIR saw motion).
- The speaker's microphone: one 1 s window per word said (or noise heard); the VAD gate.
- The watch: a 2 s IMU window every 2 s while it is worn; the any-motion gate.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import simulator.apps.smart_home.gating as gating
import simulator.apps.smart_home.voice_gate as voice_gate
from models.data import audio, images, imu
from simulator.apps.smart_home.ground_truth import Night, Sighting
from simulator.apps.smart_home.inputs import CameraScene, Speakers, motion_view, speech_windows, wrist_windows
from simulator.cache import ROOT, Store, digest

_HERE = Path(__file__).resolve().parent
# The smart home's entries; the code that makes them (a change to any of these files is a new key).
CACHE = Store(
    "smart_home",
    sources=(
        _HERE / "inputs.py",
        _HERE / "streams.py",
        _HERE / "gating.py",
        _HERE / "voice_gate.py",
        ROOT / "models" / "data" / "images.py",
        ROOT / "models" / "data" / "audio.py",
        ROOT / "models" / "data" / "imu.py",
    ),
)

_PRIORITY = {"person": 0, "pet": 1, "package": 2, "empty": 3}
_CHUNK = 4096


@dataclass
class Stream:
    """The inputs of one sensor, in time order (see module docstring)."""

    device: str
    source: str  # motion, sound or imu
    ready_s: list[float]
    truth: list[int]  # truth id of what is in the input, -1 for nothing
    labels: list[str]  # the true class of the input (a model class)
    gated: list[bool]
    group: list[int]  # inputs of one clip / utterance; 'next' stays inside a group
    features: Callable[[list[int]], np.ndarray] = field(repr=False, default=None)
    gate_statistic: list[float] = field(default_factory=list)
    key: str = ""  # hash of what the inputs are made of (:mod:`.cache`): keys their model outputs

    def __len__(self) -> int:
        return len(self.ready_s)


def _seed(*parts: object) -> list[int]:
    return [zlib.crc32(str(p).encode()) for p in parts]


def camera_stream(
    device: str,
    sightings: list[tuple[int, Sighting]],
    night: Night,
    seed: int,
    params: dict,
    pir: bool,
    indoor: bool,
) -> Stream:
    """Frames of camera ``device`` (see module docstring); ``sightings`` are (truth id,
    sighting) pairs of what it can see."""
    scene = CameraScene(np.random.default_rng(_seed(seed, "scene", device)))
    duration = night.duration_s
    times: list[float] = []
    groups: list[int] = []
    if pir:
        period = params["door_frame_period_s"]
        warm = [s for _, s in sightings if s.pir]
        clip = -1
        i = 0
        while i < len(warm):
            start = warm[i].t + params["pir_wake_s"]
            last_end = warm[i].end_t
            j = i + 1
            while j < len(warm) and warm[j].t <= last_end + params["clip_idle_s"]:
                last_end = max(last_end, warm[j].end_t)
                j += 1
            stop = min(last_end + params["clip_idle_s"], start + params["clip_max_s"], duration)
            clip += 1
            for t in np.arange(start, stop, period):
                times.append(round(float(t), 3))
                groups.append(clip)
            i = j
    else:
        period = params["indoor_frame_period_s"]
        times = [round(float(t), 3) for t in np.arange(period, duration, period)]
        groups = [0] * len(times)
    n = len(times)
    labels: list[str] = ["empty"] * n
    truth = [-1] * n
    modes: list[str] = []
    objects: dict[int, Sighting] = {}
    ordered = sorted(sightings, key=lambda p: p[1].t)
    active: list[tuple[int, Sighting]] = []
    cursor = 0
    for k, t in enumerate(times):
        while cursor < len(ordered) and ordered[cursor][1].t <= t:
            active.append(ordered[cursor])
            cursor += 1
        active = [(i, s) for i, s in active if s.end_t > t]
        light = any(s.light for _, s in active)
        if indoor:
            modes.append("day" if night.lights_on_at(t) else "ir")
        else:
            modes.append("day" if light else "ir")
        seen = [(i, s) for i, s in active if s.label != "empty"]
        if seen:
            i, s = min(seen, key=lambda p: _PRIORITY[p[1].label])
            labels[k], truth[k] = s.label, i
            objects[k] = s
        elif light:
            truth[k] = next(i for i, s in active if s.light)

    def frame_rng(k: int) -> np.random.Generator:
        return np.random.default_rng(_seed(seed, "frame", device, k))

    rendered: dict[int, np.ndarray] = {}  # frames with an object: the gate and the detector both need them

    def features(indexes: list[int]) -> np.ndarray:
        out = np.empty((len(indexes), 3, images.SIZE, images.SIZE), np.float32)
        empty = []
        for i, k in enumerate(indexes):
            s = objects.get(k)
            if s is None:
                empty.append(i)
                continue
            if k not in rendered:
                rng = frame_rng(k)
                pose = np.random.default_rng(s.pose_seed) if s.label == "package" else rng
                rendered[k] = scene.frame(s.label, modes[k], rng, pose)
            out[i] = rendered[k]
        if empty:
            ks = [indexes[i] for i in empty]
            out[empty] = scene.empty_frames([modes[k] for k in ks], [frame_rng(k) for k in ks])
        return out

    def changed_pixels() -> np.ndarray:
        views = np.empty((n, 16, 16), np.float32)
        quiet = [k for k in range(n) if k not in objects]
        noise_rng = np.random.default_rng(_seed(seed, "motion", device))
        for c in range(0, len(quiet), _CHUNK):
            chunk = quiet[c : c + _CHUNK]
            views[chunk] = scene.empty_motion_frames([modes[k] for k in chunk], noise_rng)
        if objects:
            keys = sorted(objects)
            views[keys] = motion_view(features(keys))
        changed = np.zeros(n, np.float64)
        if n > 1:
            changed[1:] = gating.changed_pixels(views[:-1], views[1:], params["motion_pixel_threshold"])
        return changed

    # What the frames are made of: a key for their detector outputs and motion statistic.
    key = digest(
        "camera",
        CACHE.code_fingerprint(),
        seed,
        device,
        np.asarray(times, np.float64),
        np.asarray(modes),
        {k: (s.label, s.pose_seed if s.label == "package" else 0) for k, s in objects.items()},
    )
    changed = CACHE.array("motion", digest(key, params["motion_pixel_threshold"]), changed_pixels)
    gated = (changed >= params["motion_min_pixels"]).tolist()
    for k in range(n):
        if k == 0 or groups[k] != groups[k - 1]:
            gated[k] = (
                pir  # a clip's first frame: the PIR saw motion (a watching camera has no reference yet)
            )
    if not params["motion_gating"]:
        gated = [True] * n
    return Stream(device, "motion", times, truth, labels, gated, groups, features, changed.tolist(), key)


def sound_stream(
    device: str, sounds: list[tuple[int, object]], speakers: Speakers, seed: int, params: dict, gate_card=None
) -> Stream:
    """1 s microphone windows of what is said near the speaker (needs espeak-ng or its cache
    unless the cache holds their gate statistic; the clips are made when a model needs them).
    The gate (param ``voice_gate``, :mod:`.voice_gate`): the loudness rule, none, or the speech
    score of ``gate_card``'s model."""
    words, times, truth, labels, groups = [], [], [], [], []
    for group, (i, sound) in enumerate(sounds):
        for w, word in enumerate(sound.words):
            words.append((word, sound.voice))
            times.append(round(sound.t + w + 1.0, 3))
            truth.append(i)
            groups.append(group)
            labels.append(word if word in audio.CLASSES else ("silence" if word is None else "unknown"))
    made: dict[str, np.ndarray] = {}

    def clips() -> np.ndarray:
        if "clips" not in made:
            made["clips"] = speech_windows(
                words, speakers, np.random.default_rng(_seed(seed, "speech", device))
            )
        return made["clips"]

    def features(indexes: list[int]) -> np.ndarray:
        if "mels" not in made:
            made["mels"] = audio.features(clips()) if words else np.zeros((0, *audio.INPUT_SHAPE), np.float32)
        return made["mels"][indexes]

    key = digest("sound", CACHE.code_fingerprint(), seed, device, words, speakers.utterance_of)
    if gate_card is not None:
        scores = digest(key, voice_gate.card_fingerprint(gate_card))
        ratio = CACHE.array("vad_model", scores, lambda: voice_gate.speech_scores(params, clips, len(words)))
        gated = (ratio >= params["vad_threshold"]).tolist()
    else:
        ratio = CACHE.array("vad", key, lambda: gating.voice_activity(clips()) if words else np.zeros(0))
        gated = (
            (ratio >= params["vad_ratio"]).tolist()
            if params["voice_gate"] == "loudness"
            else [True] * len(ratio)
        )
    return Stream(device, "sound", times, truth, labels, gated, groups, features, ratio.tolist(), key)


def wrist_stream(
    device: str, night: Night, moves: list[tuple[int, object]], seed: int, params: dict
) -> Stream:
    """2 s IMU windows every 2 s while the watch is worn (made when a model or the gate needs them)."""
    user = imu.make_user(np.random.default_rng(_seed(seed, "wearer", device)))
    times, labels, truth, groups = [], [], [], []
    ordered = sorted(moves, key=lambda p: p[1].t)
    for group, (a, b) in enumerate(night.watch_worn):
        for start in np.arange(a, b - imu.WINDOW_S, imu.WINDOW_S):
            start = float(start)
            times.append(round(start + imu.WINDOW_S, 3))
            groups.append(group)
            label, tid = "still", -1
            for i, move in ordered:
                if move.t < start + imu.WINDOW_S and move.end_t > start:
                    # a gesture lands in the window it starts in; a walk fills its windows
                    if move.label == "walk" or start <= move.t:
                        label, tid = move.label, i
                        break
            labels.append(label)
            truth.append(tid)
    made: dict[str, np.ndarray] = {}

    def windows() -> np.ndarray:
        if "windows" not in made:
            made["windows"] = wrist_windows(labels, user, np.random.default_rng(_seed(seed, "imu", device)))
        return made["windows"]

    key = digest("imu", CACHE.code_fingerprint(), seed, device, np.asarray(labels))
    motion = CACHE.array("any_motion", key, lambda: gating.wrist_motion(windows()) if labels else np.zeros(0))
    gated = (motion >= params["imu_wake_rad_s"]).tolist()
    return Stream(
        device, "imu", times, truth, labels, gated, groups, lambda idx: windows()[idx], motion.tolist(), key
    )
