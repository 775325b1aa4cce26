"""Federated learning of the wearers' gesture model, with rounds on the device clock.

Each home's watch is a client: it holds its wearer's gesture windows (non-IID, see
:mod:`.partition`) and trains the global ``gesture_imu`` model on them with real torch
(:mod:`.task`). Everything else is the reusable protocol of :mod:`simulator.federated`:
rounds on the device clock (eligibility, deadlines, drops, stragglers, late syncs),
the model and updates over the scenario's links (cloud → phone → watch), the strategies,
differential privacy, secure aggregation and Paillier, and the metrics of the trace.

This module keeps only what is gesture-specific: the data and model params, the task,
and wiring the protocol's services to this app.
"""

from __future__ import annotations

import time
from typing import Any

from simulator.apps.federated.partition import PartitionSpec, client_data
from simulator.apps.federated.task import GestureTask
from simulator.federated import service
from simulator.federated.app import ProtocolApp
from simulator.federated.metrics import summarize
from simulator.federated.params import protocol_params
from simulator.federated.records import RECORDS
from simulator.trace import Trace, register_records
from simulator.validate import Field

MODEL_PARAMS: dict[str, Any] = {
    "model": Field(str, default="gesture_imu", choices=("gesture_imu",)),
    "width": Field(int, default=12, minimum=4, maximum=48),
}
DATA_PARAMS: dict[str, Any] = {
    "samples_per_client": Field(int, default=60, minimum=4),
    "samples_sigma": Field(float, default=0.5, minimum=0.0),
    "label_skew_alpha": Field(float, default=0.5, minimum=0.0, exclusive_min=True),
    "heldout_wearers": Field(int, default=20, minimum=1),
    "heldout_per_wearer": Field(int, default=35, minimum=7),
}


class FederatedLearning(ProtocolApp):
    """The federated gesture app (see the module docstring)."""

    TYPE = "federated"
    DESCRIPTION = (
        "watches learn a gesture model together: rounds on the device clock, real training, real privacy"
    )
    PARAMS = protocol_params(MODEL_PARAMS, DATA_PARAMS)
    RECORDS = RECORDS
    HOOKS = ("round_start", "round_end", "client_dropped", "client_offline", "straggler")

    def __init__(self, sim, name: str, params: dict[str, Any], where: str) -> None:
        super().__init__(sim, name, params, where)
        seeds = self.new_rng("seeds").integers(0, 2**31, size=4)
        data_seed, self.init_seed, self.protocol_seed, self.routine_seed = (int(s) for s in seeds)
        data = client_data(
            PartitionSpec(
                n_clients=len(self.clients),
                seed=data_seed,
                samples_median=params["samples_per_client"],
                samples_sigma=params["samples_sigma"],
                label_skew_alpha=params["label_skew_alpha"],
                heldout_wearers=params["heldout_wearers"],
                heldout_per_wearer=params["heldout_per_wearer"],
            )
        )
        for client in self.clients:
            client.examples = int(data.sizes[client.index])
        self.task = GestureTask(data, params, self.protocol_seed)
        self.server: service.FederatedServer | None = None

    def start(self) -> None:
        from simulator.engine import torch_threads_once

        torch_threads_once()
        started = time.perf_counter()
        weights = self.task.load(self.init_seed)
        self.initial_weights = weights.copy()
        accuracy, _ = self.task.evaluate(weights)
        setup_s = time.perf_counter() - started
        service.check_memory_fit(self, self.clients, self.task)
        self.server = service.make_server(self, self.clients, self.task, weights, self.protocol_seed)
        self.server.host_s["setup"] += setup_s
        plan = service.plan_record(self, self.server, accuracy, int(len(self.task.heldout[1])))
        self.sim.trace.append(plan)
        service.start(self, self.server, self.routine_seed)

    @classmethod
    def summarize(cls, trace: Trace, app: dict[str, Any], end_s: float) -> dict[str, Any]:
        """The app's metrics from the trace alone (``app``: its entry in ``trace.meta["apps"]``)."""
        return summarize(trace, app["name"], end_s)

    def metrics(self, trace: Trace, end_s: float) -> dict[str, Any]:
        out = summarize(trace, self.name, end_s)
        if self.server is not None:  # host time: not a metric of the run
            out["wall_host_s"] = {k: round(v, 3) for k, v in sorted(self.server.host_s.items())}
        return out


App = FederatedLearning
register_records(App.RECORDS)
