"""Health-escalation networks: the watch's heart-rate screener and the phone's ECG verifier.

Both are plain Conv1d/BatchNorm/ReLU stacks ending in average+max pooling over time and one
Linear layer: the op set ONNX Runtime's static INT8 quantization covers end to end.
Call :func:`fuse_for_export` before export so BatchNorm is folded into the convolutions.

Both are zoo entries (:data:`SPECS`). Unlike the other zoo models they are trained on fixed
generated sets (days of one wearer's physiology, ECG records of simulated subjects), so
``make_dataset(split, n, seed)`` means: ``train`` the fixed training set, ``test`` the held-out
set of stream ``seed`` (other subjects and days), ``val`` the held-out set of stream
``seed + 1``; ``n`` (``None``: all) keeps a seeded random subset of that size.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from models.data import ecg, wearer
from models.zoo import ZooSpec

SCREENER_CLASSES = ("normal", "suspicious")
SCREENER_INPUT_SHAPE = (len(wearer.SCREEN_CHANNELS), 60)  # 300 s of 5 s readings
VERIFIER_CLASSES = ecg.CLASSES
VERIFIER_INPUT_SHAPE = (1, int(ecg.WINDOW_S * ecg.FS_HZ))  # 10 s at 125 Hz


def _conv_block(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm1d(c_out),
        nn.ReLU(),
    )


class _PooledConvNet(nn.Module):
    """Conv blocks, then [mean over time, max over time] -> Linear."""

    def __init__(self, input_shape, blocks, n_classes: int):
        super().__init__()
        c_in, length = input_shape
        layers = []
        for c_out, kernel, stride in blocks:
            layers.append(_conv_block(c_in, c_out, kernel, stride))
            c_in = c_out
            length = (length + 2 * (kernel // 2) - kernel) // stride + 1
        self.features = nn.Sequential(*layers)
        # fixed-size pools (not adaptive) export to plain AveragePool/MaxPool, which quantize
        self.avg_pool = nn.AvgPool1d(length)
        self.max_pool = nn.MaxPool1d(length)
        self.classifier = nn.Linear(2 * c_in, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        pooled = torch.cat([self.avg_pool(h), self.max_pool(h)], dim=1).flatten(1)
        return self.classifier(pooled)


class HRScreener(_PooledConvNet):
    """Watch screener: 5 min of PPG heart rate + wrist motion -> normal / suspicious.

    Input ``(N, 3, 60)`` from ``wearer.screening_windows``; ~3k parameters.
    """

    classes = SCREENER_CLASSES
    input_shape = SCREENER_INPUT_SHAPE

    def __init__(self):
        super().__init__(self.input_shape, [(12, 5, 1), (16, 5, 2), (24, 3, 2)], len(self.classes))


class ECGVerifier(_PooledConvNet):
    """Phone verifier: 10 s single-lead ECG at 125 Hz -> normal / tachycardia / bradycardia /
    af / ectopy (premature beats at a normal rate: not escalated).

    Input ``(N, 1, 1250)`` in mV; ~82k parameters, ~5M MACs: small for a phone, and wide
    enough that an INT8 file is mostly weights rather than fixed graph and scale overhead.
    The last layers see ~1.5 s, enough for two consecutive RR intervals at 60 bpm.
    """

    classes = VERIFIER_CLASSES
    input_shape = VERIFIER_INPUT_SHAPE

    def __init__(self):
        blocks = [(12, 7, 2), (24, 5, 2), (48, 5, 2), (64, 5, 2), (96, 5, 2), (96, 3, 1)]
        super().__init__(self.input_shape, blocks, len(self.classes))


def fuse_for_export(model: nn.Module) -> nn.Module:
    """An eval-mode copy with every Conv1d+BatchNorm1d pair folded into one Conv1d."""
    fused = copy.deepcopy(model).eval()
    for module in fused.modules():
        if isinstance(module, nn.Sequential) and len(module) == 3 and isinstance(module[1], nn.BatchNorm1d):
            module[0] = fuse_conv_bn_eval(module[0], module[1])
            module[1] = nn.Identity()
    return fused


# --- data --------------------------------------------------------------------------------

SCREENER_TRAIN_DAYS = range(0, 400)
SCREENER_WINDOWS_PER_DAY = 300
SCREENER_HELDOUT_DAYS = 150
ECG_TRAIN_RECORDS = 20000
ECG_HELDOUT_RECORDS = 4000
# The held-out stream the shipped cards were measured on (``make_dataset("test", None, 1)``).
HELDOUT_SEED = 1


def screener_dataset(day_seeds, windows_per_day: int = SCREENER_WINDOWS_PER_DAY):
    """Windows at uniform random times of generated days: ``(x, y, activity_at_t, kind)``.

    Each day has 1-4 episodes; ambiguous windows (under 60 s of episode) are left out.
    ``kind`` is the episode rhythm code in the window (0 when none).
    """
    xs, ys, activities, kinds = [], [], [], []
    for seed in day_seeds:
        rng = np.random.default_rng([seed, 1])
        day = wearer.random_day(int(seed), n_episodes=int(rng.integers(1, 5)))
        times = rng.uniform(300.0, wearer.DAY_S, windows_per_day)
        labels = wearer.screening_labels(day, times)
        keep = labels >= 0
        xs.append(wearer.screening_windows(day, times[keep]))
        ys.append(labels[keep].astype(np.int64))
        activities.append(day.activity[day.index_at(times[keep])])
        index = wearer.window_index(day, times[keep], 300.0)
        kinds.append(day.rhythm[index].max(axis=1))
    return tuple(np.concatenate(a) for a in (xs, ys, activities, kinds))


def screener_heldout_days(seed: int) -> range:
    """Day seeds of held-out stream ``seed``: other days (and wearers' days) than training."""
    start = 1_000_000 * seed
    return range(start, start + SCREENER_HELDOUT_DAYS)


def _subset(x: np.ndarray, y: np.ndarray, n: int | None) -> tuple[np.ndarray, np.ndarray]:
    if n is None or len(x) <= n:
        return x, y
    index = np.sort(np.random.default_rng(0).choice(len(x), n, replace=False))
    return x[index], y[index]


def _heldout_stream(split: str, seed: int) -> int:
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be train, val or test, got {split!r}")
    return seed + 1 if split == "val" else seed


def screener_make_dataset(split: str, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``hr_screener`` data (see the module docstring for what ``split`` and ``seed`` mean)."""
    stream = _heldout_stream(split, seed)
    days = SCREENER_TRAIN_DAYS if split == "train" else screener_heldout_days(stream)
    x, y, _, _ = screener_dataset(days)
    return _subset(x, y, n)


ECTOPY_RICH_WEARERS = 40
ECTOPY_RICH_STRIPS_PER_WEARER = 60
ECTOPY_RICH_BURDEN = (0.05, 0.25)


def ectopy_rich_strips(
    seed: int, n_wearers: int = ECTOPY_RICH_WEARERS, strips: int = ECTOPY_RICH_STRIPS_PER_WEARER
) -> tuple[np.ndarray, np.ndarray]:
    """10 s ECGs of held-out wearers with many premature beats: ``(x (N, 1, 1250), y (N,))``.

    Wearer days of stream ``seed`` (other days and wearers than any training set), each with
    1-4 episodes and premature beats (:func:`wearer.add_ectopy`, burden 5-25 %, 20-90 %
    ventricular); two thirds of the strips at random times of the day, a third inside the
    episodes. ``y`` is what each record shows (:func:`ecg.record_label`).
    """
    xs, ys = [], []
    for day_seed in range(2_000_000 + 1000 * seed, 2_000_000 + 1000 * seed + n_wearers):
        rng = np.random.default_rng([day_seed, 2])
        day = wearer.random_day(day_seed, n_episodes=int(rng.integers(1, 5)))
        day = wearer.add_ectopy(day, rng.uniform(*ECTOPY_RICH_BURDEN), rng.uniform(0.2, 0.9), rng)
        times = list(rng.uniform(0.0, wearer.DAY_S - ecg.WINDOW_S, strips - strips // 3))
        for _ in range(strips // 3):
            episode = day.episodes[rng.integers(len(day.episodes))]
            times.append(rng.uniform(episode.start_s + 60.0, episode.end_s - ecg.WINDOW_S))
        for t_s in times:
            signal, label = wearer.capture_ecg(day, t_s, rng, return_label=True)
            xs.append(signal)
            ys.append(label)
    return np.stack(xs)[:, None, :], np.asarray(ys, np.int64)


def ecg_make_dataset(split: str, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``ecg_verifier`` data (see the module docstring for what ``split`` and ``seed`` mean)."""
    stream = _heldout_stream(split, seed)
    if split == "train":
        x, y = ecg.make_dataset(ECG_TRAIN_RECORDS, seed=0)[:2]
    else:
        x, y = ecg.make_dataset(ECG_HELDOUT_RECORDS, seed=1000 + stream)[:2]
    return _subset(x, y, n)


SPECS = [
    ZooSpec(
        name="hr_screener",
        device_kind="watch",
        task="watch heart-rate screening over 5 min of PPG HR + wrist motion: normal vs suspicious",
        classes=SCREENER_CLASSES,
        input_shape=SCREENER_INPUT_SHAPE,
        build=HRScreener,
        make_dataset=screener_make_dataset,
    ),
    ZooSpec(
        name="ecg_verifier",
        device_kind="phone",
        task="phone 10 s single-lead ECG rhythm: normal / tachycardia / bradycardia / af / ectopy",
        classes=VERIFIER_CLASSES,
        input_shape=VERIFIER_INPUT_SHAPE,
        build=ECGVerifier,
        make_dataset=ecg_make_dataset,
    ),
]
