"""The device leaderboard: every model variant × device profile, with one published score.

Every number comes from the card (accuracy, bytes: measured) and the one cost function
(:func:`simulator.compute.estimate_card`: latency and energy per inference on the profile).
The score is a weighted geometric mean of four metrics, each normalized to a reference
(AI-Benchmark normalizes to a reference device the same way), times 100:

    score = 100 · (t_ref / t)^0.3 · (E_ref / E)^0.3 · (a / a_ref)^0.3 · (B_ref / B)^0.1

t = latency per inference, E = energy per inference, a = held-out accuracy, B = bytes of the
artifact; the reference (``_ref``) is the model's own FP32 variant on the reference device
(``REFERENCE_DEVICE``, the phone), so FP32 on the phone scores 100, a variant twice as fast
and twice as frugal at equal accuracy and size scores 100 · 2^0.6 ≈ 152, and scores of
different models are comparable (each against its own FP32). As in MLPerf, accuracy is also
a gate: a variant below ``QUALITY_TARGET`` (99 %) of its FP32 accuracy keeps its score but is
marked ``meets_quality: false`` and never ranked in a device's top 3. A variant that does
not fit a device's memory has no score there (``None``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from models.cards import ModelCard
from simulator.compute import card_macs_skippable, estimate_card
from simulator.profiles import DeviceProfile, available_profiles, load_profile

REFERENCE_DEVICE = "phone"
WEIGHTS = {"latency": 0.3, "energy": 0.3, "accuracy": 0.3, "bytes": 0.1}
QUALITY_TARGET = 0.99  # MLPerf closed division: 99 % of the reference model's accuracy
FORMULA = (
    "score = 100 * (t_ref/t)^0.3 * (E_ref/E)^0.3 * (a/a_ref)^0.3 * (B_ref/B)^0.1; "
    "ref = the model's fp32 variant on the phone profile; gate: a >= 0.99 * a_fp32 to rank; "
    "no score where the variant does not fit the device's memory"
)


def score(latency_s: float, energy_j: float, accuracy: float, bytes_: float, reference: dict) -> float:
    """The published score of one variant on one device against ``reference``
    (``{"latency_s", "energy_j", "accuracy", "bytes"}``), see the module docstring."""
    ratios = {
        "latency": reference["latency_s"] / latency_s,
        "energy": reference["energy_j"] / energy_j,
        "accuracy": accuracy / reference["accuracy"],
        "bytes": reference["bytes"] / bytes_,
    }
    return 100.0 * math.exp(sum(WEIGHTS[k] * math.log(v) for k, v in ratios.items()))


def _reference(card: ModelCard, profile: DeviceProfile) -> dict:
    cost = estimate_card(profile, card)
    return {
        "latency_s": cost.latency_s,
        "energy_j": cost.energy_j,
        "accuracy": card.accuracy,
        "bytes": card.bytes,
    }


def leaderboard(cards: Iterable[ModelCard], devices: list[str] | None = None) -> dict[str, Any]:
    """``{"formula", "weights", "reference_device", "quality_target", "devices", "rows", "top3"}``:
    one row per card × device (model, variant, task, device, latency_ms, energy_mj, accuracy,
    bytes, fits_memory, meets_quality, score), ``top3[device]`` the three best ranked rows.
    Models without an FP32 card are skipped (no reference)."""
    cards = list(cards)
    devices = devices or available_profiles()
    profiles = {name: load_profile(name) for name in devices}
    reference_profile = load_profile(REFERENCE_DEVICE)
    references = {c.model: (c, _reference(c, reference_profile)) for c in cards if c.variant == "fp32"}
    rows = []
    for card in cards:
        if card.model not in references:
            continue
        fp32, reference = references[card.model]
        meets_quality = card.accuracy >= QUALITY_TARGET * fp32.accuracy
        for device, profile in profiles.items():
            cost = estimate_card(profile, card)
            value = (
                score(cost.latency_s, cost.energy_j, card.accuracy, card.bytes, reference)
                if cost.fits_memory
                else None
            )
            rows.append(
                {
                    "model": card.model,
                    "variant": card.variant,
                    "task": card.task,
                    "precision": card.precision,
                    "device": device,
                    "latency_ms": cost.latency_s * 1e3,
                    "energy_mj": cost.energy_j * 1e3,
                    "accuracy": card.accuracy,
                    "bytes": card.bytes,
                    "macs_skippable": card_macs_skippable(card),
                    "fits_memory": cost.fits_memory,
                    "meets_quality": meets_quality,
                    "score": None if value is None else round(value, 2),
                }
            )
    top3 = {}
    for device in devices:
        ranked = [r for r in rows if r["device"] == device and r["score"] is not None and r["meets_quality"]]
        ranked.sort(key=lambda r: (-r["score"], r["model"], r["variant"]))
        top3[device] = [
            {"model": r["model"], "variant": r["variant"], "score": r["score"]} for r in ranked[:3]
        ]
    return {
        "formula": FORMULA,
        "weights": dict(WEIGHTS),
        "reference_device": REFERENCE_DEVICE,
        "quality_target": QUALITY_TARGET,
        "devices": devices,
        "rows": rows,
        "top3": top3,
    }
