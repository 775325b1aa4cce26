"""The suggestion task the federated protocol trains (a :class:`simulator.federated.server.Task`).

Global weights: the recommender's item factors, biases, context offsets and the cold-start
map (:class:`models.recommender.Layout`). Each home's member factors stay in the home
(``users``, one row per member, updated only by that home's local training); the server
sees only the home's delta of the global weights. The held-out measure is hit-rate@10 of
the members' used items in the held-out weeks, ranked with each home's own member factors
as the home last left them (what its devices would serve).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from models import recommender
from models.cards import ModelCard
from models.data import households

#: bytes per stored float (the cached slices and the wire are float32)
FLOAT_BYTES = 4


@dataclass
class HomeData:
    """One home's logged history (train weeks), as its phone holds it."""

    members: np.ndarray  # global member ids
    events: recommender.Events  # member column = row in ``members``


def events_of(world: households.Households, mask: np.ndarray, contexts: np.ndarray) -> recommender.Events:
    ev = world.events
    return recommender.Events(
        ev["member"][mask], ev["item"][mask], contexts[mask], ev["slot"][mask], ev["feedback"][mask]
    )


class SuggestionTask:
    """Federated matrix factorization over the homes of ``world`` (see the module docstring)."""

    def __init__(self, world: households.Households, params: dict[str, Any], seed: int) -> None:
        self.world = world
        self.params = params
        self.seed = seed
        self.layout = recommender.Layout(
            world.n_items,
            params["factor_dim"],
            len(households.CONTEXTS),
            households.TIME_SLOTS,
            len(households.ATTRIBUTES),
        )
        self.n_params = self.layout.n_params
        self.sizes = self.layout.sizes
        #: what each event's context is as the devices infer it (location blurred)
        self.contexts = households.blurred_contexts(world, params["blur_m"])
        train = world.train_mask()
        self.homes = []
        for home in range(world.spec.n_homes):
            members = np.flatnonzero(world.member_home == home)
            mask = train & (world.events["home"] == home)
            events = events_of(world, mask, self.contexts)
            events.member = np.searchsorted(members, events.member)
            self.homes.append(HomeData(members, events))
        self.heldout = events_of(world, world.heldout_mask(), self.contexts)
        self.users = np.zeros((world.n_members, params["factor_dim"]), np.float32)
        self.versions = np.zeros(world.spec.n_homes, int)  # local trainings per home
        #: each home's weights after its last local training (global + its own delta)
        self.personal: dict[int, np.ndarray] = {}
        #: called with the client's index after its local training (the app's slice push)
        self.on_trained: Callable[[int], None] | None = None
        self.train_card = self._training_card()

    def initial_weights(self) -> np.ndarray:
        weights = self.layout.initial(self.seed)
        self.users[:] = recommender.cold_users(self.layout, weights, self.world.member_attributes)
        return weights

    def examples(self, client: int) -> int:
        return max(1, len(self.homes[client].events))

    def train_steps(self, client: int) -> int:
        return self.examples(client) * self.params["local_epochs"]

    def local_train(self, weights: np.ndarray, client: int, round_number: int, prox_mu: float) -> np.ndarray:
        """The home's SGD on its own events: its member factors change here and stay here;
        the return value is the delta of the global weights only."""
        home = self.homes[client]
        rng = np.random.default_rng([self.seed, round_number, client])
        new_weights, users, _ = recommender.local_sgd(
            self.layout,
            weights,
            self.users[home.members],
            self.world.member_attributes[home.members],
            home.events,
            self.params["local_epochs"],
            self.params["batch_size"],
            self.params["lr"],
            rng,
            prox_mu,
        )
        self.users[home.members] = users
        self.versions[client] += 1
        self.personal[client] = new_weights
        if self.on_trained is not None:
            self.on_trained(client)
        return (new_weights - weights).astype(np.float32)

    def evaluate(self, weights: np.ndarray) -> tuple[float, float]:
        """Held-out (hit-rate@10, cross-entropy) of ``weights`` with the homes' member factors."""
        hit, _ndcg, loss = recommender.evaluate(self.layout, weights, self.users, self.heldout)
        return hit, loss

    def _training_card(self) -> ModelCard:
        """One local step on one event: forward (the catalogue's scores) + backward ≈ 3×."""
        layout = self.layout
        macs = layout.n_items * (layout.dim + 3)
        return ModelCard(
            model="home_ranker",
            variant=f"fl-train-d{layout.dim}",
            task="federated local training of the suggestion factors (one event: forward + backward)",
            classes=[],
            input_shape=[layout.dim],
            precision="fp32",
            params=layout.n_params,
            macs=3 * macs,
            bytes=3 * FLOAT_BYTES * layout.n_params,
            peak_activation_bytes=2 * FLOAT_BYTES * layout.n_items,
            accuracy=0.0,
            latency_ms_b1=0.0,
            latency_ms_b64=0.0,
            recipe=f"SGD lr={self.params['lr']} epochs={self.params['local_epochs']} batch={self.params['batch_size']}",
            artifact="",
            runtime="numpy",
        )
