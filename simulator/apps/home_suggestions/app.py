"""Personalized suggestions from a federated profile, across the home's devices.

Each home's phone is a client of the federated protocol (:mod:`simulator.federated`):
overnight, on the charger and the home Wi-Fi, it trains the recommender's global weights
on the home's logged events (three weeks of history: used and dismissed items, with their
context as the devices inferred it from a location blurred to ``blur_m``). The members'
own factors never leave the phone; the cloud averages the item factors.

After training, the phone pushes each of the home's devices its *profile slice*: the
items that device can serve (a speaker: scenes, playlists and reminders; a watch and the
car: playlists, services and reminders), their factors and biases for the contexts it
serves, and the members' factors (over the home's own links, so both ends pay the radio).
At a moment of context in the held-out week (a member at home, on the commute, at the
gym, in the evening) the device that serves the member ranks its cached slice — a real
ranking of real factors, its latency and energy from the cost model through the device's
compute queue — and the trace records the ten suggestions, why the first came first, and
where the item the member really used ranked (a hit when in the top ten).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.cards import ModelCard
from models.data import households
from simulator.apps.home_suggestions.records import RECORDS, SliceSync, Suggestion, SuggestionPlan
from simulator.apps.home_suggestions.task import FLOAT_BYTES, SuggestionTask
from simulator.devices import PRIORITY_NORMAL
from simulator.federated import service
from simulator.federated.app import ProtocolApp
from simulator.federated.params import protocol_params
from simulator.trace import Trace, register_records
from simulator.validate import Field, SpecError

CATALOGUES = ("home_v1",)
#: what each serving device kind shows, and in which contexts it serves the member
SERVES = {
    "speaker": {"contexts": ("home", "evening"), "kinds": ("scene", "playlist", "reminder")},
    "watch": {"contexts": ("gym",), "kinds": ("playlist", "reminder", "service")},
    "car": {"contexts": ("commute",), "kinds": ("playlist", "service", "reminder")},
    "phone": {"contexts": households.CONTEXTS, "kinds": households.KINDS},
}
SLICE_MESSAGE = "profile_slice"

MODEL_PARAMS: dict[str, Any] = {
    "catalogue": Field(str, default="home_v1", choices=CATALOGUES),
    "factor_dim": Field(int, default=8, minimum=2, maximum=64),
    "top_k": Field(int, default=10, minimum=1, maximum=50),
}
DATA_PARAMS: dict[str, Any] = {
    "items": Field(int, default=240, minimum=20, maximum=5000),
    "weeks": Field(int, default=4, minimum=2, maximum=12),
    "blur_m": Field(float, default=500.0, minimum=0.0),
    "popularity_exponent": Field(float, default=0.8, minimum=0.0),
    "slice_sync_wait": Field("duration", default="2h", minimum=0.0),
}


class HomeSuggestions(ProtocolApp):
    """The home-suggestions app (see the module docstring)."""

    TYPE = "home_suggestions"
    DESCRIPTION = "suggestions at the right moment on the right device, from a federated profile"
    PARAMS = protocol_params(MODEL_PARAMS, DATA_PARAMS)
    RECORDS = RECORDS
    HOOKS = (
        "round_start",
        "round_end",
        "client_dropped",
        "client_offline",
        "straggler",
        "slice_synced",
        "hit",
    )

    def __init__(self, sim, name: str, params: dict[str, Any], where: str) -> None:
        super().__init__(sim, name, params, where)
        seeds = self.new_rng("seeds").integers(0, 2**31, size=3)
        data_seed, self.protocol_seed, self.routine_seed = (int(s) for s in seeds)
        self.world = households.generate(
            households.HouseholdSpec(
                n_homes=len(self.clients),
                weeks=params["weeks"],
                n_items=params["items"],
                seed=data_seed,
                popularity_exponent=params["popularity_exponent"],
            )
        )
        self.task = SuggestionTask(self.world, params, data_seed)
        for client in self.clients:
            client.examples = self.task.examples(client.index)
        self.home_devices = [self._devices_of_home(client) for client in self.clients]
        heldout_day = 7 * (params["weeks"] - 1)
        self.data_offset_s = heldout_day * households.DAY_S + params["day_start"]
        self.server = None

    def _devices_of_home(self, client) -> dict[str, Any]:
        """The home's serving devices by kind: the client phone and, named with the same
        suffix (``phone07`` → ``speaker07``…), any speaker, watch and car."""
        suffix = client.device.name.removeprefix("phone")
        found = {"phone": client.device}
        for kind in ("speaker", "watch", "car"):
            device = self.sim.devices.get(f"{kind}{suffix}")
            if device is not None:
                if self.sim.link_between(client.device.name, device.name) is None:
                    raise SpecError(
                        f"{self.file}, {self.where}: {device.name} needs a link to {client.device.name}"
                    )
                found[kind] = device
        return found

    # -- set-up ------------------------------------------------------------------------
    def start(self) -> None:
        weights = self.task.initial_weights()
        self.server = service.make_server(self, self.clients, self.task, weights, self.protocol_seed)
        hit, _ = self.task.evaluate(weights)
        self.sim.trace.append(
            service.plan_record(self, self.server, hit, int((self.task.heldout.feedback == 0).sum()))
        )
        self.slices = {kind: self._slice_items(kind) for kind in SERVES}
        self.cards = {kind: self._ranker_card(kind, items) for kind, items in self.slices.items()}
        self.sim.trace.append(self._plan())
        # every device starts with the initial model and the cold-start member factors
        self.cache = {
            device.name: (0, weights, self.task.users.copy())
            for devices in self.home_devices
            for device in devices.values()
        }
        self.refresh = [self.env.event() for _ in self.clients]
        self.task.on_trained = self._trained
        service.start(self, self.server, self.routine_seed)
        for index, devices in enumerate(self.home_devices):
            self.env.process(self._serve(index))
            self.env.process(self._sync(index))
            if "watch" in devices:
                self.env.process(self._charge_overnight(devices["watch"]))

    def _slice_items(self, kind: str) -> np.ndarray:
        kinds = [households.KINDS.index(k) for k in SERVES[kind]["kinds"]]
        return np.flatnonzero(np.isin(self.world.item_kind, kinds))

    def _slice_bytes(self, kind: str) -> int:
        """The slice as stored: per item its factors, bias, the served contexts' biases and
        the time slots' biases; the served contexts' offsets; the members' factors."""
        dim, items = self.params["factor_dim"], len(self.slices[kind])
        contexts = len(SERVES[kind]["contexts"])
        per_item = dim + 1 + contexts + households.TIME_SLOTS
        members = 4  # the largest home's members (the slice is sized for it)
        return FLOAT_BYTES * (items * per_item + contexts * dim + members * dim)

    def _ranker_card(self, kind: str, items: np.ndarray) -> ModelCard:
        """The cost of ranking a slice: per item a dot product and three bias adds."""
        dim = self.params["factor_dim"]
        return ModelCard(
            model="home_ranker",
            variant=f"{kind}-slice",
            task=f"rank the {kind}'s profile slice ({len(items)} items) for one member and context",
            classes=[],
            input_shape=[dim],
            precision="fp32",
            params=len(items) * (dim + 3),
            macs=len(items) * (dim + 3),
            bytes=self._slice_bytes(kind),
            peak_activation_bytes=FLOAT_BYTES * len(items),
            accuracy=0.0,
            latency_ms_b1=0.0,
            latency_ms_b64=0.0,
            recipe="federated matrix factorization, context-aware ranker",
            artifact="",
            runtime="numpy",
        )

    def _plan(self) -> SuggestionPlan:
        heldout = self.world.heldout_mask()
        true_ctx = self.world.events["context"][heldout]
        accuracy = float((self.task.contexts[heldout] == true_ctx).mean()) if heldout.any() else 1.0
        members = [
            [
                int(self.world.member_home[m]),
                int(m),
                [
                    a
                    for a, v in zip(
                        households.ATTRIBUTES[1:], self.world.member_attributes[m, 1:], strict=True
                    )
                    if v
                ],
            ]
            for m in range(self.world.n_members)
        ]
        serving = {
            kind: {
                "contexts": list(SERVES[kind]["contexts"]),
                "kinds": list(SERVES[kind]["kinds"]),
                "items": int(len(self.slices[kind])),
                "bytes": self._slice_bytes(kind),
            }
            for kind in SERVES
        }
        return SuggestionPlan(
            0.0,
            self.name,
            self.params["catalogue"],
            list(self.world.item_names),
            [households.KINDS[k] for k in self.world.item_kind],
            members,
            serving,
            float(self.params["blur_m"]),
            round(accuracy, 5),
            float(self.data_offset_s),
        )

    # -- the phone's slices to the home's devices ------------------------------------------
    def _trained(self, client: int) -> None:
        """The phone finished local training: its own cache is the new model at once."""
        phone = self.home_devices[client]["phone"]
        version = int(self.task.versions[client])
        self.cache[phone.name] = (version, self.task.personal[client], self.task.users.copy())
        event, self.refresh[client] = self.refresh[client], self.env.event()
        event.succeed(version)

    def _sync(self, index: int):
        """Push the phone's new model to the home's other devices, as slices (a process)."""
        devices = self.home_devices[index]
        phone = devices["phone"]
        while True:
            yield self.refresh[index]
            version, weights, users = self.cache[phone.name]
            for kind, device in devices.items():
                if kind == "phone":
                    continue
                link = self.sim.link_between(phone.name, device.name)
                size = self._slice_bytes(kind)
                status = yield from link.send(
                    phone,
                    SLICE_MESSAGE,
                    size,
                    retries=self.params["retries"],
                    wait_for_link_s=self.params["slice_sync_wait"],
                )
                if status == "delivered":
                    self.cache[device.name] = (version, weights, users)
                self.sim.trace.append(
                    SliceSync(self.env.now, self.name, index, device.name, version, size, status)
                )
                self.fire("slice_synced")

    def _charge_overnight(self, watch):
        """The watch sits on its charger from bedtime to waking (clock times)."""
        day_start, bedtime, wake = self.params["day_start"], self.params["bedtime"], self.params["wake"]
        to_bed = (bedtime - day_start) % households.DAY_S
        night_s = (wake - bedtime) % households.DAY_S
        while True:
            yield self.env.timeout(to_bed)
            watch.start_charging()
            yield self.env.timeout(night_s)
            watch.stop_charging()
            to_bed = households.DAY_S - night_s

    # -- moments of context ----------------------------------------------------------------
    def _serve(self, index: int):
        """The home's held-out moments in time order: rank on the serving device (a process)."""
        world, ev = self.world, self.world.events
        mask = world.heldout_mask() & (ev["home"] == index) & (ev["feedback"] == 0)
        t_sim = ev["t_s"][mask] - self.data_offset_s
        rows = np.flatnonzero(mask)
        keep = (t_sim >= 0) & (t_sim < self.sim.duration_s)
        order = np.argsort(t_sim[keep], kind="stable")  # the home's members' moments interleaved
        devices = self.home_devices[index]
        for row, t in zip(rows[keep][order], t_sim[keep][order], strict=True):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            member = int(ev["member"][row])
            context = int(self.task.contexts[row])
            kind = self._server_kind(devices, member, households.CONTEXTS[context])
            device = devices[kind]
            record = self._rank(index, device, kind, member, context, row)
            started = self.env.now
            served = yield device.run(self.cards[kind], 1, record["label"], record["score"], PRIORITY_NORMAL)
            self.sim.trace.append(
                Suggestion(
                    started,
                    self.name,
                    index,
                    int(member),
                    device.name,
                    households.CONTEXTS[context],
                    households.CONTEXTS[int(ev["context"][row])],
                    record["version"],
                    record["items"],
                    int(ev["item"][row]),
                    record["rank"] if served else -1,
                    record["popular_rank"],
                    round(self.env.now - started, 9),
                    bool(served),
                    record["why"],
                )
            )
            if served and 0 <= record["rank"] < self.params["top_k"]:
                self.fire("hit")

    def _server_kind(self, devices: dict, member: int, context: str) -> str:
        """The device that serves ``member`` in ``context``: the car on a driver's commute,
        the watch at a wearer's gym, the speaker at home, the phone otherwise."""
        attributes = self.world.member_attributes[member]
        if context == "commute" and "car" in devices and attributes[households.ATTRIBUTES.index("drives")]:
            return "car"
        if context == "gym" and "watch" in devices and attributes[households.ATTRIBUTES.index("has_watch")]:
            return "watch"
        if context in ("home", "evening") and "speaker" in devices:
            return "speaker"
        return "phone"

    def _rank(self, home: int, device, kind: str, member: int, context: int, row: int) -> dict[str, Any]:
        version, weights, users = self.cache[device.name]
        parts = self.task.layout.unpack(weights)
        items = self.slices[kind]
        slot = int(self.world.events["slot"][row])
        user = users[member]
        taste = parts["V"][items] @ user
        situation = (
            parts["V"][items] @ parts["C"][context]
            + parts["B_ctx"][items, context]
            + parts["B_slot"][items, slot]
        )
        score = taste + situation + parts["b"][items]
        order = np.argsort(-score, kind="stable")
        top = items[order[: self.params["top_k"]]]
        used = int(self.world.events["item"][row])
        where = np.flatnonzero(items == used)
        rank = int((score >= score[where[0]]).sum() - 1) if len(where) else -1
        popular_rank = int(np.flatnonzero(self.popular_order[kind] == used)[0]) if len(where) else -1
        first = order[0]
        share = abs(taste[first]) / (
            abs(taste[first]) + abs(situation[first]) + abs(parts["b"][items][first]) + 1e-9
        )
        why = f"taste {share:.0%}" if share >= 0.5 else f"{households.CONTEXTS[context]} {1 - share:.0%}"
        return {
            "version": int(version),
            "items": [int(i) for i in top],
            "rank": rank,
            "popular_rank": popular_rank,
            "why": why,
            "label": self.world.item_names[int(top[0])],
            "score": float(score[first]),
        }

    @property
    def popular_order(self) -> dict[str, np.ndarray]:
        """Per slice, its items by popularity in the (pooled) history: the baseline."""
        if not hasattr(self, "_popular_order"):
            ev = self.world.events
            used = self.world.train_mask() & (ev["feedback"] == 0)
            counts = np.bincount(ev["item"][used], minlength=self.world.n_items)
            self._popular_order = {
                kind: items[np.argsort(-counts[items], kind="stable")] for kind, items in self.slices.items()
            }
        return self._popular_order

    # -- metrics --------------------------------------------------------------------------
    @classmethod
    def summarize(cls, trace: Trace, app: dict[str, Any], end_s: float) -> dict[str, Any]:
        """The app's metrics from the trace alone (``app``: its entry in ``trace.meta["apps"]``)."""
        from simulator.apps.home_suggestions.metrics import summarize

        return summarize(trace, app["name"], end_s)

    def metrics(self, trace: Trace, end_s: float) -> dict[str, Any]:
        from simulator.apps.home_suggestions.metrics import summarize

        return summarize(trace, self.name, end_s)


App = HomeSuggestions
register_records(App.RECORDS)
