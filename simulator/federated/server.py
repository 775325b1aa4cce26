"""The federated round protocol on the device clock, as a service any app can drive
with its own model and data (a :class:`Task`).

:class:`FederatedServer` runs rounds as Flower's strategies name them:

- :meth:`~FederatedServer.configure_round`: pick clients among the *eligible* (charging,
  idle, on Wi-Fi, above a battery floor, read off the devices on the clock; optionally by
  speed tier, TiFL-style);
- :meth:`~FederatedServer.local_update`: the task's real training from the round's
  weights, then the aggregation's client step (clip, noise) and the wire encoding (8-bit);
- :meth:`~FederatedServer.aggregate`: the strategy over the updates that arrived by the
  deadline (stale ones weighted down), wrapped by DP, fed by the secure layer;
- :meth:`~FederatedServer.evaluate`: the task's held-out measure of the global model.

``mode: async`` is FedBuff-like: a fixed number of clients train at once and the server
aggregates every ``buffer_size`` arrivals. The client's own steps are :mod:`.client`, the
privacy layers :mod:`.secure` and :mod:`.aggregation`, the wire :mod:`.transport`.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from simulator.federated import compression, strategies
from simulator.federated.client import client_round
from simulator.federated.records import STAGES, ClientUpdate, FederatedRound
from simulator.federated.routine import clock_hour
from simulator.federated.state import IDLE_STATES, Round, new_window
from simulator.federated.wire import round_costs
from simulator.trace import Note

if TYPE_CHECKING:
    from models.cards import ModelCard
    from simulator.apps.base import App
    from simulator.devices import Device
    from simulator.federated.aggregation import Aggregation
    from simulator.federated.secure import PlainUpdates
    from simulator.federated.state import Client
    from simulator.federated.transport import Transport


class Task(Protocol):
    """What an app brings to the protocol: its model, its clients' data and its measure.

    Weights are one flat float32 vector; ``sizes`` the tensors' lengths in it (8-bit
    deltas are scaled per tensor); ``train_card`` the cost of one training step on one
    example (``train_steps(client)`` of them per round)."""

    n_params: int
    sizes: list[int]
    train_card: ModelCard

    def train_steps(self, client: int) -> int: ...

    def local_train(self, weights: np.ndarray, client: int, round_number: int, prox_mu: float) -> np.ndarray:
        """The client's trained weights minus ``weights`` (float32)."""
        ...

    def evaluate(self, weights: np.ndarray) -> tuple[float, float]:
        """Held-out (accuracy, loss) of ``weights``."""
        ...


