"""Small torch helpers shared by the compression techniques: data splits, fit, predict.

Every technique here works on any classifier ``nn.Module`` that maps ``(N, *input_shape)``
float32 to ``(N, n_classes)`` logits, so they are generic over the model zoo.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

torch.set_num_threads(1)


@dataclass
class Splits:
    """Float32 inputs and int64 labels for training, validation (choices) and test (reported)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max())) + 1


def predict_logits(model: nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits of ``model`` in eval mode, batched, as float32 numpy."""
    model.eval()
    outs = []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            outs.append(model(torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size]))).numpy())
    return np.concatenate(outs).astype(np.float32)


def accuracy_of(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of any ``predict(x) -> scores`` on labelled data."""
    return float((predict(x).argmax(1) == y).mean())


def torch_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    return accuracy_of(lambda batch: predict_logits(model, batch), x, y)


# Called after every epoch of every ``fit`` as ``listener(epoch, epochs)``: how the GUI lab's
# recipe process reports progress without each recipe threading a callback through.
_EPOCH_LISTENERS: list[Callable[[int, int], None]] = []


@contextlib.contextmanager
def epoch_listener(listener: Callable[[int, int], None]) -> Iterator[None]:
    """Call ``listener(epoch, epochs)`` after each epoch of any ``fit`` inside the block."""
    _EPOCH_LISTENERS.append(listener)
    try:
        yield
    finally:
        _EPOCH_LISTENERS.remove(listener)


LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def cross_entropy_loss(
    model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, _idx: torch.Tensor
) -> torch.Tensor:
    return F.cross_entropy(model(xb), yb)


def fit(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
    loss_fn: LossFn = cross_entropy_loss,
    after_step: Callable[[nn.Module], None] | None = None,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    weight_decay: float = 0.0,
    freeze_batchnorm: bool = False,
) -> nn.Module:
    """Adam with cosine decay; keeps the weights of the best validation epoch when ``val`` is given.

    ``loss_fn(model, xb, yb, idx)`` gets the batch indices so distillation can look up teacher
    outputs; ``after_step`` runs after each optimizer step (pruning masks, for example).
    ``freeze_batchnorm`` keeps BN running statistics fixed (fine-tuning a few epochs).
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    xs, ys = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y.astype(np.int64))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    steps = max(1, epochs * ((len(xs) + batch_size - 1) // batch_size))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    best_acc, best_state = -1.0, None
    for epoch in range(epochs):
        model.train()
        if freeze_batchnorm:
            for module in model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        order = torch.randperm(len(xs), generator=generator)
        for start in range(0, len(xs), batch_size):
            idx = order[start : start + batch_size]
            if len(idx) < 2:
                continue
            optimizer.zero_grad()
            loss_fn(model, xs[idx], ys[idx], idx).backward()
            optimizer.step()
            scheduler.step()
            if after_step is not None:
                after_step(model)
        if val is not None:
            acc = torch_accuracy(model, *val)
            if acc >= best_acc:
                best_acc, best_state = acc, copy.deepcopy(model.state_dict())
        for listener in _EPOCH_LISTENERS:
            listener(epoch + 1, epochs)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Conv and Linear layers in definition order (the layers that hold nearly all weights)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Linear)]
