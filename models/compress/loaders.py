"""Loading paths for the compressed variants whose artifact is not a plain state dict or ONNX.

``models.runtime`` dispatches here on the card's ``runtime`` field:

* ``torch-resized``: a state dict with fewer channels (structured pruning, distilled or thin
  students); the zoo architecture is shrunk to the stored shapes.
* ``torch-csr``: CSR weights (unstructured pruning), decoded to dense at load.
* ``torch-early-exit``: backbone + exit head + cut + threshold.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from models.cards import ARTIFACTS_DIR, ModelCard
from models.compress.early_exit import load_early_exit
from models.compress.lab import model_source
from models.compress.prune import load_csr_state_dict, resize_to_state_dict

RUNTIMES = ("torch-resized", "torch-csr", "torch-early-exit")


def load_variant_module(card: ModelCard, root: Path = ARTIFACTS_DIR, build=None) -> nn.Module:
    """The eval-mode torch module of a compressed variant described by ``card``.

    ``build`` makes the untrained architecture (default: the zoo's or the health registry's).
    """
    path = Path(root) / card.model / card.artifact
    base = (build or model_source(card.model).build)()
    if card.runtime == "torch-resized":
        return resize_to_state_dict(base, torch.load(path, map_location="cpu", weights_only=True))
    if card.runtime == "torch-csr":
        base.load_state_dict(load_csr_state_dict(path))
        return base.eval()
    if card.runtime == "torch-early-exit":
        return load_early_exit(base, path)
    raise ValueError(
        f"no compressed-variant loader for runtime {card.runtime!r}; known: {', '.join(RUNTIMES)}"
    )


def load_predictor(model: str, variant: str, root: Path = ARTIFACTS_DIR):
    """A ``models.runtime`` predictor for any variant (the runtime dispatches on ``RUNTIMES``)."""
    from models import runtime

    return runtime.load(model, variant, Path(root))
