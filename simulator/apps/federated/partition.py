"""Client data: each home's wearer has their own way of moving and their own gesture mix.

Non-IID in both ways federated learning meets in practice:

- *feature skew*: every client is a different wearer from ``models.data.imu`` (tempo,
  amplitude, rest posture, how the watch sits, which wrist, sensor biases and noise);
- *label skew*: each wearer's gestures are drawn from their own class mix
  ``Dirichlet(alpha · 1)`` (small ``alpha``: a few gestures dominate), and the amount of
  data per wearer is log-normal around ``samples_median``.

Clients are the ``train`` wearers of ``imu.users`` and held-out wearers the ``test`` ones
(disjoint seed streams), so the held-out accuracy is measured on people who never trained.
A client's sizes and labels are cheap and known up front (the scheduler needs them);
its windows are generated when it first trains and kept (per run seed) in memory, so a
1,000-home run only generates the wearers that were ever selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from models.data import imu

N_CLASSES = len(imu.CLASSES)
_STREAM = 0xFED


@dataclass(frozen=True)
class PartitionSpec:
    """How the clients' data are drawn (all from the run's ``seed``)."""

    n_clients: int
    seed: int
    samples_median: int = 60
    samples_sigma: float = 0.5
    min_samples: int = 8
    label_skew_alpha: float = 0.5
    heldout_wearers: int = 20
    heldout_per_wearer: int = 35


class ClientData:
    """The clients' datasets (lazy) and the held-out wearers' test set."""

    def __init__(self, spec: PartitionSpec) -> None:
        self.spec = spec
        rng = np.random.default_rng([spec.seed, _STREAM, 0])
        sizes = rng.lognormal(np.log(spec.samples_median), spec.samples_sigma, spec.n_clients)
        self.sizes = np.clip(np.rint(sizes), spec.min_samples, 6 * spec.samples_median).astype(int)
        self.class_mix = rng.dirichlet(np.full(N_CLASSES, spec.label_skew_alpha), spec.n_clients)
        self._labels: dict[int, np.ndarray] = {}
        self._windows: dict[int, np.ndarray] = {}

    @cached_property
    def users(self) -> list[imu.User]:
        return imu.users("train", self.spec.n_clients, seed=self.spec.seed)

    def _rng(self, client: int) -> np.random.Generator:
        return np.random.default_rng([self.spec.seed, _STREAM, 1, client])

    def labels(self, client: int) -> np.ndarray:
        """Client ``client``'s gesture labels (cheap: no windows generated)."""
        labels = self._labels.get(client)
        if labels is None:
            rng = self._rng(client)
            labels = rng.choice(N_CLASSES, size=int(self.sizes[client]), p=self.class_mix[client])
            self._labels[client] = labels = labels.astype(np.int64)
        return labels

    def client(self, client: int) -> tuple[np.ndarray, np.ndarray]:
        """Client ``client``'s windows ``(n, 6, 100)`` float32 and labels (generated once)."""
        labels = self.labels(client)
        x = self._windows.get(client)
        if x is None:
            rng = np.random.default_rng([self.spec.seed, _STREAM, 2, client])
            user = self.users[client]
            x = np.empty((labels.size, *imu.INPUT_SHAPE), np.float32)
            for i, label in enumerate(labels):
                x[i] = imu.window(int(label), user, rng)
            self._windows[client] = x
        return x, labels

    @cached_property
    def heldout(self) -> tuple[np.ndarray, np.ndarray]:
        """Balanced windows of ``heldout_wearers`` test wearers who never train."""
        spec = self.spec
        rng = np.random.default_rng([spec.seed, _STREAM, 3])
        people = imu.users("test", spec.heldout_wearers, seed=spec.seed)
        per = spec.heldout_per_wearer
        y = np.concatenate([rng.permutation(np.arange(per) % N_CLASSES) for _ in people]).astype(np.int64)
        x = np.empty((y.size, *imu.INPUT_SHAPE), np.float32)
        for i, label in enumerate(y):
            x[i] = imu.window(int(label), people[i // per], rng)
        return x, y

    def pooled(self, clients: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """All of ``clients``' data in one set (the central-training baseline)."""
        parts = [self.client(c) for c in clients]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


_cache: dict[PartitionSpec, ClientData] = {}


def client_data(spec: PartitionSpec) -> ClientData:
    """The :class:`ClientData` of ``spec`` (one per spec per process: runs with the same seed
    and sizes share generated windows)."""
    data = _cache.get(spec)
    if data is None:
        if len(_cache) >= 4:
            _cache.pop(next(iter(_cache)))
        data = _cache[spec] = ClientData(spec)
    return data
