"""Federated learning of the wearers' gesture model, with rounds on the device clock.

Each home's watch is a client: it holds its wearer's gesture windows (non-IID, see
:mod:`.partition`) and trains the global ``gesture_imu`` model on them with real torch. A
server (the cloud) runs rounds, as Flower's strategies name them:

- :meth:`FederatedLearning.configure_round`: pick clients among the *eligible* (as
  production federated learning does: charging, idle, on Wi-Fi, above a battery floor;
  optionally by speed tier, TiFL-style) — eligibility is read off the devices, on the clock;
- :meth:`FederatedLearning.local_update`: the client's real training (epochs, batch,
  learning rate, FedProx's proximal term), its device time and energy charged as
  ``MACs × samples × 3`` through the watch's compute queue (:meth:`Device.run`);
- :meth:`FederatedLearning.aggregate`: FedAvg, FedProx or FedAdam (:mod:`.strategies`) over
  the updates that arrived by the deadline, stale ones weighted down;
- :meth:`FederatedLearning.evaluate`: held-out wearers who never train measure the model.

The model travels cloud → phone (Wi-Fi, or LTE when allowed) → watch (BLE) and the update
back, over the scenario's links, so both ends pay their radio energy and a link outage
holds an update on the phone until the line is back (*offline*, synced late). Clients
check in after a heavy-tailed delay, may drop mid-round (or stop being eligible), and miss
the deadline (*stragglers*). ``mode: async`` is FedBuff-like: a fixed number of clients
train at once and the server aggregates every ``buffer_size`` arrivals.

Privacy layers (each one's time, energy and bytes are reported per round): client-level
differential privacy (clipping + Gaussian noise, ε from Opacus's RDP accountant,
:mod:`.dp`); secure aggregation with pairwise masks and Shamir recovery (:mod:`.secagg`);
or Paillier encryption with packed plaintexts, decrypted by a key holder that is not the
server (:mod:`.paillier`). The phone does its wearer's crypto (the watch hands it the
update over their own BLE link); crypto device time comes from counted operations
(:mod:`.costs`).

Records: one :class:`FederatedPlan` at t = 0, :class:`ClientUpdate` per client per round
stage (selected, then reported / dropped / straggled / offline, then synced / rejected for
a late update) and one :class:`FederatedRound` per aggregation (accuracy, participants,
bytes, energy, ε…).
"""

from __future__ import annotations

import fnmatch
import math
import time
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import simpy

from simulator.apps.base import App
from simulator.apps.federated import compression, dp, strategies
from simulator.apps.federated.partition import PartitionSpec, client_data
from simulator.apps.federated.routine import RoutineSpec, clock_hour, routine
from simulator.devices import PRIORITY_BACKGROUND
from simulator.trace import Note, Trace, register_records
from simulator.validate import Field, SpecError

IDLE_STATES = ("idle", "sleep")
MODES = ("sync", "async")
COMPRESSIONS = ("none", "int8")
SECURE = ("none", "secagg", "paillier")
TIER_POLICIES = ("round_robin", "fastest")
STAGES = ("selected", "reported", "dropped", "straggled", "offline", "synced", "rejected")
# The steps of a client's round at which it may drop out (see _plan_dropout).
DROP_STEPS = ("check_in", "after_download", "after_training", "before_upload")
DROP_STEPS_SECAGG = (
    "check_in",
    "after_download",
    "after_keys",
    "after_shares",
    "after_training",
    "before_upload",
)
CONTROL_BYTES = 256  # a protocol message's envelope (ids, round, lengths)

PARAMS_SCHEMA: dict[str, Any] = {
    # who
    "server": Field(str, default="cloud"),
    "clients": Field(str, default="watch*"),
    "keyholder": Field(str, nullable=True),
    # the model and local training
    "model": Field(str, default="gesture_imu", choices=("gesture_imu",)),
    "width": Field(int, default=12, minimum=4, maximum=48),
    "local_epochs": Field(int, default=2, minimum=1, maximum=50),
    "batch_size": Field(int, default=32, minimum=0),
    "lr": Field(float, default=0.1, minimum=0.0, exclusive_min=True),
    # rounds
    "rounds": Field(int, default=20, minimum=1),
    "clients_per_round": Field(int, default=10, minimum=1),
    "min_clients": Field(int, nullable=True, minimum=1),
    "round_interval": Field("duration", default=600.0, minimum=0.0),
    "deadline": Field("duration", default=120.0, minimum=1.0),
    "checkin_retry": Field("duration", default=300.0, minimum=1.0),
    "checkin_delay_median": Field("duration", default=10.0, minimum=0.0),
    "checkin_delay_sigma": Field(float, default=1.2, minimum=0.0),
    "dropout": Field(float, default=0.05, minimum=0.0, maximum=0.95),
    "retries": Field(int, default=2, minimum=0),
    # strategy
    "strategy": Field(str, default="fedavg", choices=strategies.STRATEGIES),
    "server_lr": Field(float, nullable=True, minimum=0.0, exclusive_min=True),
    "prox_mu": Field(float, default=0.01, minimum=0.0),
    "adam_beta1": Field(float, default=0.9, minimum=0.0, maximum=0.999),
    "adam_beta2": Field(float, default=0.99, minimum=0.0, maximum=0.9999),
    "adam_tau": Field(float, default=1e-3, minimum=0.0, exclusive_min=True),
    "mode": Field(str, default="sync", choices=MODES),
    "buffer_size": Field(int, default=5, minimum=1),
    "staleness_exponent": Field(float, default=0.5, minimum=0.0),
    "max_staleness": Field(int, default=2, minimum=0),
    # eligibility and tiers
    "require_charging": Field(bool, default=True),
    "require_idle": Field(bool, default=True),
    "require_wifi": Field(bool, default=True),
    "battery_floor": Field(float, default=0.3, minimum=0.0, maximum=1.0),
    "tiers": Field(int, default=1, minimum=1),
    "tier_policy": Field(str, default="round_robin", choices=TIER_POLICIES),
    # the wearers' routine (clock times)
    "day_start": Field("duration", default="18:00", maximum=86400.0),
    "bedtime": Field("duration", default="23:00", maximum=86400.0),
    "bedtime_spread": Field("duration", default="1h"),
    "wake": Field("duration", default="07:00", maximum=86400.0),
    "wake_spread": Field("duration", default="45min"),
    "away_fraction": Field(float, default=0.7, minimum=0.0, maximum=1.0),
    "leave": Field("duration", default="08:30", maximum=86400.0),
    "return": Field("duration", default="17:30", maximum=86400.0),
    # data
    "samples_per_client": Field(int, default=60, minimum=4),
    "samples_sigma": Field(float, default=0.5, minimum=0.0),
    "label_skew_alpha": Field(float, default=0.5, minimum=0.0, exclusive_min=True),
    "heldout_wearers": Field(int, default=20, minimum=1),
    "heldout_per_wearer": Field(int, default=35, minimum=7),
    # compression and privacy
    "compression": Field(str, default="int8", choices=COMPRESSIONS),
    "dp_epsilon": Field(float, nullable=True, minimum=0.0, exclusive_min=True),
    "dp_delta": Field(float, default=1e-5, minimum=0.0, exclusive_min=True, maximum=0.1),
    "dp_report_floor": Field(float, default=0.7, minimum=0.05, maximum=1.0),
    "clip_norm": Field(float, default=1.0, minimum=0.0, exclusive_min=True),
    "secure_aggregation": Field(str, default="none", choices=SECURE),
    "secure_bits": Field(int, default=16, minimum=8, maximum=24),
    "secagg_threshold": Field(float, default=0.5, minimum=0.1, maximum=1.0),
    "phase_timeout": Field("duration", default=60.0, minimum=1.0),
    "paillier_key_bits": Field(int, default=2048, choices=(1024, 2048, 3072)),
}


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
    ``battery_energy_j`` is the clients' share drawn from batteries (not the charger),
    ``watch_battery_j`` the watches' part of it; ``privacy_*`` are the privacy layers'
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


