"""A context-aware factorization recommender for home suggestions (pure numpy, small).

Score of item ``j`` for member ``m`` in context ``c`` at time slot ``s``::

    score = (u_m + C_c) · V_j + b_j + B_ctx[j, c] + B_slot[j, s]

``V`` (item factors), the biases, the context offsets ``C`` and ``A`` (device attributes →
a member's prior factor, for cold start: ``u ≈ A · attributes``) are the *global*
weights, one flat float32 vector (:class:`Layout`) that federated averaging aggregates.
The member factors ``u`` are *local*: they live in the home and never leave it.

Loss per logged event: the softmax cross-entropy of the used item over the catalogue;
a dismissed item adds ``−λ log(1 − p_item)``; ``u`` is pulled to ``A · attributes`` and
everything has a small L2. Training is minibatch SGD (:func:`local_sgd`) on one home's
events (federated), on everyone's (centralized) or on one home's with all weights its
own (each home alone). :func:`rank_metrics` gives hit-rate@10 and NDCG@10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOP_K = 10
DISMISS_WEIGHT = 0.5
PRIOR_WEIGHT = 0.05  # pull of u towards A · attributes
L2 = 1e-4


@dataclass(frozen=True)
class Layout:
    """Where each global tensor sits in the flat weight vector."""

    n_items: int
    dim: int
    n_contexts: int
    n_slots: int
    n_attributes: int

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "V": (self.n_items, self.dim),
            "b": (self.n_items,),
            "B_ctx": (self.n_items, self.n_contexts),
            "B_slot": (self.n_items, self.n_slots),
            "A": (self.n_attributes, self.dim),
            "C": (self.n_contexts, self.dim),
        }

    @property
    def sizes(self) -> list[int]:
        return [int(np.prod(shape)) for shape in self.shapes.values()]

    @property
    def n_params(self) -> int:
        return sum(self.sizes)

    def unpack(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Views of ``weights`` as the named tensors (writing them writes ``weights``)."""
        out, start = {}, 0
        for (name, shape), size in zip(self.shapes.items(), self.sizes, strict=True):
            out[name] = weights[start : start + size].reshape(shape)
            start += size
        return out

    def initial(self, seed: int) -> np.ndarray:
        rng = np.random.default_rng([seed, 7])
        weights = np.zeros(self.n_params, np.float32)
        parts = self.unpack(weights)
        parts["V"][:] = rng.normal(0.0, 0.1, parts["V"].shape)
        parts["A"][:] = rng.normal(0.0, 0.01, parts["A"].shape)
        return weights


@dataclass
class Events:
    """A set of logged events (columns) with the members' row in ``U``."""

    member: np.ndarray  # row in the U matrix passed alongside
    item: np.ndarray
    context: np.ndarray
    slot: np.ndarray
    feedback: np.ndarray  # 0 used, 1 dismissed

    def __len__(self) -> int:
        return len(self.item)

    def take(self, index: np.ndarray) -> Events:
        return Events(*(getattr(self, f)[index] for f in ("member", "item", "context", "slot", "feedback")))


def scores(
    parts: dict[str, np.ndarray], user: np.ndarray, context: np.ndarray, slot: np.ndarray
) -> np.ndarray:
    """``(n, n_items)`` scores for ``n`` (member factor, context, slot) rows."""
    query = user + parts["C"][context]
    return (
        query @ parts["V"].T + parts["b"][None, :] + parts["B_ctx"][:, context].T + parts["B_slot"][:, slot].T
    )


