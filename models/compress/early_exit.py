"""Early exit: a cheap classifier head part-way through the network answers the easy inputs.

The trained backbone is cut on its ``torch.fx`` graph at a point where a single tensor is
live (a chain boundary), so ``full(x) == tail(trunk(x))`` exactly. An exit head (global
average + max pool, one Linear) is trained on the frozen trunk's features; the backbone is not
changed, so a sample that does not exit gets exactly the FP32 answer. A sample exits when the
head's top probability reaches a threshold chosen on validation data: the largest compute
saving whose validation accuracy stays within the allowed loss.

Compute saved is counted in MACs: ``1 - mean MACs per sample / full MACs``, where an exiting
sample costs trunk + head and a continuing one costs everything + head.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import fx, nn
from torch.nn import functional as F

from models.compress.common import predict_logits


def cut_candidates(traced: fx.GraphModule) -> list[str]:
    """Names of nodes after which only that node's output is still needed (chain boundaries)."""
    nodes = list(traced.graph.nodes)
    position = {node: i for i, node in enumerate(nodes)}
    candidates = []
    for i, node in enumerate(nodes):
        if node.op in {"placeholder", "output", "get_attr"} or nodes[i + 1].op == "output":
            continue
        live = {
            earlier
            for earlier in nodes[: i + 1]
            if earlier.op != "get_attr" and any(position[user] > i for user in earlier.users)
        }
        if live == {node}:
            candidates.append(node.name)
    return candidates


def split_at(traced: fx.GraphModule, cut: str) -> tuple[fx.GraphModule, fx.GraphModule]:
    """``(trunk, tail)`` graph modules with ``tail(trunk(x)) == traced(x)``."""
    trunk_graph, tail_graph = fx.Graph(), fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    nodes = iter(traced.graph.nodes)
    for node in nodes:
        env[node] = trunk_graph.node_copy(node, lambda n: env[n])
        if node.name == cut:
            trunk_graph.output(env[node])
            break
    else:
        raise ValueError(f"no node named {cut!r} in the graph")
    cut_node = next(n for n in traced.graph.nodes if n.name == cut)
    tail_env = {cut_node: tail_graph.placeholder("features")}
    for node in nodes:
        if node.op == "output":
            tail_graph.output(fx.node.map_arg(node.args[0], lambda n: tail_env[n]))
            break
        tail_env[node] = tail_graph.node_copy(node, lambda n: tail_env[n])
    return fx.GraphModule(traced, trunk_graph), fx.GraphModule(traced, tail_graph)