@dataclass(eq=False)
class Home:
    """One client (a watch) and its way to the server."""

    index: int
    watch: Any
    relay: Any  # the phone, or None when the watch talks to the server itself
    ble: Any  # watch–relay link
    home_links: list  # relay (or watch) – server over Wi-Fi / broadband
    cell_links: list  # relay (or watch) – server over LTE
    examples: int = 0
    expected_s: float = 0.0
    tier: int = 0
    busy: bool = False


@dataclass(eq=False)
class Barrier:
    """A protocol phase: fires when every expected client arrived (or left)."""

    env: simpy.Environment
    expected: set
    arrived: set = field(default_factory=set)
    event: simpy.Event | None = None

    def __post_init__(self) -> None:
        self.event = self.env.event()
        self._check()

    def arrive(self, key: int) -> None:
        self.arrived.add(key)
        self._check()

    def leave(self, key: int) -> None:
        self.expected.discard(key)
        self._check()

    def _check(self) -> None:
        if not self.event.triggered and self.expected <= self.arrived:
            self.event.succeed()


@dataclass(eq=False)
class Round:
    """A round in flight (sync), or the clients that started from one version (async)."""

    number: int
    version: int
    weights: np.ndarray
    started_s: float
    selected: list
    done: simpy.Event
    pending: set = field(default_factory=set)
    closed: bool = False
    updates: list = field(default_factory=list)  # (home, Update)
    stages: dict = field(default_factory=dict)  # home index → last stage recorded
    drop_at: dict = field(default_factory=dict)  # home index → the step it drops out at
    secure: Any = None


@dataclass(eq=False)
class SecAggState:
    """Secure aggregation of one round: both sides' protocol objects and phase barriers."""

    server: Any
    clients: dict  # home index → SecAggClient
    ids: dict  # home index → protocol id (1-based)
    keys: Barrier
    shares: Barrier
    keys_ready: simpy.Event
    shares_ready: simpy.Event
    advertised: dict = field(default_factory=dict)
    outgoing: dict = field(default_factory=dict)
    incoming: dict = field(default_factory=dict)
    masked: dict = field(default_factory=dict)
    plain: dict = field(default_factory=dict)  # id → quantized ints (the simulator's oracle)
    u1: set = field(default_factory=set)


@dataclass(eq=False)
class PaillierState:
    """Paillier aggregation of one round: the running encrypted sum at the server."""

    total: list | None = None
    count: int = 0
    plain_total: np.ndarray | None = None