class FederatedServer:
    """The round protocol for ``app``'s clients (see the module docstring).

    ``params`` are the protocol's validated params (:data:`.params.PROTOCOL_PARAMS`);
    the app passes in its services (clock, RNG streams, trace, narration) as ``app``."""

    def __init__(
        self,
        app: App,
        params: dict[str, Any],
        clients: list[Client],
        device: Device,
        keyholder: Device | None,
        task: Task,
        weights: np.ndarray,
        aggregation: Aggregation,
        layer_class: type[PlainUpdates],
        transport: Transport,
        protocol_seed: int,
    ) -> None:
        self.app = app
        self.env = app.env
        self.trace = app.sim.trace
        self.params = params
        self.clients = clients
        self.device = device
        self.keyholder = keyholder
        self.keyholder_link = app.sim.link_between(device.name, keyholder.name) if keyholder else None
        self.task = task
        self.n_params = task.n_params
        self.weights = weights
        self.model_bytes = len(compression.encode_float32(weights))
        self.aggregation = aggregation
        self.transport = transport
        self.protocol_seed = protocol_seed
        self.host_s: Counter = Counter()  # host wall time of real work (not the device clock)
        self.layer = layer_class(self)
        self.version = 0
        self.rounds_started = 0
        self.late: list = []  # (client, round, Update) that arrived after their round closed
        self.window = new_window()
        self.window_index = 0
        self.crypto_j: Counter = Counter()  # device → crypto J charged since the window opened
        self.infrastructure = {device.name} | ({keyholder.name} if keyholder else set())
        self.client_devices = {c.device.name for c in clients}
        self._arrival = self.env.event()
        self._async_rounds: dict[int, Round] = {}
        self._async_buffer: list = []

    # -- services ----------------------------------------------------------------------
    def rng(self, stream: str) -> np.random.Generator:
        return self.app.rng(stream)

    def crypto(self, device: Device, ops: Counter):
        """Charge ``ops`` of crypto to ``device`` (a generator); counted in the round."""
        seconds, energy_j = yield from self.transport.crypto(device, ops, self.params["paillier_key_bits"])
        if seconds > 0:
            self.window["privacy_device_s"] += seconds
            self.window["privacy_energy_j"] += energy_j
            self.crypto_j[device.name] += energy_j

    def late_allowed(self) -> bool:
        return (
            self.layer.name == "none"
            and self.params["dp_epsilon"] is None
            and self.params["max_staleness"] > 0
        )

    # -- configure_round: who trains ------------------------------------------------------
    def eligible(self, client: Client) -> bool:
        """Can ``client`` train now (the production rules the params switch on)?"""
        params = self.params
        device = client.device
        if client.busy or not device.on:
            return False
        if params["require_charging"] and not device.charging:
            return False
        if params["require_idle"] and device.state not in IDLE_STATES:
            return False
        if device.battery is not None and device.state_of_charge < params["battery_floor"]:
            return False
        if client.relay is not None and (not client.relay.on or not client.ble.up):
            return False
        return self.transport.server_link(client) is not None

    def configure_round(self, number: int, wanted: int | None = None) -> list[Client]:
        """Select up to ``wanted`` (default ``clients_per_round``) eligible clients for round
        ``number``: at random, or by speed tier (``round_robin`` gives each tier its turn,
        ``fastest`` prefers fast tiers). Fewer than ``min_clients`` eligible: none."""
        params = self.params
        wanted = params["clients_per_round"] if wanted is None else wanted
        pool = [c for c in self.clients if self.eligible(c)]
        needed = params["min_clients"] or params["clients_per_round"]
        if params["mode"] == "async":
            needed = 1
        if len(pool) < min(needed, wanted) or wanted <= 0:
            return []
        order = self.rng("select").permutation(len(pool))
        pool = [pool[i] for i in order]
        tiers = params["tiers"]
        if tiers > 1:
            if params["tier_policy"] == "fastest":
                pool.sort(key=lambda c: c.tier)
            else:
                turn = (number - 1) % tiers
                pool.sort(key=lambda c: (c.tier - turn) % tiers)
        return pool[:wanted]

    def plan_dropout(self, rnd: Round, client: Client) -> None:
        """With probability ``dropout`` the client quits at one of its steps, uniformly
        (Bonawitz et al. 2019 saw 6–10 % drop out anywhere in the round)."""
        rng = self.rng("dropout")
        if rng.random() < self.params["dropout"]:
            steps = self.layer.drop_steps
            rnd.drop_at[client.index] = steps[int(rng.integers(len(steps)))]

    # -- the server's loop -----------------------------------------------------------------
    def run(self):
        """The server process (sync rounds or the async buffer)."""
        return self._run_sync() if self.params["mode"] == "sync" else self._run_async()

    def _run_sync(self):
        params, env = self.params, self.env
        next_start = 0.0
        waiting = False
        while self.version < params["rounds"]:
            if next_start > env.now:
                yield env.timeout(next_start - env.now)
            selected = self.configure_round(self.rounds_started + 1)
            if not selected:
                if not waiting:
                    eligible = sum(self.eligible(c) for c in self.clients)
                    message = f"{self.app.name}: {eligible} clients eligible, waiting"
                    self.trace.append(Note(env.now, self.device.name, "waiting", message))
                    waiting = True
                next_start = env.now + params["checkin_retry"]
                continue
            waiting = False
            self.rounds_started += 1
            rnd = self.open_round(self.rounds_started, selected)
            yield from self._run_round(rnd)
            next_start = rnd.started_s + params["round_interval"]

    def open_round(self, number: int, selected: list[Client]) -> Round:
        rnd = Round(number, self.version, self.weights, self.env.now, selected, self.env.event())
        for client in selected:
            rnd.pending.add(client.index)
            self.plan_dropout(rnd, client)
        rnd.secure = self.layer.open_round(rnd)
        self.app.fire("round_start")
        for client in selected:
            self._start_client(rnd, client, f"tier {client.tier}" if self.params["tiers"] > 1 else "")
        return rnd

    def _start_client(self, rnd: Round, client: Client, detail: str = "") -> None:
        client.busy = True
        self.window["selected"] += 1
        self.stage(rnd, client, "selected", detail=detail)
        self.env.process(client_round(self, client, rnd))

    def _run_round(self, rnd: Round):
        deadline = self.env.timeout(self.params["deadline"])
        yield from self.layer.key_phases(rnd)
        if not rnd.done.triggered:
            yield rnd.done | deadline
        yield from self.close_round(rnd)

    def close_round(self, rnd: Round):
        """The deadline (or the last report): the missing are stragglers; aggregate."""
        rnd.closed = True
        for index in sorted(rnd.pending):
            client = self.clients[index]
            if rnd.stages.get(index) not in ("offline", "dropped"):
                self.window["stragglers"] += 1
                self.stage(rnd, client, "straggled", detail="missed the deadline")
                self.app.fire("straggler")
        if rnd.secure is None:
            self.aggregate([(client, rnd.version, update) for client, update in rnd.updates], None, rnd, "")
            return
        # The server holds only the secure sum: the plain updates stay with the simulator
        # (to measure the aggregation error), never with the aggregate.
        mean_delta, detail = yield from self.layer.unmask(rnd)
        self.aggregate([], mean_delta, rnd, detail)

    def _run_async(self):
        """FedBuff-like: keep ``clients_per_round`` clients training; aggregate every
        ``buffer_size`` arrivals, stale ones weighted down."""
        params, env = self.params, self.env
        while self.version < params["rounds"]:
            active = {c.index for c in self.clients if c.busy}
            free = params["clients_per_round"] - len(active)
            if free > 0:
                selected = self.configure_round(self.version + 1, wanted=free)
                if selected:
                    rnd = self._async_rounds.get(self.version)
                    if rnd is None:
                        rnd = Round(self.version + 1, self.version, self.weights, env.now, [], env.event())
                        self._async_rounds = {self.version: rnd}
                    for client in selected:
                        rnd.selected.append(client)
                        rnd.pending.add(client.index)
                        self.plan_dropout(rnd, client)
                        self._start_client(rnd, client)
                    self.app.fire("round_start")
            self._arrival = env.event()
            yield self._arrival | env.timeout(params["checkin_retry"])
            size = params["buffer_size"]
            while len(self._async_buffer) >= size and self.version < params["rounds"]:
                batch = self._async_buffer[:size]
                del self._async_buffer[:size]
                self.rounds_started += 1
                self.aggregate(
                    [(client, rnd.version, update) for client, rnd, update in batch], None, None, ""
                )

    # -- local_update: the client's real training ---------------------------------------
    def local_update(self, client: Client, rnd: Round) -> tuple[strategies.Update, bytes]:
        """Real training of ``client`` from the round's weights: returns the update (a
        delta, clipped and noised under DP; as the server will decode it) and the bytes
        the client hands on."""
        started = time.perf_counter()
        prox_mu = self.aggregation.client_config()["prox_mu"]
        delta = self.task.local_train(rnd.weights, client.index, rnd.number, prox_mu)
        self.host_s["train"] += time.perf_counter() - started
        delta, norm = self.aggregation.prepare(delta, rnd.number, client.index)
        if norm is not None:
            self.window["norm_sum"] += norm
        if self.params["compression"] == "int8":
            blob = compression.encode_int8(delta, self.task.sizes)
            delta = compression.decode_int8(blob, self.task.sizes)
        else:
            blob = compression.encode_float32(delta)
        return strategies.Update(delta, client.examples, 0), blob

    # -- stages ----------------------------------------------------------------------------
    def stage(self, rnd: Round, client: Client, stage: str, staleness: int = 0, detail: str = "") -> None:
        assert stage in STAGES, stage
        rnd.stages[client.index] = stage
        self.trace.append(
            ClientUpdate(
                self.env.now,
                self.app.name,
                rnd.number,
                client.device.name,
                stage,
                client.examples,
                0,
                0,
                0.0,
                staleness,
                detail,
            )
        )

    def drop(self, client: Client, rnd: Round, why: str) -> None:
        if rnd.closed and rnd.stages.get(client.index) == "straggled":
            return
        if client.index in rnd.pending:
            rnd.pending.discard(client.index)
            self.window["dropped"] += 1
            self.stage(rnd, client, "dropped", detail=why)
            self.app.fire("client_dropped")
        if rnd.secure is not None:
            self.layer.leave(rnd, client)
        rnd.check_done()

    def straggle(self, client: Client, rnd: Round, why: str) -> None:
        if rnd.stages.get(client.index) != "straggled":
            self.window["stragglers"] += 1
            self.stage(rnd, client, "straggled", detail=why)
            self.app.fire("straggler")
        rnd.pending.discard(client.index)
        if rnd.secure is not None:
            self.layer.leave(rnd, client)
        rnd.check_done()

    def go_offline(self, client: Client, rnd: Round) -> None:
        """No network for the upload: the update waits on the phone (synced late)."""
        self.stage(rnd, client, "offline", detail=f"no network: update held on the {client.sender.kind}")
        self.window["offline"] += 1
        rnd.pending.discard(client.index)
        rnd.check_done()
        self.app.fire("client_offline")

    def deliver(self, client: Client, rnd: Round, update: strategies.Update, secure_payload: Any) -> None:
        """An update reached the server."""
        if self.params["mode"] == "async":
            rnd.pending.discard(client.index)
            self.stage(rnd, client, "reported", staleness=self.version - rnd.version)
            self._async_buffer.append((client, rnd, update))
            if not self._arrival.triggered:
                self._arrival.succeed()
            return
        if not rnd.closed:
            rnd.pending.discard(client.index)
            self.stage(rnd, client, "reported")
            if rnd.secure is not None:
                self.layer.receive(rnd, client, secure_payload)
            rnd.updates.append((client, update))
            rnd.check_done()
            return
        if self.late_allowed():
            self.late.append((client, rnd, update))
        else:
            self.stage(rnd, client, "rejected", detail="arrived after the round closed")

    # -- aggregate and evaluate ------------------------------------------------------------
    def aggregate(self, fresh: list, mean_delta: np.ndarray | None, rnd: Round | None, detail: str) -> None:
        """New global weights from the fresh updates (``(client, base version, Update)``)
        and the late ones still fresh enough, or from a securely summed mean delta; then
        :meth:`evaluate` and the round's record."""
        params = self.params
        updates = [strategies.Update(u.delta, u.num_examples, self.version - base) for _, base, u in fresh]
        used_late, rejected = [], []
        for client, late_rnd, update in self.late:
            staleness = self.version - late_rnd.version
            if staleness <= params["max_staleness"]:
                used_late.append((client, late_rnd, staleness))
                updates.append(strategies.Update(update.delta, update.num_examples, staleness))
            else:
                rejected.append((client, late_rnd, staleness))
        self.late = []
        reported = int(self.window["secure_count"]) if mean_delta is not None else len(fresh)
        outcome = self.aggregation.aggregate(self.weights, updates, mean_delta, reported)
        aggregated = outcome.weights is not None
        if aggregated:
            self.weights = outcome.weights
            self.version += 1
        detail = outcome.held_back or detail
        accuracy, loss = self.evaluate()
        for client, late_rnd, staleness in used_late:
            self.stage(
                late_rnd, client, "synced", staleness=staleness, detail=f"used {staleness} versions late"
            )
        for client, late_rnd, staleness in rejected:
            self.stage(late_rnd, client, "rejected", staleness=staleness, detail=f"{staleness} versions late")
        # Late updates from earlier rounds, and (async) fresh arrivals trained on an older model.
        stale = len(used_late) + sum(1 for u in updates[: len(fresh)] if u.staleness > 0)
        self._record_round(rnd, reported, stale, accuracy, loss, outcome.epsilon, aggregated, detail)
        self.window = new_window(self.env.now)
        self.window_index = len(self.trace.records)
        self.crypto_j = Counter()
        self.app.fire("round_end")

    def _record_round(self, rnd, reported, stale, accuracy, loss, epsilon, aggregated, detail) -> None:
        window = self.window
        number = rnd.number if rnd is not None else self.rounds_started
        started = rnd.started_s if rnd is not None else window.get("window_start_s", 0.0)
        costs = round_costs(
            self.trace.records,
            self.window_index,
            self.device.name,
            self.infrastructure,
            self.client_devices,
            self.app.sim.links,
            self.app.sim.devices,
            self.crypto_j,
        )
        self.trace.append(
            FederatedRound(
                self.env.now,
                self.app.name,
                number,
                self.version,
                float(started),
                round(clock_hour(started, self.params["day_start"]), 3),
                int(window["selected"]),
                reported,
                stale,
                int(window["stragglers"]),
                int(window["dropped"]),
                int(window["offline"]),
                int(window["recovered"]),
                round(accuracy, 5),
                round(loss, 5),
                int(costs["bytes_up"]),
                int(costs["bytes_down"]),
                round(costs["client_energy_j"], 6),
                round(costs["battery_energy_j"], 6),
                round(costs["watch_battery_j"], 6),
                round(window["privacy_device_s"], 6),
                round(window["privacy_energy_j"], 6),
                int(costs["privacy_bytes"]),
                float(window["aggregate_error"]),
                epsilon,
                detail if aggregated or detail else "no update arrived",
            )
        )

    def evaluate(self) -> tuple[float, float]:
        """Held-out accuracy and loss of the global model."""
        started = time.perf_counter()
        result = self.task.evaluate(self.weights)
        self.host_s["eval"] += time.perf_counter() - started
        return result
