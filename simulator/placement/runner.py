"""Carry a placed request out on the engine: the head on the source's compute unit, the split
tensor over the real links, the tail on the target, the result on to the sink.

:class:`PlacementRunner` is what an app calls (the smart-home chains, the bench, the RL
environment)::

    runner = PlacementRunner(sim, app="smart_home")
    placement = policy.place(request, runner.state())
    outcome = yield from runner.serve(request, placement, policy="min_latency", label=..., score=...)

Compute goes through ``Device.run`` (the one way to use a device's compute unit: queues,
energy on the ``Inference`` record) with the parts' cards; every hop is a real
``Link.attempt`` (trace ``Message`` records, radio energy at both ends, loss, outages),
retried up to ``retries`` times; a sender's radio sends one message at a time on a link,
so messages queue behind each other. When a hop fails the tail runs where the tensor is (the
source, or the hub when the cloud is out of reach): the outcome says ``fallback``. Each
served request appends one :class:`Placed` record when its result arrives.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import simpy

from simulator.devices import PRIORITY_NORMAL
from simulator.network import route_up_first, send_route
from simulator.placement.cost import DeviceStatus, LinkStatus, Placement, Request, State
from simulator.trace import register_records

if TYPE_CHECKING:
    from simulator.network import Link


class Placed(NamedTuple):
    """A placed inference finished at ``t``: where each part ran and how long it took."""

    t: float
    app: str
    request: int
    source: str
    sink: str
    model: str
    variant: str
    policy: str
    target: str  # the planned target (the source when all-local)
    split: int  # layers [0, split) ran on the source
    n_layers: int
    tail_device: str  # where layers [split, n) really ran (target, or a fallback)
    boundary: str
    sent_bytes: int
    start_t: float
    latency_s: float
    deadline_s: float
    met: bool
    status: str  # ok, fallback (a hop failed; the tail ran where the tensor was) or failed
    battery_j: float
    label: str


RECORDS = {"placement": Placed}
register_records(RECORDS)


@dataclass(frozen=True)
class Outcome:
    """What happened to one request (the fields of its :class:`Placed` record and energy)."""

    record: Placed
    energy_j: dict[str, float]  # per device: compute bursts and radio bits (not radio tails)
    result_device: str | None = None  # where the result is (the sink when delivered); None: none made

    @property
    def latency_s(self) -> float:
        return self.record.latency_s

    @property
    def met(self) -> bool:
        return self.record.met

    @property
    def battery_j(self) -> float:
        return self.record.battery_j


class PlacementRunner:
    """Serves placed requests on ``sim``'s devices and links (see the module docstring)."""

    def __init__(self, sim, app: str = "placement", retries: int = 2) -> None:
        self.sim = sim
        self.env = sim.env
        self.app = app
        self.retries = retries
        self.backlog_s: dict[str, float] = {}  # placed compute not finished, per device
        self.link_queue_s: dict[str, float] = {}  # airtime of messages waiting or in the air, per link
        self._radios: dict[tuple[str, str], simpy.Resource] = {}
        self._routes: dict[tuple, list | None] = {}  # (src, dst, links down) → hops

    # -- the state a policy sees -------------------------------------------------------
    def state(self) -> State:
        """Devices present in the home and every link, as they are now."""
        devices = {}
        for name, device in self.sim.devices.items():
            if not device.present:
                continue
            devices[name] = DeviceStatus(
                name,
                device.kind,
                device.profile,
                device.on,
                device.state_of_charge,
                device.battery is not None,
                self.backlog_s.get(name, 0.0),
            )
        links = {}
        for name, link in self.sim.links.items():
            if link.a.name in devices and link.b.name in devices:
                links[name] = LinkStatus(
                    name,
                    link.type,
                    link.a.name,
                    link.b.name,
                    link.up,
                    link.bandwidth_bps,
                    link.latency_s,
                    link.loss,
                    link.tx_j_per_bit,
                    link.rx_j_per_bit,
                    link.tail_s,
                    link.tail_power_w,
                    self.link_queue_s.get(name, 0.0),
                )
        return State(self.sim.now, devices, links)

    # -- serving -----------------------------------------------------------------------
    def serve(
        self,
        request: Request,
        placement: Placement,
        policy: str = "",
        label: str = "",
        score: float = 0.0,
        priority: int = PRIORITY_NORMAL,
    ) -> Generator[Any, Any, Outcome]:
        """Run ``request`` as ``placement`` says (a SimPy process generator: ``yield from``);
        ``label``/``score`` are the real model output, ``priority`` the compute queue's class
        of its parts (``Device.run``). Returns the :class:`Outcome`."""
        table, card = request.table, request.card
        n = table.n_layers
        local = placement.is_local(request)
        split = n if local else placement.split
        target = request.source if local else placement.target
        energy: dict[str, float] = {}
        status, where, sent = "ok", request.source, 0
        result_device = None
        if split > 0:
            ran = yield from self._compute(
                request.source, table.part_card(card, 0, split), label, score, energy, priority
            )
            status = "ok" if ran else "failed"
        if status == "ok" and not local:
            sent = table.boundary_bytes(split, request.boundary)
            where, delivered = yield from self._carry(request.source, target, sent, "activation", energy)
            status = "ok" if delivered else "fallback"
            ran = yield from self._compute(
                where, table.part_card(card, split, n), label, score, energy, priority
            )
            status = status if ran else "failed"
        if status != "failed":
            result_device = where
            if where != request.result_at:
                result_device, delivered = yield from self._carry(
                    where, request.result_at, table.boundary_bytes(n), "result", energy
                )
                status = status if delivered else "failed"
        now = self.env.now
        latency_s = now - request.t_s
        devices = self.sim.devices
        battery_j = sum(j for d, j in energy.items() if devices[d].battery is not None)
        record = Placed(
            now,
            self.app,
            request.id,
            request.source,
            request.result_at,
            card.model,
            card.variant,
            policy,
            target,
            split,
            n,
            where,
            request.boundary,
            sent,
            request.t_s,
            latency_s,
            request.deadline_s,
            status != "failed" and latency_s <= request.deadline_s,
            status,
            battery_j,
            label,
        )
        self.sim.trace.append(record)
        return Outcome(record, energy, result_device)

    def _compute(self, name: str, part, label: str, score: float, energy: dict[str, float], priority: int):
        device = self.sim.devices[name]
        latency_s = device.cost(part).latency_s
        self.backlog_s[name] = self.backlog_s.get(name, 0.0) + latency_s
        ran = yield device.run(part, 1, label, score, priority)
        self.backlog_s[name] -= latency_s
        if ran:
            energy[name] = energy.get(name, 0.0) + device.cost(part).energy_j
        return ran

    def route(self, src: str, dst: str) -> list[tuple[Link, str, str]] | None:
        """``[(link, sender, receiver), ...]`` from ``src`` to ``dst``: the fewest hops
        over the links that are up now, else over all links (the send then stops at the
        first down one), as :meth:`State.route` estimates it."""
        down = tuple(name for name, link in self.sim.links.items() if not link.up)
        key = (src, dst, down)
        if key not in self._routes:
            self._routes[key] = route_up_first(self.sim.links.values(), src, dst)
        return self._routes[key]

    def _carry(self, src: str, dst: str, size_bytes: int, msg_kind: str, energy: dict[str, float]):
        """Send hop by hop; returns ``(where the data is, delivered)``."""

        def hop(link, sender: str, receiver: str):
            delivered = yield from self._send(link, sender, receiver, size_bytes, msg_kind, energy)
            return "delivered" if delivered else "failed"

        delivery = yield from send_route(
            self.sim, src, self.route(src, dst), msg_kind, size_bytes, send_hop=hop
        )
        return delivery.at, delivery.status == "delivered"

    def _send(
        self, link, sender: str, receiver: str, size_bytes: int, msg_kind: str, energy: dict[str, float]
    ):
        """One message over one hop: it waits for the sender's radio on this link (one
        transmission at a time), then up to ``1 + retries`` attempts."""
        devices = self.sim.devices
        src, dst = devices[sender], devices[receiver]
        radio = self._radios.get((link.name, sender))
        if radio is None:
            radio = self._radios[(link.name, sender)] = simpy.Resource(self.env, capacity=1)
        airtime_s = size_bytes * 8.0 / link.bandwidth_bps
        self.link_queue_s[link.name] = self.link_queue_s.get(link.name, 0.0) + airtime_s
        try:
            with radio.request() as turn:
                yield turn
                msg_id = self.sim.next_message_id()
                bits = size_bytes * 8.0
                for attempt in range(1, self.retries + 2):
                    if not link.up or not src.on:
                        return False
                    receiver_on = dst.on
                    status = yield from link.attempt(src, msg_kind, size_bytes, attempt, msg_id)
                    if status == "down":
                        return False
                    energy[sender] = energy.get(sender, 0.0) + bits * link.tx_j_per_bit
                    if receiver_on:
                        energy[receiver] = energy.get(receiver, 0.0) + bits * link.rx_j_per_bit
                    if status == "delivered":
                        return True
                return False
        finally:
            self.link_queue_s[link.name] -= airtime_s