class FederatedLearning(App):
    """The federated learning app (see the module docstring)."""

    TYPE = "federated"
    DESCRIPTION = (
        "watches learn a gesture model together: rounds on the device clock, real training, real privacy"
    )
    PARAMS = PARAMS_SCHEMA
    RECORDS = {"fl_plan": FederatedPlan, "fl_client": ClientUpdate, "fl_round": FederatedRound}
    HOOKS = ("round_start", "round_end", "client_dropped", "client_offline", "straggler")
    DEVICE_PARAMS = ("server", "keyholder")

    # -- validation --------------------------------------------------------------------
    @classmethod
    def check_params(cls, raw: Any, scenario: dict[str, Any], file: str, where: str) -> dict[str, Any]:
        params = super().check_params(raw, scenario, file, where)

        def fail(name: str, message: str) -> None:
            raise SpecError(f"{file}, {where}.{name}: {message}")

        names = [d["name"] for d in scenario["devices"]]
        clients = [n for n in names if fnmatch.fnmatchcase(n, params["clients"]) and n != params["server"]]
        if not clients:
            fail("clients", f"no device matches {params['clients']!r} (devices: {', '.join(names[:8])}…)")
        if params["clients_per_round"] > len(clients):
            fail(
                "clients_per_round",
                f"must be ≤ the {len(clients)} clients matching {params['clients']!r}, got {params['clients_per_round']}",
            )
        if params["min_clients"] is not None and params["min_clients"] > params["clients_per_round"]:
            fail(
                "min_clients",
                f"must be ≤ clients_per_round ({params['clients_per_round']}), got {params['min_clients']}",
            )
        if params["tiers"] > len(clients):
            fail("tiers", f"must be ≤ the {len(clients)} clients, got {params['tiers']}")
        secure = params["secure_aggregation"]
        if params["mode"] == "async":
            if secure == "secagg":
                fail("secure_aggregation", "secagg needs mode: sync (its masks are agreed per round)")
            if params["dp_epsilon"] is not None:
                fail("dp_epsilon", "differential privacy is accounted per synchronous round: use mode: sync")
            if params["buffer_size"] > params["clients_per_round"]:
                fail(
                    "buffer_size",
                    f"must be ≤ clients_per_round ({params['clients_per_round']}), got {params['buffer_size']}",
                )
        if (
            secure != "none"
            and params["secure_bits"] + math.ceil(math.log2(params["clients_per_round"] + 1)) > 32
        ):
            fail("secure_bits", "the summed values must fit 32 bits: lower secure_bits or clients_per_round")
        if secure == "paillier" and params["keyholder"] is None:
            fail("keyholder", "Paillier needs a key holder device that is not the server")
        if secure == "paillier" and params["keyholder"] == params["server"]:
            fail("keyholder", "the key holder must not be the server (it would decrypt every update)")
        for name in ("day_start", "bedtime", "wake", "leave", "return"):
            if params[name] >= 86400.0:
                fail(name, f"must be a clock time before 24:00, got {params[name]:g} s")
        links = scenario["links"]
        for client in clients:
            if _route(client, params["server"], links) is None:
                fail(
                    "clients",
                    f"client {client!r} has no link to the server {params['server']!r}, direct or through a relay",
                )
        if secure == "paillier" and not any(
            {link["a"], link["b"]} == {params["keyholder"], params["server"]} for link in links
        ):
            fail(
                "keyholder",
                f"needs a link between {params['keyholder']!r} and the server {params['server']!r}",
            )
        return params

    # -- set-up ------------------------------------------------------------------------
    def __init__(self, sim, name: str, params: dict[str, Any], where: str) -> None:
        super().__init__(sim, name, params, where)
        self.server = sim.devices[params["server"]]
        self.keyholder = sim.devices[params["keyholder"]] if params["keyholder"] else None
        self.homes = self._find_homes()
        seeds = self.new_rng("seeds").integers(0, 2**31, size=4)
        self.data_seed, self.init_seed, self.protocol_seed, self.routine_seed = (int(s) for s in seeds)
        self.data = client_data(
            PartitionSpec(
                n_clients=len(self.homes),
                seed=self.data_seed,
                samples_median=params["samples_per_client"],
                samples_sigma=params["samples_sigma"],
                label_skew_alpha=params["label_skew_alpha"],
                heldout_wearers=params["heldout_wearers"],
                heldout_per_wearer=params["heldout_per_wearer"],
            )
        )
        for home in self.homes:
            home.examples = int(self.data.sizes[home.index])
        self.version = 0
        self.rounds_started = 0
        self.weights: np.ndarray | None = None
        self.initial_weights: np.ndarray | None = None
        self.late: list[tuple[Home, Round, strategies.Update]] = []
        self.window: Counter = Counter()  # what happened since the last aggregation
        self.host_s: Counter = Counter()  # host wall time of real work (not the device clock)
        self._arrival = self.env.event()
        self._async_rounds: dict[int, Round] = {}
        self._async_buffer: list[tuple[Home, Round, strategies.Update]] = []

    def _find_homes(self) -> list[Home]:
        """Clients in scenario order, each with its relay and its links to the server."""
        pattern, server = self.params["clients"], self.server.name
        links = self.sim.spec["links"]
        homes = []
        for spec in self.sim.spec["devices"]:
            name = spec["name"]
            if name == server or not fnmatch.fnmatchcase(name, pattern):
                continue
            relay_name = _route(name, server, links)
            watch = self.sim.devices[name]
            relay = None if relay_name == name else self.sim.devices[relay_name]
            ble = None if relay is None else self.sim.link_between(name, relay_name)
            to_server = [
                link for link in self.sim.links_of(relay_name) if server in (link.a.name, link.b.name)
            ]
            homes.append(
                Home(
                    index=len(homes),
                    watch=watch,
                    relay=relay,
                    ble=ble,
                    home_links=[link for link in to_server if link.type != "wan"],
                    cell_links=[link for link in to_server if link.type == "wan"],
                )
            )
        return homes

    def start(self) -> None:
        from simulator.apps.federated import training  # torch loads here, not with the package
        from simulator.engine import torch_threads_once

        torch_threads_once()

        params = self.params
        started = time.perf_counter()
        self.trainer = training.LocalTrainer(params["width"])
        self.initial_weights = training.initial_weights(params["width"], self.init_seed)
        self.weights = self.initial_weights.copy()
        self.train_card = self._training_card(training)
        self.model_bytes = len(compression.encode_float32(self.weights))
        self.heldout = self.data.heldout
        accuracy, _ = self.trainer.evaluate(self.weights, *self.heldout)
        self.host_s["setup"] += time.perf_counter() - started
        self._check_memory_fit()
        secure = params["secure_aggregation"]
        uniform = params["dp_epsilon"] is not None or secure != "none"
        self.strategy = strategies.make_strategy(
            params["strategy"],
            server_lr=params["server_lr"],
            prox_mu=params["prox_mu"],
            staleness_exponent=params["staleness_exponent"],
            uniform_weights=uniform,
            beta1=params["adam_beta1"],
            beta2=params["adam_beta2"],
            tau=params["adam_tau"],
        )
        self.sample_rate = params["clients_per_round"] / len(self.homes)
        self.noise_multiplier = 0.0
        self.ledger = None
        self.dp_floor = max(1, math.ceil(params["dp_report_floor"] * params["clients_per_round"]))
        if params["dp_epsilon"] is not None:
            try:
                self.noise_multiplier = dp.noise_multiplier_for(
                    params["dp_epsilon"], params["dp_delta"], self.sample_rate, params["rounds"]
                )
            except ValueError as exc:  # Opacus: "The privacy budget is too low."
                raise SpecError(
                    f"{self.file}, {self.where}.params.dp_epsilon: {params['dp_epsilon']:g} cannot be reached "
                    f"over {params['rounds']} rounds ({exc})"
                ) from None
            self.ledger = dp.PrivacyLedger(params["dp_delta"])
        self.paillier = None
        if secure == "paillier":
            from simulator.apps.federated.paillier import PaillierAggregation

            self.paillier = PaillierAggregation(
                params["paillier_key_bits"], params["secure_bits"], params["clients_per_round"]
            )
        self._estimate_round_times()
        self.sim.trace.append(
            FederatedPlan(
                0.0,
                self.name,
                self.server.name,
                [h.watch.name for h in self.homes],
                [h.relay.name if h.relay is not None else "" for h in self.homes],
                params["rounds"],
                params["clients_per_round"],
                params["strategy"],
                params["mode"],
                self.privacy_label(),
                self.trainer.n_params,
                self.model_bytes,
                round(self.noise_multiplier, 6),
                round(accuracy, 5),
                int(len(self.heldout[1])),
                params["day_start"],
            )
        )
        self.env.process(self._routine())
        if self.paillier is not None:
            self.env.process(self._crypto(self.keyholder, Counter(paillier_keygen=1)))
        self.env.process(self._server_sync() if params["mode"] == "sync" else self._server_async())

    def privacy_label(self) -> str:
        parts = []
        if self.params["dp_epsilon"] is not None:
            parts.append(f"DP ε={self.params['dp_epsilon']:g} δ={self.params['dp_delta']:g}")
        if self.params["secure_aggregation"] != "none":
            parts.append(self.params["secure_aggregation"])
        return " + ".join(parts) or "none"

    def _training_card(self, training):
        """A card for one local training step per window: forward + backward ≈ 3× the
        forward MACs; weights, gradients and the update are the bytes moved per call."""
        from models.cards import ModelCard
        from models.data import imu

        macs = training.count_macs(self.trainer.model)
        return ModelCard(
            model=self.params["model"],
            variant=f"fl-train-w{self.params['width']}",
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
            recipe=f"SGD lr={self.params['lr']} epochs={self.params['local_epochs']} batch={self.params['batch_size']}",
            artifact="",
            runtime="torch",
            privacy_level="on-device",
        )

    def _check_memory_fit(self) -> None:
        from simulator.compute import estimate_card

        batch = self.params["batch_size"] or int(max(h.examples for h in self.homes))
        by_profile = {home.watch.profile.name: home for home in self.homes}
        for home in by_profile.values():
            fit = estimate_card(home.watch.profile, self.train_card, batch)
            if not fit.fits_memory:
                raise SpecError(
                    f"{self.file}, {self.where}.params.batch_size: training needs {fit.memory_needed_bytes:.0f} B "
                    f"on {home.watch.name}, more than its {fit.memory_budget_bytes:.0f} B"
                )

    def _estimate_round_times(self) -> None:
        """Each client's expected round time on its links and device (for tiers and for
        when a dropping client quits)."""
        update_bytes = self.model_bytes if self.params["compression"] == "none" else self.model_bytes // 4
        for home in self.homes:
            hops = ([home.ble] if home.ble is not None else []) + home.home_links[:1]
            if not hops:
                hops = home.cell_links[:1]
            transfer_s = sum(
                link.transfer_time_s(self.model_bytes) + link.transfer_time_s(update_bytes) for link in hops
            )
            train = home.watch.cost(self.train_card, home.examples * self.params["local_epochs"])
            home.expected_s = transfer_s + train.latency_s + self.params["checkin_delay_median"]
        tiers = self.params["tiers"]
        order = sorted(self.homes, key=lambda h: (h.expected_s, h.index))
        for rank, home in enumerate(order):
            home.tier = rank * tiers // len(order)

    # -- the wearers' routine ------------------------------------------------------------
    def _routine(self):
        params = self.params
        spec = RoutineSpec(
            day_start_s=params["day_start"],
            bedtime_s=params["bedtime"],
            bedtime_spread_s=params["bedtime_spread"],
            wake_s=params["wake"],
            wake_spread_s=params["wake_spread"],
            away_fraction=params["away_fraction"],
            leave_s=params["leave"],
            return_s=params["return"],
        )
        changes = routine(
            len(self.homes), self.sim.duration_s, spec, np.random.default_rng(self.routine_seed)
        )
        env = self.env
        for change in changes:
            if change.t > env.now:
                yield env.timeout(change.t - env.now)
            home = self.homes[change.home]
            devices = [home.watch] + ([home.relay] if home.relay is not None else [])
            if change.action == "charge_start":
                for device in devices:
                    device.start_charging()
            elif change.action == "charge_stop":
                for device in devices:
                    device.stop_charging()
            else:
                away = change.action == "leave"
                for link in home.home_links:
                    link.set_up(not away, "wearer out with the phone" if away else "wearer home")

    # -- configure_round: who trains ------------------------------------------------------
    def eligible(self, home: Home) -> bool:
        """Can ``home``'s watch train now (the production rules the params switch on)?"""
        params = self.params
        watch = home.watch
        if home.busy or not watch.on:
            return False
        if params["require_charging"] and not watch.charging:
            return False
        if params["require_idle"] and watch.state not in IDLE_STATES:
            return False
        if watch.battery is not None and watch.state_of_charge < params["battery_floor"]:
            return False
        if home.relay is not None and (not home.relay.on or not home.ble.up):
            return False
        return self._server_link(home) is not None

    def configure_round(self, number: int, wanted: int | None = None) -> list[Home]:
        """Select up to ``wanted`` (default ``clients_per_round``) eligible clients for round
        ``number``: at random, or by speed tier (``round_robin`` gives each tier its turn,
        ``fastest`` prefers fast tiers). Fewer than ``min_clients`` eligible: none."""
        params = self.params
        wanted = params["clients_per_round"] if wanted is None else wanted
        pool = [h for h in self.homes if self.eligible(h)]
        needed = params["min_clients"] or params["clients_per_round"]
        if params["mode"] == "async":
            needed = 1
        if len(pool) < min(needed, wanted) or wanted <= 0:
            return []
        rng = self.rng("select")
        order = rng.permutation(len(pool))
        pool = [pool[i] for i in order]
        tiers = params["tiers"]
        if tiers > 1:
            if params["tier_policy"] == "fastest":
                pool.sort(key=lambda h: h.tier)
            else:
                turn = (number - 1) % tiers
                pool.sort(key=lambda h: (h.tier - turn) % tiers)
        return pool[:wanted]

    def _server_link(self, home: Home):
        """The link the client reaches the server over now: home Wi-Fi first, LTE if the
        eligibility rules allow a metered network; ``None`` when there is none."""
        for link in home.home_links:
            if link.up:
                return link
        if not self.params["require_wifi"]:
            for link in home.cell_links:
                if link.up:
                    return link
        return None

    # -- the server ----------------------------------------------------------------------
    def _server_sync(self):
        params = self.params
        env = self.env
        next_start = 0.0
        waiting = False
        while self.version < params["rounds"]:
            if next_start > env.now:
                yield env.timeout(next_start - env.now)
            selected = self.configure_round(self.rounds_started + 1)
            if not selected:
                if not waiting:
                    eligible = sum(self.eligible(h) for h in self.homes)
                    self.sim.trace.append(
                        Note(
                            env.now,
                            self.server.name,
                            "waiting",
                            f"{self.name}: {eligible} clients eligible, waiting",
                        )
                    )
                    waiting = True
                next_start = env.now + params["checkin_retry"]
                continue
            waiting = False
            self.rounds_started += 1
            rnd = self._open_round(self.rounds_started, selected)
            yield from self._run_round(rnd)
            next_start = rnd.started_s + params["round_interval"]

    def _open_round(self, number: int, selected: list[Home]) -> Round:
        rnd = Round(number, self.version, self.weights, self.env.now, selected, self.env.event())
        for home in selected:
            rnd.pending.add(home.index)
            self._plan_dropout(rnd, home)
        if self.params["secure_aggregation"] == "secagg":
            rnd.secure = self._secagg_state(rnd)
        elif self.params["secure_aggregation"] == "paillier":
            rnd.secure = PaillierState()
        self.fire("round_start")
        for home in selected:
            home.busy = True
            self.window["selected"] += 1
            self._stage(rnd, home, "selected", detail=f"tier {home.tier}" if self.params["tiers"] > 1 else "")
            self.env.process(self._client(home, rnd))
        return rnd

    def _run_round(self, rnd: Round):
        env, params = self.env, self.params
        deadline = env.timeout(params["deadline"])
        if isinstance(rnd.secure, SecAggState):
            yield from self._secagg_key_phases(rnd)
        if not rnd.done.triggered:
            yield rnd.done | deadline
        yield from self._close_round(rnd)

    def _close_round(self, rnd: Round):
        rnd.closed = True
        for index in sorted(rnd.pending):
            home = self.homes[index]
            if rnd.stages.get(index) not in ("offline", "dropped"):
                self.window["stragglers"] += 1
                self._stage(rnd, home, "straggled", detail="missed the deadline")
                self.fire("straggler")
        if rnd.secure is None:
            self.aggregate([(home, rnd.version, update) for home, update in rnd.updates], None, rnd, "")
            return
        # The server holds only the secure sum: the plain updates stay with the simulator
        # (to measure the aggregation error), never with the aggregate.
        if isinstance(rnd.secure, SecAggState):
            mean_delta, detail = yield from self._secagg_unmask(rnd)
        else:
            mean_delta, detail = yield from self._paillier_decrypt(rnd)
        self.aggregate([], mean_delta, rnd, detail)

    def _server_async(self):
        """FedBuff-like: keep ``clients_per_round`` clients training; aggregate every
        ``buffer_size`` arrivals, stale ones weighted down."""
        params = self.params
        env = self.env
        active: set[int] = set()
        while self.version < params["rounds"]:
            active = {h.index for h in self.homes if h.busy}
            free = params["clients_per_round"] - len(active)
            if free > 0:
                selected = self.configure_round(self.version + 1, wanted=free)
                if selected:
                    rnd = self._async_rounds.get(self.version)
                    if rnd is None:
                        rnd = Round(self.version + 1, self.version, self.weights, env.now, [], env.event())
                        self._async_rounds = {self.version: rnd}
                    for home in selected:
                        rnd.selected.append(home)
                        rnd.pending.add(home.index)
                        self._plan_dropout(rnd, home)
                        home.busy = True
                        self.window["selected"] += 1
                        self._stage(rnd, home, "selected")
                        env.process(self._client(home, rnd))
                    self.fire("round_start")
            self._arrival = env.event()
            yield self._arrival | env.timeout(params["checkin_retry"])
            while len(self._async_buffer) >= params["buffer_size"] and self.version < params["rounds"]:
                batch = self._async_buffer[: params["buffer_size"]]
                del self._async_buffer[: params["buffer_size"]]
                self.rounds_started += 1
                self.aggregate([(home, rnd.version, update) for home, rnd, update in batch], None, None, "")

    # -- the client ----------------------------------------------------------------------
    def _client(self, home: Home, rnd: Round):
        """One client's round: check in, download, (key phases), train, upload."""
        try:
            stage, detail = yield from self._client_work(home, rnd)
        finally:
            home.busy = False
        if stage == "dropped":
            self._drop(home, rnd, detail)
        elif stage == "straggled":
            self._straggle(home, rnd, detail)

    def _plan_dropout(self, rnd: Round, home: Home) -> None:
        """With probability ``dropout`` the client quits at one of its steps, uniformly
        (Bonawitz et al. 2019 saw 6–10 % drop out anywhere in the round)."""
        rng = self.rng("dropout")
        if rng.random() < self.params["dropout"]:
            steps = DROP_STEPS_SECAGG if self.params["secure_aggregation"] == "secagg" else DROP_STEPS
            rnd.drop_at[home.index] = steps[int(rng.integers(len(steps)))]

    def _gone(self, home: Home, rnd: Round, step: str) -> str | None:
        """Why the client cannot go on at ``step`` (it dropped out), or ``None``."""
        if rnd.drop_at.get(home.index) == step:
            return f"dropped out ({step.replace('_', ' ')})"
        if not home.watch.on:
            return "watch switched off"
        if self.params["require_charging"] and not home.watch.charging:
            return "taken off the charger"
        if home.relay is not None and not home.relay.on:
            return "phone switched off"
        return None

    def _client_work(self, home: Home, rnd: Round) -> Generator[Any, Any, tuple[str, str]]:
        params, env = self.params, self.env
        delay = self._checkin_delay()
        if delay > 0:
            yield env.timeout(delay)
        why = self._gone(home, rnd, "check_in")
        if why:
            return "dropped", why
        extra = self.paillier.public_key.n.bit_length() // 8 if self.paillier is not None else 0
        ok = yield from self._download(home, rnd, "fl_model", self.model_bytes + extra)
        if not ok:
            return "dropped", "model download failed"
        why = self._gone(home, rnd, "after_download")
        if why:
            return "dropped", why
        if isinstance(rnd.secure, SecAggState):
            outcome = yield from self._secagg_client_setup(home, rnd)
            if outcome is not None:
                return outcome
        n_windows = home.examples * params["local_epochs"]
        cost = home.watch.cost(self.train_card, n_windows)
        ran = yield home.watch.run(self.train_card, n_windows, "local_update", 0.0, PRIORITY_BACKGROUND)
        if not ran:
            return "dropped", "watch switched off while training"
        self._spend(home.watch, cost.energy_j)
        update, blob = self.local_update(home, rnd)
        why = self._gone(home, rnd, "after_training")
        if why:
            return "dropped", why
        if rnd.closed and not self._late_allowed():
            return "straggled", "round closed before the upload"
        if home.relay is not None:
            ok = yield from self._send(home.ble, home.watch, "fl_update", len(blob), rnd, up=True)
            if not ok:
                return "dropped", "update did not reach the phone"
        payload = yield from self._secure_encode(home, rnd, update, len(blob))
        if payload is None:
            return "straggled", "round closed before the upload"
        size, secure_payload = payload
        why = self._gone(home, rnd, "before_upload")
        if why:
            return "dropped", why
        link = self._server_link(home)
        if link is None:
            self._stage(rnd, home, "offline", detail="no network: update held on the phone")
            self.window["offline"] += 1
            rnd.pending.discard(home.index)
            self._check_done(rnd)
            self.fire("client_offline")
            while link is None:
                waits = [
                    lnk.wait_up()
                    for lnk in home.home_links + (home.cell_links if not params["require_wifi"] else [])
                ]
                yield env.any_of(waits) if waits else env.timeout(params["checkin_retry"])
                link = self._server_link(home)
        sender = home.relay if home.relay is not None else home.watch
        ok = yield from self._send(link, sender, "fl_update", size, rnd, up=True)
        if not ok:
            return "dropped", "update upload failed"
        self._deliver(home, rnd, update, secure_payload)
        return "delivered", ""

    def _checkin_delay(self) -> float:
        median = self.params["checkin_delay_median"]
        if median <= 0:
            return 0.0
        return float(self.rng("checkin").lognormal(math.log(median), self.params["checkin_delay_sigma"]))

    def _late_allowed(self) -> bool:
        return (
            self.params["secure_aggregation"] == "none"
            and self.params["dp_epsilon"] is None
            and self.params["max_staleness"] > 0
        )

    def local_update(self, home: Home, rnd: Round) -> tuple[strategies.Update, bytes]:
        """Real training of ``home``'s watch from the round's weights: returns the update
        (a delta, clipped and noised under DP; as the server will decode it) and the bytes
        the watch hands on."""
        params = self.params
        started = time.perf_counter()
        x, y = self.data.client(home.index)
        delta, _loss = self.trainer.train(
            rnd.weights,
            x,
            y,
            params["local_epochs"],
            params["batch_size"],
            params["lr"],
            self.strategy.client_config()["prox_mu"],
            shuffle_seed=[self.protocol_seed, 0, rnd.number, home.index],
        )
        self.host_s["train"] += time.perf_counter() - started
        if self.ledger is not None or params["secure_aggregation"] != "none":
            delta, norm = dp.clip(delta, params["clip_norm"])
            self.window["norm_sum"] += norm
        if self.ledger is not None:
            rng = np.random.default_rng([self.protocol_seed, 1, rnd.number, home.index])
            delta = delta + dp.client_noise(
                delta.size, self.noise_multiplier, params["clip_norm"], self.dp_floor, rng
            )
        if params["compression"] == "int8":
            blob = compression.encode_int8(delta, self.trainer.sizes)
            delta = compression.decode_int8(blob, self.trainer.sizes)
        else:
            blob = compression.encode_float32(delta)
        return strategies.Update(delta, home.examples, 0), blob

    # -- transfers and energy --------------------------------------------------------------
    def _download(self, home: Home, rnd: Round, kind: str, size: int):
        link = self._server_link(home)
        if link is None:
            return False
        ok = yield from self._send(link, self.server, kind, size, rnd, up=False)
        if ok and home.relay is not None:
            ok = yield from self._send(home.ble, home.relay, kind, size, rnd, up=False)
        return ok

    def _send(self, link, src, kind: str, size: int, rnd: Round | None, up: bool):
        """``link.send`` with the app's retries; books bytes and the clients' radio energy
        (both ends' airtime energy, and an LTE tail on a client that sent)."""
        before = link.bytes_sent
        status = yield from link.send(src, kind, int(size), retries=self.params["retries"])
        sent = link.bytes_sent - before
        self.window["bytes_up" if up else "bytes_down"] += sent
        if kind in ("fl_keys", "fl_shares", "fl_unmask", "fl_sum"):
            self.window["privacy_bytes"] += sent
        dst = link.other(src)
        for device, j_per_bit in ((src, link.tx_j_per_bit), (dst, link.rx_j_per_bit)):
            if device is self.server or device is self.keyholder:
                continue
            energy = sent * 8 * j_per_bit
            if device is src and link.tail_s > 0:
                energy += link.tail_s * link.tail_power_w
            self._spend(device, energy)
        return status == "delivered"

    def _spend(self, device, energy_j: float) -> None:
        self.window["client_energy_j"] += energy_j
        if device.battery is not None and not device.charging:
            self.window["battery_energy_j"] += energy_j
            if device.kind == "watch":
                self.window["watch_battery_j"] += energy_j

    def _crypto(self, device, ops: Counter):
        """Charge ``ops`` of crypto to ``device``'s clock: its CPU busy for the device time."""
        from simulator.apps.federated.costs import crypto_power_w, device_cost

        seconds, energy_j = device_cost(device.profile, ops, self.params["paillier_key_bits"])
        if seconds <= 0:
            return
        key = f"crypto:{self.name}"
        device.add_load(key, crypto_power_w(device.profile))
        yield self.env.timeout(seconds)
        device.remove_load(key)
        self.window["privacy_device_s"] += seconds
        self.window["privacy_energy_j"] += energy_j
        if device is not self.server and device is not self.keyholder:
            self._spend(device, energy_j)

    # -- stage bookkeeping -----------------------------------------------------------------
    def _stage(self, rnd: Round, home: Home, stage: str, staleness: int = 0, detail: str = "") -> None:
        assert stage in STAGES, stage
        rnd.stages[home.index] = stage
        self.sim.trace.append(
            ClientUpdate(
                self.env.now,
                self.name,
                rnd.number,
                home.watch.name,
                stage,
                home.examples,
                0,
                0,
                0.0,
                staleness,
                detail,
            )
        )

    def _drop(self, home: Home, rnd: Round, why: str) -> None:
        if rnd.closed and rnd.stages.get(home.index) == "straggled":
            return
        if home.index in rnd.pending:
            rnd.pending.discard(home.index)
            self.window["dropped"] += 1
            self._stage(rnd, home, "dropped", detail=why)
            self.fire("client_dropped")
        if isinstance(rnd.secure, SecAggState):
            state = rnd.secure
            state.keys.leave(home.index)
            state.shares.leave(home.index)
        self._check_done(rnd)

    def _straggle(self, home: Home, rnd: Round, why: str) -> None:
        if rnd.stages.get(home.index) != "straggled":
            self.window["stragglers"] += 1
            self._stage(rnd, home, "straggled", detail=why)
            self.fire("straggler")
        rnd.pending.discard(home.index)
        if isinstance(rnd.secure, SecAggState):
            rnd.secure.keys.leave(home.index)
            rnd.secure.shares.leave(home.index)
        self._check_done(rnd)

    def _check_done(self, rnd: Round) -> None:
        if not rnd.pending and not rnd.done.triggered:
            rnd.done.succeed()

    def _deliver(self, home: Home, rnd: Round, update: strategies.Update, secure_payload: Any) -> None:
        """An update reached the server."""
        if self.params["mode"] == "async":
            rnd.pending.discard(home.index)
            self._stage(rnd, home, "reported", staleness=self.version - rnd.version)
            self._async_buffer.append((home, rnd, update))
            if not self._arrival.triggered:
                self._arrival.succeed()
            return
        if not rnd.closed:
            rnd.pending.discard(home.index)
            self._stage(rnd, home, "reported")
            if isinstance(rnd.secure, SecAggState):
                rnd.secure.masked[rnd.secure.ids[home.index]] = secure_payload
            elif isinstance(rnd.secure, PaillierState):
                self._paillier_add(rnd, secure_payload)
            rnd.updates.append((home, update))
            self._check_done(rnd)
            return
        if self._late_allowed():
            self.late.append((home, rnd, update))
        else:
            self._stage(rnd, home, "rejected", detail="arrived after the round closed")

    # -- aggregate and evaluate ------------------------------------------------------------
    def aggregate(self, fresh: list, mean_delta: np.ndarray | None, rnd: Round | None, detail: str) -> None:
        """New global weights from the fresh updates (``(home, base version, Update)``) and
        the late ones still fresh enough, or from a securely summed mean delta; then
        :meth:`evaluate` and the round's record."""
        params = self.params
        updates = [strategies.Update(u.delta, u.num_examples, self.version - base) for _, base, u in fresh]
        used_late, rejected = [], []
        for home, late_rnd, update in self.late:
            staleness = self.version - late_rnd.version
            if staleness <= params["max_staleness"]:
                used_late.append((home, late_rnd, staleness))
                updates.append(strategies.Update(update.delta, update.num_examples, staleness))
            else:
                rejected.append((home, late_rnd, staleness))
        self.late = []
        reported = int(self.window["secure_count"]) if mean_delta is not None else len(fresh)
        if self.ledger is not None and reported < self.dp_floor and (mean_delta is not None or updates):
            # Too few reports carry too little noise: the round is not released (no ε spent).
            mean_delta, updates = None, []
            detail = f"DP: {reported} reports < {self.dp_floor}, round not released"
        if mean_delta is not None:
            self.weights = self.strategy.aggregate_mean(self.weights, mean_delta)
        elif updates:
            self.weights = self.strategy.aggregate(self.weights, updates)
        aggregated = mean_delta is not None or bool(updates)
        epsilon = None
        if self.ledger is not None:
            if aggregated:
                sigma = dp.effective_noise_multiplier(self.noise_multiplier, reported, self.dp_floor)
                epsilon = round(self.ledger.step(sigma, self.sample_rate), 4)
            else:
                epsilon = round(self.ledger.epsilon(), 4)
        if aggregated:
            self.version += 1
        accuracy, loss = self.evaluate()
        for home, late_rnd, staleness in used_late:
            self._stage(
                late_rnd, home, "synced", staleness=staleness, detail=f"used {staleness} versions late"
            )
        for home, late_rnd, staleness in rejected:
            self._stage(late_rnd, home, "rejected", staleness=staleness, detail=f"{staleness} versions late")
        window = self.window
        number = rnd.number if rnd is not None else self.rounds_started
        started = rnd.started_s if rnd is not None else window.get("window_start_s", 0.0)
        # Late updates from earlier rounds, and (async) fresh arrivals trained on an older model.
        stale = len(used_late) + sum(1 for u in updates[: len(fresh)] if u.staleness > 0)
        self.sim.trace.append(
            FederatedRound(
                self.env.now,
                self.name,
                number,
                self.version,
                float(started),
                round(clock_hour(started, params["day_start"]), 3),
                int(window["selected"]),
                reported,
                stale,
                int(window["stragglers"]),
                int(window["dropped"]),
                int(window["offline"]),
                int(window["recovered"]),
                round(accuracy, 5),
                round(loss, 5),
                int(window["bytes_up"]),
                int(window["bytes_down"]),
                round(window["client_energy_j"], 6),
                round(window["battery_energy_j"], 6),
                round(window["watch_battery_j"], 6),
                round(window["privacy_device_s"], 6),
                round(window["privacy_energy_j"], 6),
                int(window["privacy_bytes"]),
                float(window["aggregate_error"]),
                epsilon,
                detail if aggregated or detail else "no update arrived",
            )
        )
        self.window = Counter(window_start_s=self.env.now)
        self.fire("round_end")

    def evaluate(self) -> tuple[float, float]:
        """Held-out accuracy and loss of the global model (wearers who never trained)."""
        started = time.perf_counter()
        result = self.trainer.evaluate(self.weights, *self.heldout)
        self.host_s["eval"] += time.perf_counter() - started
        return result

    # -- secure aggregation (Bonawitz) -------------------------------------------------------
    def _secagg_state(self, rnd: Round) -> SecAggState:
        from simulator.apps.federated.secagg import SecAggServer, ring_bits_for

        params = self.params
        k = len(rnd.selected)
        threshold = max(2, math.ceil(params["secagg_threshold"] * k))
        server = SecAggServer(threshold, ring_bits_for(params["secure_bits"], params["clients_per_round"]))
        ids = {home.index: i + 1 for i, home in enumerate(rnd.selected)}
        expected = {home.index for home in rnd.selected}
        env = self.env
        return SecAggState(
            server=server,
            clients={},
            ids=ids,
            keys=Barrier(env, set(expected)),
            shares=Barrier(env, set(expected)),
            keys_ready=env.event(),
            shares_ready=env.event(),
        )

    def _secagg_key_phases(self, rnd: Round):
        """Server side of rounds 1–2: collect keys (U1), broadcast them, collect and route
        the encrypted shares; each phase waits for everyone or ``phase_timeout``."""
        from simulator.apps.federated.secagg import SecAggError

        state: SecAggState = rnd.secure
        timeout = self.params["phase_timeout"]
        yield state.keys.event | self.env.timeout(timeout)
        try:
            keys = state.server.collect_keys(dict(state.advertised))
        except SecAggError:
            keys = {}
        state.u1 = set(keys)
        state.shares.expected &= {index for index, i in state.ids.items() if i in state.u1}
        state.shares._check()
        state.keys_ready.succeed(keys)
        if not keys:
            return
        yield state.shares.event | self.env.timeout(timeout)
        senders = {i: out for i, out in state.outgoing.items()}
        state.incoming = state.server.route_shares(senders)
        state.server.keys = {i: keys[i] for i in senders}
        state.shares_ready.succeed(set(senders))

    def _secagg_client_setup(self, home: Home, rnd: Round):
        """Client side of rounds 1–2 (on the phone): advertise keys, receive U1's, send
        encrypted shares, receive the peers'. Returns a final stage, or ``None`` to go on."""
        from simulator.apps.federated.secagg import PUBLIC_KEY_BYTES, SecAggClient, share_ciphertext_bytes

        state: SecAggState = rnd.secure
        ident = state.ids[home.index]
        crypto_device = home.relay if home.relay is not None else home.watch
        client = SecAggClient(ident, np.random.default_rng([self.protocol_seed, 2, rnd.number, home.index]))
        state.clients[home.index] = client
        yield from self._crypto(crypto_device, Counter(keygen=2))
        link = self._server_link(home)
        if link is None:
            return "dropped", "no network for the key exchange"
        sender = crypto_device
        ok = yield from self._send(
            link, sender, "fl_keys", 2 * PUBLIC_KEY_BYTES + CONTROL_BYTES, rnd, up=True
        )
        if not ok:
            return "dropped", "key advertisement failed"
        if state.keys_ready.triggered:
            return "straggled", "missed the key exchange"
        state.advertised[ident] = client.advertise()
        state.keys.arrive(home.index)
        keys = yield state.keys_ready
        if ident not in keys:
            return "dropped", "too few clients advertised keys"
        ok = yield from self._send(
            link, self.server, "fl_keys", len(keys) * 2 * PUBLIC_KEY_BYTES + CONTROL_BYTES, rnd, up=False
        )
        if not ok:
            return "dropped", "key list download failed"
        why = self._gone(home, rnd, "after_keys")
        if why:
            return "dropped", why
        before = Counter(client.ops)
        outgoing = client.share_keys(keys, state.server.threshold)
        yield from self._crypto(crypto_device, client.ops - before)
        size = len(outgoing) * share_ciphertext_bytes() + CONTROL_BYTES
        ok = yield from self._send(link, sender, "fl_shares", size, rnd, up=True)
        if not ok:
            return "dropped", "share upload failed"
        if state.shares_ready.triggered:
            return "straggled", "missed the share exchange"
        state.outgoing[ident] = outgoing
        state.shares.arrive(home.index)
        senders = yield state.shares_ready
        if ident not in senders:
            return "straggled", "missed the share exchange"
        incoming = state.incoming.get(ident, {})
        ok = yield from self._send(
            link,
            self.server,
            "fl_shares",
            len(incoming) * share_ciphertext_bytes() + CONTROL_BYTES,
            rnd,
            up=False,
        )
        if not ok:
            return "dropped", "share download failed"
        before = Counter(client.ops)
        client.receive_shares(incoming)
        yield from self._crypto(crypto_device, client.ops - before)
        return None if not (why := self._gone(home, rnd, "after_shares")) else ("dropped", why)

    def _secure_encode(self, home: Home, rnd: Round, update: strategies.Update, plain_bytes: int):
        """On the phone: the bytes the server receives (masked or encrypted for the secure
        options; the compressed update otherwise) and what the server keeps of them.
        ``None`` when the round closed meanwhile."""
        params = self.params
        secure = params["secure_aggregation"]
        if secure == "none":
            return plain_bytes, None
        values = compression.quantize_fixed(update.delta, params["clip_norm"], params["secure_bits"])
        crypto_device = home.relay if home.relay is not None else home.watch
        if secure == "secagg":
            state: SecAggState = rnd.secure
            client = state.clients[home.index]
            before = Counter(client.ops)
            started = time.perf_counter()
            masked = client.masked_input(values.astype(np.uint32), state.server.ring_bits)
            self.host_s["crypto"] += time.perf_counter() - started
            state.plain[state.ids[home.index]] = values
            yield from self._crypto(crypto_device, client.ops - before)
            if rnd.closed:
                return None
            return len(compression.pack_bits(masked, state.server.ring_bits)) + CONTROL_BYTES, masked
        ops: Counter = Counter()
        started = time.perf_counter()
        ciphertexts = self.paillier.encrypt(values, ops)
        self.host_s["crypto"] += time.perf_counter() - started
        yield from self._crypto(crypto_device, ops)
        if rnd.closed:
            return None
        return len(self.paillier.serialized(ciphertexts)) + CONTROL_BYTES, (ciphertexts, values)

    def _secagg_unmask(self, rnd: Round):
        """Round 4: survivors send their shares; the server removes the masks and gets the
        sum. Returns the mean delta (or ``None`` if the round could not be unmasked)."""
        from simulator.apps.federated.secagg import SHARE_BYTES, SecAggError

        state: SecAggState = rnd.secure
        params = self.params
        survivors = sorted(state.masked)
        dropped = sorted(set(state.server.keys) - set(survivors))
        if not survivors:
            return None, "no masked input arrived"
        by_id = {state.ids[h.index]: h for h in rnd.selected}
        answers: dict[int, dict] = {}
        barrier = Barrier(self.env, set(survivors))

        def answer(ident: int):
            home = by_id[ident]
            link = self._server_link(home)
            sender = home.relay if home.relay is not None else home.watch
            if link is None:
                barrier.leave(ident)
                return
            ok = yield from self._send(
                link, self.server, "fl_unmask", 4 * len(survivors) + CONTROL_BYTES, None, up=False
            )
            shares = state.clients[home.index].unmask_shares(survivors, dropped)
            if ok:
                ok = yield from self._send(
                    link, sender, "fl_unmask", len(shares) * (SHARE_BYTES + 4) + CONTROL_BYTES, None, up=True
                )
            if ok:
                answers[ident] = shares
                barrier.arrive(ident)
            else:
                barrier.leave(ident)

        for ident in survivors:
            self.env.process(answer(ident))
        yield barrier.event | self.env.timeout(params["phase_timeout"])
        started = time.perf_counter()
        try:
            total = state.server.unmask({i: state.masked[i] for i in survivors}, answers)
        except SecAggError as exc:
            return None, f"secure aggregation failed: {exc}"
        finally:
            self.host_s["crypto"] += time.perf_counter() - started
        yield from self._crypto(self.server, Counter(state.server.ops))
        plain = np.sum([state.plain[i].astype(np.int64) for i in survivors], axis=0)
        bits, clip_norm = params["secure_bits"], params["clip_norm"]
        secure_sum = compression.dequantize_sum(total, len(survivors), clip_norm, bits)
        float_sum = np.sum(
            [u.delta.astype(np.float64) for h, u in rnd.updates if state.ids[h.index] in survivors], axis=0
        )
        exact = np.array_equal(total.astype(np.int64), plain)
        self.window["aggregate_error"] = float(np.max(np.abs(secure_sum - float_sum)))
        self.window["recovered"] += len(dropped)
        self.window["secure_count"] = len(survivors)
        detail = f"secagg: {len(survivors)} summed, {len(dropped)} dropped clients' masks recovered" + (
            "" if exact else " (MISMATCH)"
        )
        return secure_sum / len(survivors), detail

    def _paillier_add(self, rnd: Round, payload: Any) -> None:
        ciphertexts, values = payload
        state: PaillierState = rnd.secure
        ops: Counter = Counter()
        started = time.perf_counter()
        state.total = self.paillier.add(state.total, ciphertexts, ops)
        self.host_s["crypto"] += time.perf_counter() - started
        state.count += 1
        state.plain_total = (
            values.astype(np.int64) if state.plain_total is None else state.plain_total + values
        )
        self.env.process(self._crypto(self.server, ops))

    def _paillier_decrypt(self, rnd: Round):
        """The server sends the encrypted sum to the key holder, which decrypts it."""
        state: PaillierState = rnd.secure
        if not state.count:
            return None, "no encrypted update arrived"
        link = self.sim.link_between(self.server.name, self.keyholder.name)
        sum_bytes = len(self.paillier.serialized(state.total)) + CONTROL_BYTES
        ok = yield from self._send(link, self.server, "fl_sum", sum_bytes, None, up=False)
        if not ok:
            return None, "encrypted sum did not reach the key holder"
        ops: Counter = Counter()
        started = time.perf_counter()
        total = self.paillier.decrypt_sum(state.total, self.trainer.n_params, ops)
        self.host_s["crypto"] += time.perf_counter() - started
        yield from self._crypto(self.keyholder, ops)
        plain_bytes = len(compression.pack_bits(total, self.paillier.slot_bits)) + CONTROL_BYTES
        ok = yield from self._send(link, self.keyholder, "fl_sum", plain_bytes, None, up=True)
        if not ok:
            return None, "decrypted sum did not come back"
        bits, clip_norm = self.params["secure_bits"], self.params["clip_norm"]
        secure_sum = compression.dequantize_sum(total, state.count, clip_norm, bits)
        float_sum = np.sum([u.delta.astype(np.float64) for _, u in rnd.updates], axis=0)
        exact = np.array_equal(total.astype(np.int64), state.plain_total)
        self.window["aggregate_error"] = float(np.max(np.abs(secure_sum - float_sum)))
        self.window["secure_count"] = state.count
        detail = f"paillier: {state.count} encrypted updates summed" + ("" if exact else " (MISMATCH)")
        return secure_sum / state.count, detail

    # -- metrics -------------------------------------------------------------------------
    def metrics(self, trace: Trace, end_s: float) -> dict[str, Any]:
        out = federated_metrics(trace, end_s, self.name)
        out["wall_host_s"] = {
            k: round(v, 3) for k, v in sorted(self.host_s.items())
        }  # host time: not a metric of the run
        return out


