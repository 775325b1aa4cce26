"""The model zoo: one ``ZooSpec`` per model name, collected in ``ZOO`` — the one registry of
models (runtime, trainers, compression lab and CLI all look models up here).

A spec is everything needed to rebuild and feed a model without its training script:
``spec.build()`` returns a fresh ``nn.Module`` (load a ``state_dict`` into it),
``spec.make_dataset(split, n, seed)`` returns ``(x, y)`` numpy arrays for the ``train``,
``val`` or ``test`` (held-out users, voices, backgrounds or days) split: balanced sets of
``n`` samples for the camera, speaker and gesture models; for the health models, seeded
subsets of fixed generated sets (``n=None``: all; see ``models/zoo/health.py``).

Each architecture module (``camera``, ``speaker``, ``gesture``, ``health``, ``photo``) exposes
``SPECS: list[ZooSpec]``; they are imported here, so ``from models.zoo import ZOO`` is
enough. How each model is trained lives with its trainer (``models.train`` for the health
models, ``models.train_photo`` for the photo encoders, ``models.train_zoo`` for the
others), keyed by the zoo name.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


@dataclass(frozen=True)
class ZooSpec:
    """How to build, feed and label one model of the zoo."""

    name: str  # e.g. "camera_detector"
    device_kind: str  # "camera", "speaker", "watch", "phone"
    task: str  # one line for the card
    classes: tuple[str, ...]
    input_shape: tuple[int, ...]  # one sample, without the batch dimension
    build: Callable[[], nn.Module]
    make_dataset: Callable[[str, int | None, int], tuple[np.ndarray, np.ndarray]]
    data_version: str = "1"  # bumped whenever the generator's output changes: part of any cache key


_MODULES = ("camera", "speaker", "gesture", "health", "photo")


def _collect() -> dict[str, ZooSpec]:
    zoo: dict[str, ZooSpec] = {}
    for module_name in _MODULES:
        qualified = f"{__name__}.{module_name}"
        if importlib.util.find_spec(qualified) is None:  # a teammate's module not written yet
            continue
        for spec in getattr(importlib.import_module(qualified), "SPECS", ()):
            assert spec.name not in zoo, f"duplicate zoo name {spec.name}"
            zoo[spec.name] = spec
    return zoo


ZOO: dict[str, ZooSpec] = _collect()


def get(name: str) -> ZooSpec:
    """The spec for ``name``; a ``KeyError`` lists the known names."""
    try:
        return ZOO[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; the zoo has {sorted(ZOO)}") from None


def build(name: str) -> nn.Module:
    """A fresh, untrained instance of model ``name`` (load a state_dict into it)."""
    return get(name).build()


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """An eval-mode copy with each Conv followed by BatchNorm (in a Sequential) folded into one Conv."""
    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        if not isinstance(module, nn.Sequential):
            continue
        for i in range(len(module) - 1):
            conv, bn = module[i], module[i + 1]
            if isinstance(conv, nn.Conv1d | nn.Conv2d) and isinstance(bn, nn.BatchNorm1d | nn.BatchNorm2d):
                module[i] = fuse_conv_bn_eval(conv, bn)
                module[i + 1] = nn.Identity()
    return folded
