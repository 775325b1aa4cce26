"""Which variant of a model to put on a device: the one rule used by ``recommend``, by the
hub when a device joins (smart home), and by the cards' ``devices_fit``.

A variant is feasible on a device when it fits the device's memory and its estimated
latency (:func:`simulator.compute.estimate_card`, the one cost function) meets the budget.
Among feasible variants within ``max_accuracy_loss_pts`` points of the most accurate
feasible one, the cheapest in energy is chosen. Every variant gets its reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.cards import ModelCard
from simulator.compute import estimate_card
from simulator.profiles import DeviceProfile, available_profiles, load_profile

# A card "fits" a device for the cards' devices_fit list when it runs one sample within this.
PLAUSIBLE_LATENCY_S = 0.5


def _profile(device: DeviceProfile | str | Path) -> DeviceProfile:
    return device if isinstance(device, DeviceProfile) else load_profile(device)


def recommend(
    cards: list[ModelCard],
    device: DeviceProfile | str | Path,
    max_latency_s: float | None = None,
    max_accuracy_loss_pts: float = 1.0,
) -> dict[str, Any]:
    """The variant to deploy on ``device`` and why: ``{"device", "choice", "variants": [row]}``,
    each row with variant, accuracy, bytes, precision, latency_ms, energy_mj, fits_memory,
    feasible and reason; ``choice`` is ``None`` when nothing is feasible."""
    profile = _profile(device)
    rows = []
    for card in cards:
        cost = estimate_card(profile, card)
        reason = ""
        if not cost.fits_memory:
            reason = (
                f"does not fit: needs {cost.memory_needed_bytes / 1e6:.2f} MB of "
                f"{cost.memory_budget_bytes / 1e6:.1f} MB"
            )
        elif max_latency_s is not None and cost.latency_s > max_latency_s:
            reason = f"too slow: {cost.latency_s * 1e3:.3f} ms > {max_latency_s * 1e3:g} ms"
        rows.append(
            {
                "variant": card.variant,
                "accuracy": card.accuracy,
                "bytes": card.bytes,
                "precision": card.precision,
                "latency_ms": cost.latency_s * 1e3,
                "energy_mj": cost.energy_j * 1e3,
                "fits_memory": cost.fits_memory,
                "feasible": not reason,
                "reason": reason,
            }
        )
    feasible = [r for r in rows if r["feasible"]]
    choice = None
    if feasible:
        best_accuracy = max(r["accuracy"] for r in feasible)
        good = [r for r in feasible if 100 * (best_accuracy - r["accuracy"]) <= max_accuracy_loss_pts]
        choice = min(good, key=lambda r: (r["energy_mj"], -r["accuracy"]))
        for r in feasible:
            if r is choice:
                r["reason"] = "chosen"
            elif r not in good:
                r["reason"] = (
                    f"{100 * (best_accuracy - r['accuracy']):.2f} pts below the most accurate feasible variant"
                )
            else:
                r["reason"] = (
                    f"uses {r['energy_mj'] / choice['energy_mj']:.2f}× the energy of {choice['variant']}"
                )
    rows.sort(key=lambda r: (not r["feasible"], r["energy_mj"]))
    return {"device": profile.name, "choice": choice["variant"] if choice else None, "variants": rows}


def devices_that_fit(card: ModelCard) -> list[str]:
    """Shipped profiles that hold ``card`` in memory and run it within ``PLAUSIBLE_LATENCY_S``."""
    fits = []
    for name in available_profiles():
        cost = estimate_card(load_profile(name), card)
        if cost.fits_memory and cost.latency_s <= PLAUSIBLE_LATENCY_S:
            fits.append(name)
    return fits