def _route(client: str, server: str, links: list[dict]) -> str | None:
    """The device through which ``client`` reaches ``server`` (itself when linked
    directly), from the scenario's link list; ``None`` when there is no route."""
    neighbours: dict[str, set[str]] = {}
    for link in links:
        neighbours.setdefault(link["a"], set()).add(link["b"])
        neighbours.setdefault(link["b"], set()).add(link["a"])
    near = neighbours.get(client, set())
    if server in near:
        return client
    for relay in sorted(near):
        if server in neighbours.get(relay, set()):
            return relay
    return None


def federated_metrics(trace: Trace, until_s: float | None = None, app: str = "federated") -> dict[str, Any]:
    """Headline metrics of federated app ``app`` from a trace, counting what happened by ``until_s``."""
    until_s = trace.end_time if until_s is None else until_s
    records = trace.until(until_s)
    plan = next((r for r in records if type(r) is FederatedPlan and r.app == app), None)
    rounds = [r for r in records if type(r) is FederatedRound and r.app == app]
    clients = [r for r in records if type(r) is ClientUpdate and r.app == app]
    if plan is None:
        return {"rounds": 0}
    accuracies = [r.accuracy for r in rounds]
    stage_counts = Counter(r.stage for r in clients)
    day_start = plan.day_start_s

    def clock(t_s: float) -> str:
        hour = clock_hour(t_s, day_start)
        return f"{int(hour):02d}:{int(round((hour % 1) * 60)) % 60:02d}"

    hours = Counter(int(r.hour) for r in rounds)
    participated = {r.device for r in clients if r.stage in ("reported", "synced")}
    return {
        "clients": len(plan.clients),
        "strategy": plan.strategy,
        "mode": plan.mode,
        "privacy": plan.privacy,
        "rounds": rounds[-1].version if rounds else 0,  # aggregates released
        "rounds_attempted": len(rounds),
        "rounds_planned": plan.rounds,
        "accuracy_initial": plan.initial_accuracy,
        "accuracy": accuracies[-1] if accuracies else plan.initial_accuracy,
        "accuracy_best": max(accuracies) if accuracies else plan.initial_accuracy,
        "accuracy_per_round": accuracies,
        "participants_mean": round(float(np.mean([r.participants for r in rounds])), 2) if rounds else 0.0,
        "clients_participated": len(participated),
        "selected": stage_counts["selected"],
        "reported": stage_counts["reported"],
        "stragglers": stage_counts["straggled"],
        "dropped": stage_counts["dropped"],
        "offline": stage_counts["offline"],
        "synced_late": stage_counts["synced"],
        "rejected_late": stage_counts["rejected"],
        "masks_recovered": sum(r.recovered for r in rounds),
        "bytes_up": sum(r.bytes_up for r in rounds),
        "bytes_down": sum(r.bytes_down for r in rounds),
        "client_energy_j": round(sum(r.client_energy_j for r in rounds), 3),
        "battery_energy_j": round(sum(r.battery_energy_j for r in rounds), 3),
        "watch_battery_j": round(sum(r.watch_battery_j for r in rounds), 3),
        "privacy_device_s": round(sum(r.privacy_device_s for r in rounds), 3),
        "privacy_energy_j": round(sum(r.privacy_energy_j for r in rounds), 3),
        "privacy_bytes": sum(r.privacy_bytes for r in rounds),
        "aggregate_error_max": max((r.aggregate_error for r in rounds), default=0.0),
        "epsilon": rounds[-1].epsilon if rounds else None,
        "noise_multiplier": plan.noise_multiplier,
        "first_round": clock(rounds[0].started_t) if rounds else None,
        "last_round": clock(rounds[-1].t) if rounds else None,
        "last_round_s": round(rounds[-1].t, 1) if rounds else None,
        "rounds_by_hour": {f"{h:02d}": n for h, n in sorted(hours.items())},
    }


App = FederatedLearning
register_records(App.RECORDS)