class ExitHead(nn.Module):
    """Global average and max pool over the spatial axes, then one Linear."""

    def __init__(self, channels: int, n_classes: int):
        super().__init__()
        self.linear = nn.Linear(2 * channels, n_classes)

    @staticmethod
    def pool(features: torch.Tensor) -> torch.Tensor:
        if features.dim() == 2:
            return torch.cat([features, features], dim=1)
        flat = features.flatten(2)
        return torch.cat([flat.mean(2), flat.amax(2)], dim=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(self.pool(features))


class EarlyExitModel(nn.Module):
    """Trunk → exit head; samples below the threshold continue through the tail.

    ``forward`` works on batches: the tail only runs on the rows that did not exit. The rows
    that exited get the head's logits. ``last_exit_rate`` records the batch's exit fraction.
    """

    def __init__(self, trunk: nn.Module, tail: nn.Module, head: ExitHead, threshold: float):
        super().__init__()
        self.trunk, self.tail, self.head = trunk, tail, head
        self.threshold = threshold
        self.last_exit_rate = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.trunk(x)
        exit_logits = self.head(features)
        confident = F.softmax(exit_logits, dim=1).amax(1) >= self.threshold
        self.last_exit_rate = float(confident.float().mean())
        if bool(confident.all()):
            return exit_logits
        out = exit_logits.clone()
        rest = ~confident
        out[rest] = self.tail(features[rest])
        return out


@dataclass
class ExitChoice:
    """The chosen cut and threshold with what they measured on validation data."""

    cut: str
    threshold: float
    exit_rate: float
    val_accuracy: float
    val_accuracy_full: float
    macs_trunk: int
    macs_head: int
    macs_full: int

    @property
    def expected_macs(self) -> float:
        stop = self.macs_trunk + self.macs_head
        go_on = self.macs_full + self.macs_head
        return self.exit_rate * stop + (1 - self.exit_rate) * go_on

    @property
    def compute_saved(self) -> float:
        return 1.0 - self.expected_macs / self.macs_full


def _features(module: nn.Module, x: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat(
            [module(torch.from_numpy(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
        )


def train_head(
    features: torch.Tensor, y: np.ndarray, n_classes: int, epochs: int = 60, seed: int = 0
) -> ExitHead:
    """Fit the exit head on cached trunk features (the backbone stays frozen)."""
    torch.manual_seed(seed)
    head = ExitHead(features.shape[1], n_classes)
    pooled = ExitHead.pool(features)
    mean, std = pooled.mean(0), pooled.std(0) + 1e-6
    labels = torch.from_numpy(y.astype(np.int64))
    optimizer = torch.optim.Adam(head.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(pooled), generator=generator)
        for start in range(0, len(order), 128):
            idx = order[start : start + 128]
            optimizer.zero_grad()
            F.cross_entropy(head.linear((pooled[idx] - mean) / std), labels[idx]).backward()
            optimizer.step()
    with torch.no_grad():  # fold the standardisation into the Linear
        weight = head.linear.weight / std
        head.linear.bias -= (head.linear.weight * (mean / std)).sum(1)
        head.linear.weight.copy_(weight)
    return head.eval()


THRESHOLD_RULES = ("lowest", "contiguous")


def choose_threshold(
    exit_probs: np.ndarray,
    full_logits: np.ndarray,
    y: np.ndarray,
    max_loss: float,
    rule: str = "lowest",
) -> tuple[float, float, float]:
    """Lowest threshold (most exits) whose accuracy is within ``max_loss`` of the full model.

    Thresholds are scanned from the most confident down. ``rule="lowest"`` takes the lowest
    one anywhere in the scan that meets the bound; ``"contiguous"`` stops at the first one that
    breaks it, so every threshold above the choice meets the bound too. On a small validation
    set the accuracy curve is noisy at low thresholds, and ``lowest`` can pick a lucky dip that
    does not hold on new data (measured: gesture_imu, 700 validation windows of 8 wearers).

    Returns ``(threshold, exit_rate, accuracy)``.
    """
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"threshold rule must be one of {THRESHOLD_RULES}, got {rule!r}")
    full_pred = full_logits.argmax(1)
    full_acc = float((full_pred == y).mean())
    exit_pred, confidence = exit_probs.argmax(1), exit_probs.max(1)
    best = (1.01, 0.0, full_acc)
    for threshold in np.unique(np.round(confidence, 4))[::-1]:
        exits = confidence >= threshold
        accuracy = float((np.where(exits, exit_pred, full_pred) == y).mean())
        if accuracy >= full_acc - max_loss:
            best = (float(threshold), float(exits.mean()), accuracy)
        elif rule == "contiguous":
            break
    return best


def build_early_exit(
    model: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    count_macs,
    *,
    max_loss: float = 0.003,
    candidates: list[str] | None = None,
    threshold_rule: str = "lowest",
) -> tuple[EarlyExitModel, ExitChoice, list[ExitChoice]]:
    """Try every chain boundary (or ``candidates``), keep the one that saves the most MACs.

    ``count_macs(module, input_shape)`` counts MACs per sample; ``threshold_rule`` is passed to
    ``choose_threshold``. Returns the model, the choice and all the choices tried (for the report).
    """
    model = model.eval()
    traced = fx.symbolic_trace(model)
    input_shape = tuple(x_train.shape[1:])
    n_classes = int(predict_logits(model, x_val[:2]).shape[1])
    macs_full = int(count_macs(model, input_shape))
    full_val_logits = predict_logits(model, x_val)
    tried: list[ExitChoice] = []
    best: tuple[ExitChoice, nn.Module, nn.Module, ExitHead] | None = None
    for cut in candidates or cut_candidates(traced):
        trunk, tail = split_at(traced, cut)
        train_features = _features(trunk, x_train)
        if train_features.dim() not in (2, 3, 4):
            continue
        head = train_head(train_features, y_train, n_classes)
        val_features = _features(trunk, x_val)
        with torch.inference_mode():
            exit_probs = F.softmax(head(val_features), dim=1).numpy()
        threshold, rate, accuracy = choose_threshold(
            exit_probs, full_val_logits, y_val, max_loss, threshold_rule
        )
        macs_trunk = int(count_macs(trunk, input_shape))
        macs_head = int(count_macs(head, tuple(train_features.shape[1:])))
        choice = ExitChoice(
            cut=cut,
            threshold=threshold,
            exit_rate=rate,
            val_accuracy=accuracy,
            val_accuracy_full=float((full_val_logits.argmax(1) == y_val).mean()),
            macs_trunk=macs_trunk,
            macs_head=macs_head,
            macs_full=macs_full,
        )
        tried.append(choice)
        if best is None or choice.compute_saved > best[0].compute_saved:
            best = (choice, trunk, tail, head)
    if best is None:
        raise ValueError("the model has no chain boundary where an exit head can be attached")
    choice, trunk, tail, head = best
    return EarlyExitModel(trunk, tail, head, choice.threshold).eval(), choice, tried


def save_early_exit(model: EarlyExitModel, base_state: dict, choice: ExitChoice, path) -> None:
    """Backbone weights, head weights and the cut/threshold: all a loader needs with the zoo builder."""
    torch.save(
        {
            "base": base_state,
            "head": model.head.state_dict(),
            "cut": choice.cut,
            "threshold": choice.threshold,
        },
        path,
    )


def load_early_exit(base: nn.Module, path) -> EarlyExitModel:
    """Rebuild an ``EarlyExitModel`` from ``save_early_exit`` output and a fresh zoo model."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    base.load_state_dict(blob["base"])
    trunk, tail = split_at(fx.symbolic_trace(base.eval()), blob["cut"])
    weight = blob["head"]["linear.weight"]
    head = ExitHead(weight.shape[1] // 2, weight.shape[0])
    head.load_state_dict(blob["head"])
    return EarlyExitModel(trunk, tail, head, float(blob["threshold"])).eval()
