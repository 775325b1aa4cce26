"""Client-level differential privacy for federated averaging (DP-FedAvg, McMahan et al.,
ICLR 2018), with the noise added on the clients so secure aggregation can hide the rest.

Each client clips its delta to L2 norm ``clip_norm`` (one wearer's whole contribution to a
round is then bounded) and adds Gaussian noise of standard deviation
``σ · clip_norm / √m``, ``m`` being the planned participants per round: the sum of ``m``
reports then carries noise ``σ · clip_norm``, the Gaussian mechanism on a sum of
sensitivity ``clip_norm``. Fewer reports than planned leave less noise in the sum; the
ledger then accounts the round at the smaller effective ``σ`` (honest, not optimistic).

ε comes from Opacus's RDP accountant (``opacus.accountants.RDPAccountant``) for the
subsampled Gaussian mechanism with sampling rate ``q = m / clients``, one step per
round, and ``σ`` for a target ε from Opacus's ``get_noise_multiplier``: our code supplies
the history, never the formula. Opacus loads torch, so it is imported inside functions.
"""

from __future__ import annotations

import numpy as np

# RDP orders searched: Opacus's defaults (1.1 … 63) plus larger ones, which the optimum
# needs at small ε with few rounds (Opacus warns when the best order is its largest).
EXTRA_ALPHAS = (64.0, 80.0, 96.0, 128.0, 192.0, 256.0, 512.0, 1024.0)


def _alphas() -> list[float]:
    from opacus.accountants import RDPAccountant

    return [*RDPAccountant.DEFAULT_ALPHAS, *EXTRA_ALPHAS]


def clip(delta: np.ndarray, clip_norm: float) -> tuple[np.ndarray, float]:
    """``delta`` scaled down to L2 norm ≤ ``clip_norm``; also its norm before clipping."""
    norm = float(np.linalg.norm(delta))
    if norm > clip_norm:
        delta = delta * (clip_norm / norm)
    return delta.astype(np.float32), norm


def client_noise(
    count: int, noise_multiplier: float, clip_norm: float, planned: int, rng: np.random.Generator
) -> np.ndarray:
    """One client's share of the Gaussian noise (``σ · C / √m`` per coordinate)."""
    return rng.normal(0.0, noise_multiplier * clip_norm / np.sqrt(planned), count).astype(np.float32)


def noise_multiplier_for(epsilon: float, delta: float, sample_rate: float, rounds: int) -> float:
    """The σ that spends ``epsilon`` (at ``delta``) over ``rounds`` rounds sampled at
    ``sample_rate`` (Opacus ``get_noise_multiplier``, RDP accountant)."""
    from opacus.accountants.utils import get_noise_multiplier

    return float(
        get_noise_multiplier(
            target_epsilon=epsilon,
            target_delta=delta,
            sample_rate=sample_rate,
            steps=rounds,
            accountant="rdp",
            epsilon_tolerance=0.005,
            alphas=_alphas(),
        )
    )


class PrivacyLedger:
    """ε spent so far: one subsampled-Gaussian step per aggregated round (Opacus RDP)."""

    def __init__(self, delta: float) -> None:
        from opacus.accountants import RDPAccountant

        self.delta = delta
        self._accountant = RDPAccountant()

    def step(self, noise_multiplier: float, sample_rate: float) -> float:
        """Account one round; returns ε so far."""
        self._accountant.step(noise_multiplier=noise_multiplier, sample_rate=sample_rate)
        return self.epsilon()

    def epsilon(self) -> float:
        if not self._accountant.history:
            return 0.0
        return float(self._accountant.get_epsilon(self.delta, alphas=_alphas()))


def effective_noise_multiplier(noise_multiplier: float, reported: int, planned: int) -> float:
    """σ of a sum of ``reported`` client noises each sized for ``planned`` reports."""
    return noise_multiplier * float(np.sqrt(reported / planned))
