"""Aggregation strategies: pure functions of the global weights and the client updates.

As Flower's strategies are, each is a small class whose ``aggregate`` takes the global
weights (a flat ``numpy`` vector) and the round's :class:`Update` s (each a delta from the
weights the client started from, with its example count and staleness) and returns the new
global weights. No engine, no torch: importable and testable alone.

- **FedAvg** (McMahan et al., AISTATS 2017): the example-weighted mean of the deltas,
  applied with a server learning rate (1 = plain FedAvg).
- **FedProx** (Li et al., MLSys 2020): FedAvg's aggregate; its proximal term
  ``mu/2 ||w - w_global||^2`` acts in the clients' local training (:meth:`client_config`).
- **FedAdam** (Reddi et al., ICLR 2021): the weighted mean delta is a pseudo-gradient for
  an Adam step on the server (``beta1``, ``beta2``, adaptivity ``tau``).
- **FedAvgM** (Hsu et al., 2019): FedAvg with server momentum, ``v ← β v + Δ``,
  ``w ← w + η v``: rounds of differently skewed clients pull the model different ways, and
  the momentum keeps the direction they share.

Stale updates (asynchronous mode, or cached updates synced late) are weighted down by
``(1 + staleness) ** -staleness_exponent`` (the polynomial rule of FedAsync, Xie et al.
2019, as FedBuff uses it); the weights stay normalised by the example counts, so stale
updates shrink the step instead of being renormalised away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

STRATEGIES = ("fedavg", "fedprox", "fedadam", "fedavgm")


@dataclass(frozen=True)
class Update:
    """One client's contribution: ``delta`` = its trained weights − the weights it started
    from (flat), trained on ``num_examples`` examples, ``staleness`` versions old."""

    delta: np.ndarray
    num_examples: int
    staleness: int = 0


def staleness_weight(staleness: int, exponent: float) -> float:
    """The factor applied to an update ``staleness`` versions old: ``(1 + s) ** -exponent``."""
    return float((1.0 + staleness) ** -exponent)


def update_weights(
    updates: Sequence[Update], uniform: bool = False, staleness_exponent: float = 0.0
) -> np.ndarray:
    """Each update's weight in the aggregate: ``n_k · s(τ_k) / Σ n_k`` (or ``1/K`` per
    update when ``uniform``, as differentially private FedAvg needs bounded weights)."""
    counts = np.ones(len(updates)) if uniform else np.array([u.num_examples for u in updates], float)
    total = counts.sum()
    if total <= 0:
        raise ValueError("the updates carry no examples")
    stale = np.array([staleness_weight(u.staleness, staleness_exponent) for u in updates])
    return counts * stale / total


def weighted_mean_delta(updates: Sequence[Update], weights: np.ndarray) -> np.ndarray:
    """``Σ_k weights[k] · delta_k``, accumulated in float64."""
    out = np.zeros(updates[0].delta.shape, np.float64)
    for update, weight in zip(updates, weights, strict=True):
        out += weight * update.delta.astype(np.float64)
    return out


@dataclass
class Strategy:
    """Base: the weighted mean delta applied with ``server_lr``."""

    name: ClassVar[str] = ""
    server_lr: float = 1.0
    staleness_exponent: float = 0.5
    uniform_weights: bool = False

    def client_config(self) -> dict[str, float]:
        """What the clients' local training needs from the strategy (FedProx's ``mu``)."""
        return {"prox_mu": 0.0}

    def mean_delta(self, updates: Sequence[Update]) -> np.ndarray:
        weights = update_weights(updates, self.uniform_weights, self.staleness_exponent)
        return weighted_mean_delta(updates, weights)

    def aggregate(self, global_weights: np.ndarray, updates: Sequence[Update]) -> np.ndarray:
        """The new global weights (the input is not modified)."""
        if not updates:
            return global_weights.copy()
        step = self.server_lr * self.mean_delta(updates)
        return (global_weights.astype(np.float64) + step).astype(global_weights.dtype)

    def aggregate_mean(self, global_weights: np.ndarray, mean_delta: np.ndarray) -> np.ndarray:
        """Apply an already-aggregated mean delta (secure aggregation hands the server only
        the sum, so it cannot weight the updates itself)."""
        step = self.server_lr * mean_delta.astype(np.float64)
        return (global_weights.astype(np.float64) + step).astype(global_weights.dtype)


@dataclass
class FedAvg(Strategy):
    name: ClassVar[str] = "fedavg"


@dataclass
class FedProx(FedAvg):
    name: ClassVar[str] = "fedprox"
    mu: float = 0.01

    def client_config(self) -> dict[str, float]:
        return {"prox_mu": self.mu}


@dataclass
class FedAdam(Strategy):
    """Server-side Adam on the pseudo-gradient (the mean delta); keeps its moments."""

    name: ClassVar[str] = "fedadam"
    # Reddi et al.'s 0.01 was measured no better than FedAvg on the gesture task (0.896 vs
    # 0.897 after 60 rounds); 0.03 reached 0.927 (docs/federated.md, diagnosis table).
    server_lr: float = 0.03
    beta1: float = 0.9
    beta2: float = 0.99
    tau: float = 1e-3
    m: np.ndarray | None = field(default=None, repr=False)
    v: np.ndarray | None = field(default=None, repr=False)

    def aggregate_mean(self, global_weights: np.ndarray, mean_delta: np.ndarray) -> np.ndarray:
        delta = mean_delta.astype(np.float64)
        if self.m is None:
            self.m = np.zeros_like(delta)
            self.v = np.full_like(delta, self.tau**2)
        self.m = self.beta1 * self.m + (1.0 - self.beta1) * delta
        self.v = self.beta2 * self.v + (1.0 - self.beta2) * delta * delta
        step = self.server_lr * self.m / (np.sqrt(self.v) + self.tau)
        return (global_weights.astype(np.float64) + step).astype(global_weights.dtype)

    def aggregate(self, global_weights: np.ndarray, updates: Sequence[Update]) -> np.ndarray:
        if not updates:
            return global_weights.copy()
        return self.aggregate_mean(global_weights, self.mean_delta(updates))


@dataclass
class FedAvgM(Strategy):
    """FedAvg with server momentum ``momentum`` (β) on the mean delta."""

    name: ClassVar[str] = "fedavgm"
    momentum: float = 0.9
    velocity: np.ndarray | None = field(default=None, repr=False)

    def aggregate_mean(self, global_weights: np.ndarray, mean_delta: np.ndarray) -> np.ndarray:
        delta = mean_delta.astype(np.float64)
        self.velocity = delta if self.velocity is None else self.momentum * self.velocity + delta
        step = self.server_lr * self.velocity
        return (global_weights.astype(np.float64) + step).astype(global_weights.dtype)

    def aggregate(self, global_weights: np.ndarray, updates: Sequence[Update]) -> np.ndarray:
        if not updates:
            return global_weights.copy()
        return self.aggregate_mean(global_weights, self.mean_delta(updates))


def make_strategy(
    name: str,
    server_lr: float | None = None,
    prox_mu: float = 0.01,
    staleness_exponent: float = 0.5,
    uniform_weights: bool = False,
    beta1: float = 0.9,
    beta2: float = 0.99,
    tau: float = 1e-3,
    momentum: float = 0.9,
) -> Strategy:
    """The strategy called ``name`` (one of :data:`STRATEGIES`); ``server_lr`` ``None``
    takes the strategy's default (1 for FedAvg/FedProx/FedAvgM, 0.03 for FedAdam)."""
    common = {"staleness_exponent": staleness_exponent, "uniform_weights": uniform_weights}
    if server_lr is not None:
        common["server_lr"] = server_lr
    if name == "fedavg":
        return FedAvg(**common)
    if name == "fedprox":
        return FedProx(mu=prox_mu, **common)
    if name == "fedadam":
        return FedAdam(beta1=beta1, beta2=beta2, tau=tau, **common)
    if name == "fedavgm":
        return FedAvgM(momentum=momentum, **common)
    raise ValueError(f"unknown strategy {name!r} (expected one of: {', '.join(STRATEGIES)})")
