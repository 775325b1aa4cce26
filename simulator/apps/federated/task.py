"""The gesture task the federated protocol trains: the wearers' IMU windows (non-IID, see
:mod:`.partition`), the ``gesture_imu`` model (:mod:`.training`, real torch, loaded in
:meth:`GestureTask.load`) and its measure on held-out wearers who never train.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.apps.federated.partition import ClientData


class GestureTask:
    """A :class:`simulator.federated.server.Task` for the watches' gesture model."""

    def __init__(self, data: ClientData, params: dict[str, Any], shuffle_seed: int) -> None:
        self.data = data
        self.params = params
        self.shuffle_seed = shuffle_seed

    def load(self, init_seed: int) -> np.ndarray:
        """Build the model (torch loads here) and return the initial global weights."""
        import simulator.apps.federated.training as training

        width = self.params["width"]
        self.trainer = training.LocalTrainer(width)
        self.n_params = self.trainer.n_params
        self.sizes = self.trainer.sizes
        weights = training.initial_weights(width, init_seed)
        self.train_card = self._training_card(training)
        self.heldout = self.data.heldout
        return weights

    def train_steps(self, client: int) -> int:
        return int(self.data.sizes[client]) * self.params["local_epochs"]

    def local_train(self, weights: np.ndarray, client: int, round_number: int, prox_mu: float) -> np.ndarray:
        params = self.params
        x, y = self.data.client(client)
        delta, _loss = self.trainer.train(
            weights,
            x,
            y,
            params["local_epochs"],
            params["batch_size"],
            params["lr"],
            prox_mu,
            shuffle_seed=[self.shuffle_seed, 0, round_number, client],
        )
        return delta

    def evaluate(self, weights: np.ndarray) -> tuple[float, float]:
        return self.trainer.evaluate(weights, *self.heldout)

    def _training_card(self, training):
        """A card for one local training step per window: forward + backward ≈ 3× the
        forward MACs; weights, gradients and the update are the bytes moved per call."""
        from models.cards import ModelCard
        from models.data import imu

        params = self.params
        macs = training.count_macs(self.trainer.model)
        return ModelCard(
            model=params["model"],
            variant=f"fl-train-w{params['width']}",
            task="federated local training (one window: forward + backward)",
            classes=list(imu.CLASSES),
            input_shape=list(imu.INPUT_SHAPE),
            precision="fp32",
            params=self.trainer.n_params,
            macs=3 * macs,
            bytes=3 * 4 * self.trainer.n_params,
            peak_activation_bytes=2 * training.activation_bytes(self.trainer.model),
            accuracy=0.0,
            latency_ms_b1=0.0,
            latency_ms_b64=0.0,
            recipe=f"SGD lr={params['lr']} epochs={params['local_epochs']} batch={params['batch_size']}",
            artifact="",
            runtime="torch",
            privacy_level="on-device",
        )
