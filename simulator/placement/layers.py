"""A model's layers as the simulator sees them: the ``layers.json`` sidecar (plain JSON, no
torch) written by ``python -m models.partition``, and the cards of a model's parts.

A split ``k`` runs layers ``[0, k)`` on one device and ``[k, n_layers)`` on another; the
tensor at boundary ``k`` crosses the link (``k = 0``: the raw input, ``k = n_layers``: the
output logits). A part's card is the hosted card with the part's share: its exact MACs (from
the sidecar), the card's bytes in proportion to the part's parameters and the card's peak
activation in proportion to the part's largest tensor — so part ``[0, n_layers)`` is the
card itself and :func:`simulator.compute.estimate_card` costs every part.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from models.cards import ARTIFACTS_DIR, ModelCard

SIDECAR = "layers.json"  # models.partition.SIDECAR (models/ is not imported for it: torch)


@dataclass(frozen=True)
class LayerTable:
    """Per-layer MACs and parameters and per-boundary tensor sizes of one model."""

    model: str
    names: tuple[str, ...]
    macs: tuple[int, ...]
    params: tuple[int, ...]
    boundary_bytes_fp32: tuple[int, ...]  # n_layers + 1 entries
    boundary_bytes_int8: tuple[int, ...]
    int8_agreement: tuple[float, ...]  # per split 0..n_layers-1: share of predictions unchanged
    _parts: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_layers(self) -> int:
        return len(self.macs)

    def boundary_bytes(self, k: int, boundary: str = "fp32") -> int:
        """Bytes sent at split ``k``; an int8 boundary sends uint8 unless fp32 is smaller
        (a handful of logits: the scale and zero point outweigh them)."""
        fp32 = self.boundary_bytes_fp32[k]
        return min(fp32, self.boundary_bytes_int8[k]) if boundary == "int8" else fp32

    def part_card(self, card: ModelCard, start: int, stop: int) -> ModelCard:
        """The card of layers ``[start, stop)`` of ``card``'s variant (cached: devices cache
        costs by card identity)."""
        key = (card.model, card.variant, id(card), start, stop)
        part = self._parts.get(key)
        if part is None:
            part = self._parts[key] = self._make_part(card, start, stop)
        return part

    def _make_part(self, card: ModelCard, start: int, stop: int) -> ModelCard:
        if (start, stop) == (0, self.n_layers):
            return card
        macs = sum(self.macs[start:stop])
        total_params = max(sum(self.params), 1)
        params_share = sum(self.params[start:stop]) / total_params
        peak_whole = max(self.boundary_bytes_fp32)
        peak_part = max(self.boundary_bytes_fp32[start : stop + 1])
        extra = dict(card.extra or {})
        split_macs = extra.get("macs_by_precision")
        if split_macs:
            share = macs / max(sum(self.macs), 1)
            extra["macs_by_precision"] = {p: m * share for p, m in split_macs.items()}
        return dataclasses.replace(
            card,
            variant=f"{card.variant}[{start}:{stop}]",
            macs=macs,
            params=round(card.params * params_share),
            bytes=round(card.bytes * params_share),
            peak_activation_bytes=round(card.peak_activation_bytes * peak_part / peak_whole),
            extra=extra,
        )


@lru_cache(maxsize=32)
def layer_table(model: str, root: Path = ARTIFACTS_DIR) -> LayerTable:
    """The sidecar of ``model``; ``ValueError`` saying how to make it when it is missing."""
    path = Path(root) / model / SIDECAR
    if not path.exists():
        raise ValueError(f"{path} is missing: run `python -m models.partition {model}`")
    data = json.loads(path.read_text())
    per_split = {row["split"]: row for row in data["int8_boundary"]["per_split"]}
    return LayerTable(
        model=model,
        names=tuple(layer["name"] for layer in data["layers"]),
        macs=tuple(layer["macs"] for layer in data["layers"]),
        params=tuple(layer["params"] for layer in data["layers"]),
        boundary_bytes_fp32=tuple(b["bytes_fp32"] for b in data["boundaries"]),
        boundary_bytes_int8=tuple(b["bytes_int8"] for b in data["boundaries"]),
        int8_agreement=tuple(per_split[k]["agreement_with_fp32"] for k in range(len(data["layers"]))),
    )


def models_with_tables(root: Path = ARTIFACTS_DIR) -> list[str]:
    """Models that have a sidecar, sorted."""
    return sorted(p.parent.name for p in Path(root).glob(f"*/{SIDECAR}"))
