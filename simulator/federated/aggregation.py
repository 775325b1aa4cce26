"""Aggregation as the server runs it: a strategy (:mod:`.strategies`), optionally wrapped
by client-level differential privacy, as Flower's ``DPStrategyWrapper…`` wrap any
strategy. Everything is an argument and every outcome a return value; no engine.

:class:`Aggregation` applies the strategy (clipping updates first when a secure layer
needs them bounded). :class:`DPAggregation` wraps any :class:`Aggregation`: it clips and
noises each client's delta (:func:`.dp.client_noise`), holds back a round with fewer
reports than the floor (its noise would be too weak), and accounts ε per released round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulator.federated import dp
from simulator.federated.strategies import Strategy, Update


@dataclass(frozen=True)
class Outcome:
    """What one aggregation released: new weights (``None``: nothing released), ε spent
    so far (``None`` without DP) and why a round was held back (``""`` otherwise)."""

    weights: np.ndarray | None
    epsilon: float | None
    held_back: str = ""


class Aggregation:
    """The strategy alone; ``clip_norm`` set: each delta is clipped to it first."""

    def __init__(self, strategy: Strategy, clip_norm: float | None = None) -> None:
        self.strategy = strategy
        self.clip_norm = clip_norm

    def client_config(self) -> dict[str, float]:
        return self.strategy.client_config()

    def prepare(self, delta: np.ndarray, round_number: int, client: int) -> tuple[np.ndarray, float | None]:
        """The client's delta as it leaves the client (clipped; noised under DP) and its
        norm before clipping (``None`` when not clipped)."""
        if self.clip_norm is None:
            return delta, None
        return dp.clip(delta, self.clip_norm)

    def aggregate(
        self, weights: np.ndarray, updates: Sequence[Update], mean_delta: np.ndarray | None, reported: int
    ) -> Outcome:
        """New weights from ``updates`` or, under secure aggregation, from the securely
        summed ``mean_delta``; ``None`` weights when there is nothing to aggregate."""
        if mean_delta is not None:
            return Outcome(self.strategy.aggregate_mean(weights, mean_delta), None)
        if updates:
            return Outcome(self.strategy.aggregate(weights, updates), None)
        return Outcome(None, None)


class DPAggregation(Aggregation):
    """DP-FedAvg with the noise on the clients (see :mod:`.dp`), wrapping ``inner``."""

    def __init__(
        self,
        inner: Aggregation,
        noise_multiplier: float,
        clip_norm: float,
        report_floor: int,
        delta: float,
        sample_rate: float,
        seed: int,
    ) -> None:
        super().__init__(inner.strategy, clip_norm)
        self.inner = inner
        self.noise_multiplier = noise_multiplier
        self.report_floor = report_floor
        self.sample_rate = sample_rate
        self.seed = seed
        self.ledger = dp.PrivacyLedger(delta)

    def prepare(self, delta: np.ndarray, round_number: int, client: int) -> tuple[np.ndarray, float | None]:
        delta, norm = dp.clip(delta, self.clip_norm)
        rng = np.random.default_rng([self.seed, 1, round_number, client])
        noise = dp.client_noise(delta.size, self.noise_multiplier, self.clip_norm, self.report_floor, rng)
        return delta + noise, norm

    def aggregate(
        self, weights: np.ndarray, updates: Sequence[Update], mean_delta: np.ndarray | None, reported: int
    ) -> Outcome:
        if reported < self.report_floor and (mean_delta is not None or updates):
            # Too few reports carry too little noise: the round is not released (no ε spent).
            held = f"DP: {reported} reports < {self.report_floor}, round not released"
            return Outcome(None, round(self.ledger.epsilon(), 4), held)
        outcome = self.inner.aggregate(weights, updates, mean_delta, reported)
        if outcome.weights is None:
            return Outcome(None, round(self.ledger.epsilon(), 4))
        sigma = dp.effective_noise_multiplier(self.noise_multiplier, reported, self.report_floor)
        return Outcome(outcome.weights, round(self.ledger.step(sigma, self.sample_rate), 4))
