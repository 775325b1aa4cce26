"""Client-level differential privacy for federated averaging (DP-FedAvg, McMahan et al.,
ICLR 2018), with the noise added on the clients so secure aggregation can hide the rest.

Each client clips its delta to L2 norm ``clip_norm`` (one wearer's whole contribution to a
round is then bounded) and adds Gaussian noise of standard deviation
``σ · clip_norm / √m``, ``m`` being the fewest reports a round may release (the app's
``dp_report_floor`` × clients per round): any ``m' ≥ m`` reports then sum to noise
``σ · clip_norm · √(m'/m) ≥ σ · clip_norm``, the Gaussian mechanism on a sum of sensitivity
``clip_norm``, and each round is accounted at that effective σ. A round with fewer than
``m`` reports would carry too little noise, so it is not released (as distributed DP with
secure aggregation does, Kairouz et al. 2021): ε never exceeds the target. The guarantee
covers the released models; against the server itself it needs secure aggregation too,
which hides the individual (weakly noised) updates.

ε comes from Opacus's RDP accountant (``opacus.accountants.RDPAccountant``) for the
subsampled Gaussian mechanism with sampling rate ``q = m / clients``, one step per
round, and ``σ`` for a target ε from Opacus's ``get_noise_multiplier``: our code supplies
the history, never the formula. Opacus loads torch, so it is imported inside functions.
"""

from __future__ import annotations

import numpy as np

# RDP orders searched (passed to Opacus): measured 5–9× faster than Opacus's 150 default
# orders at these noise levels, and ε within 0–6 % of theirs (never smaller: conservative).
ALPHAS = (1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 32.0, 64.0, 128.0, 256.0)


def clip(delta: np.ndarray, clip_norm: float) -> tuple[np.ndarray, float]:
    """``delta`` scaled down to L2 norm ≤ ``clip_norm``; also its norm before clipping."""
    norm = float(np.linalg.norm(delta))
    if norm > clip_norm:
        delta = delta * (clip_norm / norm)
    return delta.astype(np.float32), norm


def client_noise(
    count: int, noise_multiplier: float, clip_norm: float, floor: int, rng: np.random.Generator
) -> np.ndarray:
    """One client's share of the Gaussian noise (``σ · C / √m`` per coordinate, ``m`` the
    report floor)."""
    return rng.normal(0.0, noise_multiplier * clip_norm / np.sqrt(floor), count).astype(np.float32)


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
            alphas=list(ALPHAS),
        )
    )


class PrivacyLedger:
    """ε spent so far: one subsampled-Gaussian step per aggregated round (Opacus RDP).

    Steps are kept merged by ``(σ, q)`` (RDP adds up over steps, in any order), so the
    accountant's history stays a few entries long when σ varies with the reporters."""

    def __init__(self, delta: float) -> None:
        from opacus.accountants import RDPAccountant

        self.delta = delta
        self._accountant = RDPAccountant()
        self._steps: dict[tuple[float, float], int] = {}

    def step(self, noise_multiplier: float, sample_rate: float) -> float:
        """Account one round; returns ε so far."""
        key = (float(noise_multiplier), float(sample_rate))
        self._steps[key] = self._steps.get(key, 0) + 1
        return self.epsilon()

    def epsilon(self) -> float:
        if not self._steps:
            return 0.0
        self._accountant.history = [(sigma, q, n) for (sigma, q), n in sorted(self._steps.items())]
        return float(self._accountant.get_epsilon(self.delta, alphas=list(ALPHAS)))


def effective_noise_multiplier(noise_multiplier: float, reported: int, floor: int) -> float:
    """σ of a sum of ``reported`` client noises each sized for ``floor`` reports."""
    return noise_multiplier * float(np.sqrt(reported / floor))
