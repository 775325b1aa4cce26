"""Local training and evaluation with real torch (one thread): the app loads this module in
``start`` (torch is never imported with the app's package).

The federated model is the zoo's ``GestureIMU`` architecture (``models.zoo.gesture``) at a
configurable width, with two changes for federated training:

- **GroupNorm instead of BatchNorm**: BatchNorm's running statistics follow each client's
  own data and break under non-IID federated averaging (Hsieh et al., "The Non-IID Data
  Quagmire", ICML 2020, replace it by GroupNorm); GroupNorm has no running state, so the
  model's whole state is its parameters and an update is one flat vector.
- **no Dropout**: a client's update is then a deterministic function of the global
  weights, its data and its shuffle seed (the reference-loop test relies on it).

Width 12 by default (6.9 k parameters, 0.12 M MACs per window vs 26 k / 0.43 M at the zoo's
width 24): measured here, a width-24 local step costs 2.0 ms against 1.6 ms at width 12
(batch 16, one thread), and the parameter count sets the size of every update on the
BLE link, the Paillier ciphertext count and the DP noise's norm (∝ √d). Clients train
one at a time: stacking a round's clients with ``torch.func.vmap`` was measured slower
(ragged client sizes pad every client to the longest) or at best 1.3× faster with clients
bucketed by step count, not worth a second training path.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from models.data import imu
from models.zoo.gesture import GestureIMU


def _groups(channels: int) -> int:
    for groups in (4, 3, 2):
        if channels % groups == 0:
            return groups
    return 1


def build_model(width: int) -> nn.Module:
    """The zoo's GestureIMU at ``width``, BatchNorm → GroupNorm, Dropout removed."""
    model = GestureIMU(n_classes=len(imu.CLASSES), width=width)

    def swap(module: nn.Module) -> None:
        for name, child in module.named_children():
            if isinstance(child, nn.BatchNorm1d):
                setattr(module, name, nn.GroupNorm(_groups(child.num_features), child.num_features))
            elif isinstance(child, nn.Dropout):
                setattr(module, name, nn.Identity())
            else:
                swap(child)

    swap(model)
    return model


def initial_weights(width: int, seed: int) -> np.ndarray:
    """The global model's starting weights (torch's default init under ``seed``)."""
    torch.manual_seed(seed)
    return parameters_to_vector(build_model(width).parameters()).detach().numpy().copy()


def count_macs(model: nn.Module) -> int:
    """Multiply-accumulates of one forward pass on one window (FlopCounterMode / 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, *imu.INPUT_SHAPE))
    return int(counter.get_total_flops() // 2)


def activation_bytes(model: nn.Module) -> int:
    """Bytes of the activations one window keeps for the backward pass (float32)."""
    total = 0

    def hook(_module, _inputs, output) -> None:
        nonlocal total
        total += output.numel() * 4

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    with torch.no_grad():
        model(torch.zeros(1, *imu.INPUT_SHAPE))
    for handle in handles:
        handle.remove()
    return total


class LocalTrainer:
    """One reusable model instance: load flat weights, train on a client, evaluate."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.model = build_model(width)
        self.params = list(self.model.parameters())
        self.sizes = [p.numel() for p in self.params]
        self.n_params = sum(self.sizes)

    def set_weights(self, flat: np.ndarray) -> None:
        # A copy: vector_to_parameters would make the parameters views of ``flat``.
        vector_to_parameters(torch.tensor(np.asarray(flat, np.float32)), self.params)

    def weights(self) -> np.ndarray:
        return parameters_to_vector(self.params).detach().numpy().copy()

    def train(
        self,
        start: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        epochs: int,
        batch_size: int,
        lr: float,
        prox_mu: float = 0.0,
        shuffle_seed: int = 0,
    ) -> tuple[np.ndarray, float]:
        """Plain SGD from weights ``start``: ``epochs`` passes over ``(x, y)`` in shuffled
        minibatches of ``batch_size`` (0: the full batch, unshuffled), with FedProx's
        proximal gradient ``prox_mu · (w − start)``. Returns the delta (trained − start,
        float32) and the mean training loss."""
        self.set_weights(start)
        self.model.train()
        anchor = [p.detach().clone() for p in self.params] if prox_mu > 0 else None
        inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
        n = len(targets)
        batch = n if batch_size <= 0 else min(batch_size, n)
        rng = np.random.default_rng(shuffle_seed)
        losses = []
        for _ in range(epochs):
            order = np.arange(n) if batch == n else rng.permutation(n)
            for lo in range(0, n, batch):
                idx = order[lo : lo + batch]
                chunk = (inputs, targets) if batch == n else (inputs[idx], targets[idx])
                loss = F.cross_entropy(self.model(chunk[0]), chunk[1])
                for p in self.params:
                    p.grad = None
                loss.backward()
                with torch.no_grad():
                    for i, p in enumerate(self.params):
                        grad = p.grad
                        if anchor is not None:
                            grad = grad.add(p - anchor[i], alpha=prox_mu)
                        p.add_(grad, alpha=-lr)
                losses.append(loss.item())
        delta = self.weights() - start.astype(np.float32)
        return delta.astype(np.float32), float(np.mean(losses)) if losses else 0.0

    def evaluate(
        self, flat: np.ndarray, x: np.ndarray, y: np.ndarray, batch: int = 1024
    ) -> tuple[float, float]:
        """Accuracy and mean cross-entropy of weights ``flat`` on ``(x, y)``."""
        self.set_weights(flat)
        self.model.eval()
        correct, loss_sum = 0, 0.0
        with torch.no_grad():
            for lo in range(0, len(y), batch):
                logits = self.model(torch.from_numpy(x[lo : lo + batch]))
                target = torch.from_numpy(y[lo : lo + batch])
                loss_sum += float(F.cross_entropy(logits, target, reduction="sum"))
                correct += int((logits.argmax(1) == target).sum())
        return correct / max(len(y), 1), loss_sum / max(len(y), 1)
