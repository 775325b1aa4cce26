"""Compute cost of running a model on a device: a roofline from MACs and bytes moved.

``latency = overhead + max(MACs / achieved MAC/s, bytes moved / memory bandwidth)`` where
achieved MAC/s is the engine's peak times its achieved utilization for that precision, and
``energy = engine power × latency``. Host wall time is never used as device latency.

Dynamic sparsity: a card measures the share of its MACs that multiply an exact zero
activation (``extra.dynamic_sparsity.macs_skippable``, see
``models/compress/dynamic_sparsity.py``). Only an engine whose profile declares
``zero_skipping`` (the share of those it really saves, with its source) is charged less:
its MACs become ``macs × (1 − fraction_saved × macs_skippable)``. Every other engine runs
the dense count.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from simulator.profiles import DeviceProfile

BYTES_PER_VALUE = {"fp32": 4, "fp16": 2, "int8": 1}


@dataclass(frozen=True)
class CostEstimate:
    """Estimated device latency and energy of one inference call, and whether it fits."""

    latency_s: float
    energy_j: float
    fits_memory: bool
    precision: str
    engine_precision: str
    bound: str  # "compute" or "memory"
    memory_needed_bytes: float
    memory_budget_bytes: float

    def to_dict(self) -> dict:
        return asdict(self)


def engine_for(profile: DeviceProfile, precision: str):
    """The engine that runs ``precision``: the exact one, else the next wider one."""
    order = ["int8", "fp16", "fp32"]
    for candidate in order[order.index(precision) :]:
        if candidate in profile.engines:
            return profile.engines[candidate]
    return profile.engines["fp32"]


def estimate(
    profile: DeviceProfile,
    macs: float,
    weight_bytes: float,
    precision: str,
    activation_bytes: float = 0.0,
    batch: int = 1,
    macs_skippable: float = 0.0,
) -> CostEstimate:
    """Latency (s), energy (J) and memory fit of ``batch`` inferences of a model;
    ``macs_skippable``: the share of its MACs on zero activations (saved only by an engine
    with ``zero_skipping``)."""
    if precision not in BYTES_PER_VALUE:
        raise ValueError(f"precision must be one of {', '.join(BYTES_PER_VALUE)}, got {precision!r}")
    if macs < 0 or weight_bytes < 0 or activation_bytes < 0 or batch < 1:
        raise ValueError("macs, weight_bytes and activation_bytes must be ≥ 0 and batch ≥ 1")
    if not 0.0 <= macs_skippable <= 1.0:
        raise ValueError(f"macs_skippable must be in [0, 1], got {macs_skippable}")
    engine = engine_for(profile, precision)
    executed_macs = macs * (1.0 - engine.zero_skipping_fraction * macs_skippable)
    compute_s = batch * executed_macs / engine.achieved_macs_per_s
    # Weights are read once per call; activations are written and read once per sample.
    bytes_moved = weight_bytes + 2.0 * batch * activation_bytes
    memory_s = bytes_moved / profile.memory_bandwidth_bytes_per_s
    latency_s = profile.compute_overhead_s + max(compute_s, memory_s)
    needed = weight_bytes + batch * activation_bytes
    return CostEstimate(
        latency_s=latency_s,
        energy_j=engine.power_w * latency_s,
        fits_memory=needed <= profile.memory_bytes,
        precision=precision,
        engine_precision=engine.precision,
        bound="compute" if compute_s >= memory_s else "memory",
        memory_needed_bytes=needed,
        memory_budget_bytes=profile.memory_bytes,
    )


def card_precision(card) -> str:
    """The precision a card's compute is charged at: its own, or ``mixed`` when it carries
    a split of its MACs by precision (mixed and dynamic variants)."""
    if card.precision in BYTES_PER_VALUE:
        return card.precision
    if (card.extra or {}).get("macs_by_precision"):
        return "mixed"
    return "int8" if "int8" in card.precision else "fp32"


def card_macs_skippable(card) -> float:
    """The card's measured dynamic sparsity (0 when it was not measured)."""
    measured = (card.extra or {}).get("dynamic_sparsity") or {}
    return float(measured.get("macs_skippable", 0.0))


def estimate_card(profile: DeviceProfile, card, batch: int = 1) -> CostEstimate:
    """The one cost of a ModelCard on a device profile (engine, ``recommend``, ``compress``
    and the cards' ``devices_fit`` all use it).

    A single-precision card is :func:`estimate` from its MACs, bytes on disk and peak
    activations. A mixed-precision card (``extra.macs_by_precision``) is split: each
    precision's MACs run on that precision's engine with its share of the weights, the
    call's fixed overhead is paid once, and the memory need is the whole model's. Zero-skipping
    engines are charged for the card's dynamic sparsity (module docstring)."""
    precision = card_precision(card)
    skippable = card_macs_skippable(card)
    if precision != "mixed":
        return estimate(
            profile, card.macs, card.bytes, precision, card.peak_activation_bytes, batch, skippable
        )
    macs_by_precision = card.extra["macs_by_precision"]
    total_macs = max(sum(macs_by_precision.values()), 1)
    parts = [
        estimate(
            profile, macs, card.bytes * macs / total_macs, part, card.peak_activation_bytes, batch, skippable
        )
        for part, macs in macs_by_precision.items()
        if macs > 0
    ]
    needed = card.bytes + batch * card.peak_activation_bytes
    overhead_s = profile.compute_overhead_s
    # Each part's estimate includes the call overhead (at its engine's power): keep the first's.
    repeated_overhead_j = sum(p.energy_j / p.latency_s * overhead_s for p in parts[1:] if p.latency_s > 0)
    return CostEstimate(
        latency_s=sum(p.latency_s for p in parts) - (len(parts) - 1) * overhead_s,
        energy_j=sum(p.energy_j for p in parts) - repeated_overhead_j,
        fits_memory=needed <= profile.memory_bytes,
        precision="mixed",
        engine_precision="+".join(p.engine_precision for p in parts),
        bound="compute" if any(p.bound == "compute" for p in parts) else "memory",
        memory_needed_bytes=needed,
        memory_budget_bytes=profile.memory_bytes,
    )
