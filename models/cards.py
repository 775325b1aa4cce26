"""ModelCard: the passport of one model variant.

The simulator reads compute costs from it (MACs, bytes, precision); the GUI and CLI show it.
Every number on a card is measured by our own code on the real artifact, never typed in.
Cards live next to their weights: ``models/artifacts/<model>/<variant>.card.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from models.store import ZOO_DIR, model_root, store_dir

ARTIFACTS_DIR = ZOO_DIR


@dataclass
class ModelCard:
    """Measured description of one model variant (see module docstring)."""

    model: str  # e.g. "hr_screener"
    variant: str  # e.g. "fp32", "int8"
    task: str  # one line, e.g. "heart-rate screening: normal vs suspicious"
    classes: list[str]
    input_shape: list[int]  # one sample, without the batch dimension
    precision: str  # dominant precision: fp32, fp16, int8, mixed
    params: int
    macs: int  # per sample, counted on the fp32 graph
    bytes: int  # bytes on disk of the artifact file(s)
    peak_activation_bytes: int
    accuracy: float  # held-out, 0..1
    latency_ms_b1: float  # host, one torch thread, median
    latency_ms_b64: float
    recipe: str  # how this variant was made, e.g. "ptq-static minmax calib=512"
    artifact: str  # file name inside the model's artifact folder
    runtime: str  # "torch" or "onnxruntime"
    per_class_accuracy: dict[str, float] = field(default_factory=dict)
    precision_per_layer: dict[str, str] = field(default_factory=dict)
    sparsity: float = 0.0
    devices_fit: list[str] = field(default_factory=list)
    privacy_level: str = "on-device"
    version: str = "1"
    date: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def weight_bytes(self) -> int:
        return self.bytes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def load(cls, path: str | Path) -> ModelCard:
        return cls.from_dict(json.loads(Path(path).read_text()))


def card_path(model: str, variant: str, root: Path = ARTIFACTS_DIR) -> Path:
    return root / model / f"{variant}.card.json"


def list_cards(root: Path = ARTIFACTS_DIR) -> list[ModelCard]:
    """All cards under ``root``, sorted by model then variant."""
    return [ModelCard.load(p) for p in sorted(root.glob("*/*.card.json"))]


def available(root: Path = ARTIFACTS_DIR) -> dict[str, list[str]]:
    """Model name -> variants that have a card under ``root``."""
    found: dict[str, list[str]] = {}
    for path in sorted(Path(root).glob("*/*.card.json")):
        found.setdefault(path.parent.name, []).append(path.name.removesuffix(".card.json"))
    return found


def _describe(found: dict[str, list[str]]) -> str:
    return (
        "; ".join(f"{m}: {', '.join(v)}" for m, v in found.items()) or "none (run `python main.py train all`)"
    )


def find_card(model: str, variant: str = "fp32", root: Path | None = None) -> ModelCard:
    """The card of ``model``/``variant`` (light: JSON only); ValueError naming what exists.

    Without ``root``, a zoo model is looked up in the zoo and any other name in the user's
    model store (:func:`models.store.model_root`): the one place that makes an imported
    model usable by name in scenarios, the engine and the CLI."""
    if root is None:
        root = model_root(model)
        found = {**available(store_dir()), **available(ARTIFACTS_DIR)}
    else:
        found = available(root)
    if model not in found:
        raise ValueError(f"unknown model {model!r}; available models and variants: {_describe(found)}")
    if variant not in found[model]:
        raise ValueError(
            f"model {model!r} has no variant {variant!r}; available variants: {', '.join(found[model])}"
        )
    return ModelCard.load(card_path(model, variant, root))