def local_sgd(
    layout: Layout,
    weights: np.ndarray,
    users: np.ndarray,
    attributes: np.ndarray,
    events: Events,
    epochs: int,
    batch_size: int,
    lr: float,
    rng: np.random.Generator,
    prox_mu: float = 0.0,
    train_global: bool = True,
) -> tuple[np.ndarray, np.ndarray, float]:
    """SGD on ``events``; returns (new global weights, new member factors, mean loss).

    ``users`` (rows indexed by ``events.member``) and ``attributes`` are the members'
    local state; ``prox_mu`` is FedProx's pull to the starting global weights."""
    weights = weights.astype(np.float32).copy()
    start = weights.copy()
    users = users.astype(np.float32).copy()
    parts = layout.unpack(weights)
    n = len(events)
    if n == 0:
        return weights, users, 0.0
    batch = batch_size or n
    losses = []
    for _ in range(epochs):
        order = rng.permutation(n)
        for first in range(0, n, batch):
            ev = events.take(order[first : first + batch])
            rows = len(ev)
            user = users[ev.member]
            logits = scores(parts, user, ev.context, ev.slot)
            logits -= logits.max(1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(1, keepdims=True)
            picked = prob[np.arange(rows), ev.item]
            used = ev.feedback == 0
            grad = prob.copy()
            # used: softmax CE; dismissed: −λ log(1 − p), d/ds = λ p/(1−p) (e_j − p)
            grad[used] = prob[used]
            grad[used, ev.item[used]] -= 1.0
            dismissed = ~used
            factor = DISMISS_WEIGHT * picked[dismissed] / np.maximum(1.0 - picked[dismissed], 1e-6)
            grad[dismissed] = -factor[:, None] * prob[dismissed]
            grad[dismissed, ev.item[dismissed]] += factor
            losses.append(
                float(
                    -np.log(np.maximum(picked[used], 1e-12)).sum()
                    - DISMISS_WEIGHT * np.log(np.maximum(1 - picked[dismissed], 1e-12)).sum()
                )
                / rows
            )
            grad /= rows
            query = user + parts["C"][ev.context]
            d_query = grad @ parts["V"]
            prior = users[ev.member] - attributes[ev.member] @ parts["A"]
            d_user = d_query + PRIOR_WEIGHT * prior / rows
            np.add.at(users, ev.member, -lr * (d_user + L2 * user))
            if train_global:
                d_v = grad.T @ query + L2 * parts["V"]
                d_c = np.zeros_like(parts["C"])
                np.add.at(d_c, ev.context, d_query)
                d_b_ctx = np.zeros_like(parts["B_ctx"])
                np.add.at(d_b_ctx.T, ev.context, grad)
                d_b_slot = np.zeros_like(parts["B_slot"])
                np.add.at(d_b_slot.T, ev.slot, grad)
                d_a = -PRIOR_WEIGHT * attributes[ev.member].T @ prior / rows
                parts["V"] -= lr * d_v
                parts["b"] -= lr * grad.sum(0)
                parts["B_ctx"] -= lr * d_b_ctx
                parts["B_slot"] -= lr * d_b_slot
                parts["C"] -= lr * d_c
                parts["A"] -= lr * d_a
                if prox_mu > 0:
                    weights -= lr * prox_mu * (weights - start)
    return weights, users, float(np.mean(losses))


def rank_of(score_rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """0-based rank of ``items[i]`` in row ``i`` (ties broken against the item)."""
    target = score_rows[np.arange(len(items)), items]
    ranks = (score_rows >= target[:, None]).sum(1) - 1
    # a non-finite score (a diverged model) ranks last, never first
    return np.where(np.isfinite(target), ranks, score_rows.shape[1] - 1)


def rank_metrics(ranks: np.ndarray, k: int = TOP_K) -> tuple[float, float]:
    """(hit-rate@k, NDCG@k) of 0-based ranks of the used items."""
    if len(ranks) == 0:
        return 0.0, 0.0
    hit = ranks < k
    return float(hit.mean()), float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean())


def evaluate(
    layout: Layout, weights: np.ndarray, users: np.ndarray, events: Events, k: int = TOP_K
) -> tuple[float, float, float]:
    """(hit-rate@k, NDCG@k, mean CE) over the *used* events of ``events``."""
    used = events.take(np.flatnonzero(events.feedback == 0))
    parts = layout.unpack(weights.astype(np.float32))
    s = scores(parts, users[used.member], used.context, used.slot)
    ranks = rank_of(s, used.item)
    hit, ndcg = rank_metrics(ranks, k)
    s = s - s.max(1, keepdims=True)
    log_p = s[np.arange(len(used)), used.item] - np.log(np.exp(s).sum(1))
    return hit, ndcg, float(-log_p.mean()) if len(used) else 0.0


def popularity_ranks(train_items: np.ndarray, n_items: int, test_items: np.ndarray) -> np.ndarray:
    """Ranks of ``test_items`` under the most-popular list of ``train_items`` (used)."""
    counts = np.bincount(train_items, minlength=n_items).astype(float)
    # ties broken by item id, the same for everyone
    score = counts - np.arange(n_items) * 1e-9
    order = np.argsort(-score)
    rank = np.empty(n_items, int)
    rank[order] = np.arange(n_items)
    return rank[test_items]


def cold_users(layout: Layout, weights: np.ndarray, attributes: np.ndarray) -> np.ndarray:
    """New members' factors from their device attributes alone (``A · attributes``)."""
    return (attributes @ layout.unpack(weights.astype(np.float32))["A"]).astype(np.float32)
