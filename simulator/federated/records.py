"""The federated protocol's records (the trace is its only interface to views and metrics).

Any app built on :mod:`simulator.federated` writes these kinds under its own ``app`` name:
one :class:`FederatedPlan` at t = 0, :class:`ClientUpdate` per client per round stage
(selected, then reported / dropped / straggled / offline, then synced / rejected for a
late update) and one :class:`FederatedRound` per aggregation.
"""

from __future__ import annotations

from typing import NamedTuple

STAGES = ("selected", "reported", "dropped", "straggled", "offline", "synced", "rejected")


class FederatedPlan(NamedTuple):
    """The run's set-up (t = 0): clients (watches) and their relays, the protocol and the
    model; ``noise_multiplier`` is 0 without differential privacy."""

    t: float
    app: str
    server: str
    clients: list
    relays: list
    rounds: int
    clients_per_round: int
    strategy: str
    mode: str
    privacy: str
    model_params: int
    model_bytes: int
    noise_multiplier: float
    initial_accuracy: float
    heldout_windows: int
    day_start_s: float


class ClientUpdate(NamedTuple):
    """A client's stage in round ``round``: ``selected``, then ``reported`` (in time),
    ``dropped``, ``straggled`` (missed the deadline) or ``offline`` (update held for
    later), then ``synced`` / ``rejected`` for an update that arrived late."""

    t: float
    app: str
    round: int
    device: str
    stage: str
    examples: int
    bytes_up: int
    bytes_down: int
    energy_j: float
    staleness: int
    detail: str


class FederatedRound(NamedTuple):
    """One aggregation: the new global model's held-out accuracy and what the round cost.
    Bytes and client energy are read off the round's own ``Message`` (links) and
    ``Inference`` (devices) records and crypto device time (:mod:`.wire`), never booked
    beside them: ``client_energy_j`` is what the clients and their relays spent,
    ``battery_energy_j`` its share drawn from batteries (not the charger),
    ``watch_battery_j`` the client devices' own part of it (the relays' excluded); ``privacy_*`` are the privacy layers'
    device seconds, joules and protocol bytes;
    ``aggregate_error`` is the largest |secure − plain| difference of the summed update
    (quantization only; 0 without secure aggregation); ``epsilon`` is ε spent so far."""

    t: float
    app: str
    round: int
    version: int
    started_t: float
    hour: float
    selected: int
    participants: int
    stale: int
    stragglers: int
    dropped: int
    offline: int
    recovered: int
    accuracy: float
    loss: float
    bytes_up: int
    bytes_down: int
    client_energy_j: float
    battery_energy_j: float
    watch_battery_j: float
    privacy_device_s: float
    privacy_energy_j: float
    privacy_bytes: int
    aggregate_error: float
    epsilon: float | None
    detail: str


RECORDS: dict[str, type] = {"fl_plan": FederatedPlan, "fl_client": ClientUpdate, "fl_round": FederatedRound}
