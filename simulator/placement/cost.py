"""What a placement costs: device latency and energy of each part plus the link transfers.

A request asks for one inference of a model whose input sits on ``source`` and whose result
is wanted on ``sink``. A :class:`Placement` says where the rest of the network runs
(``target``) and where it is split (``split``): layers ``[0, split)`` run on the source,
the tensor at the split travels the route source → target (one or more links, store and
forward), layers ``[split, n)`` run on the target and the logits travel on to the sink.

Estimates use the one cost function of a card on a device
(:func:`simulator.compute.estimate_card`, on the parts' cards), the queues ahead on each
device and link (the runner's ledger of work it placed there and that has not finished),
and each link's current figures: a hop takes ``latency + bits / bandwidth`` per attempt, expected
``1 / (1 - loss)`` attempts, and costs energy per bit at both ends (plus an LTE-style tail
at the sender). A link that is down, a device that is off or a part that does not fit in
memory makes the placement infeasible (infinite latency).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from models.cards import ModelCard
from simulator.compute import estimate_card
from simulator.network import route_up_first
from simulator.placement.layers import LayerTable
from simulator.profiles import DeviceProfile, link_defaults, load_profile

BOUNDARIES = ("fp32", "int8")


@dataclass(frozen=True)
class Request:
    """One inference to place: ``card`` is the variant hosted where the input is (``source``)."""

    id: int
    t_s: float  # when the input was ready
    source: str
    card: ModelCard
    table: LayerTable
    deadline_s: float  # the result must reach the sink within this after t_s
    sink: str = ""  # where the result is needed ("" = the source)
    targets: tuple[str, ...] = ()  # devices work may be offloaded to
    boundary: str = "fp32"  # how the split tensor is sent: fp32 or int8

    @property
    def model(self) -> str:
        return self.card.model

    @property
    def result_at(self) -> str:
        return self.sink or self.source


@dataclass(frozen=True)
class Placement:
    """Run layers ``[0, split)`` on the request's source and ``[split, n)`` on ``target``.
    ``split = n_layers`` (or ``target`` = the source) is all-local; ``split = 0`` sends the input."""

    target: str
    split: int

    def is_local(self, request: Request) -> bool:
        return self.target == request.source or self.split >= request.table.n_layers


@dataclass(frozen=True)
class DeviceStatus:
    """A device as a placement decision sees it."""

    name: str
    kind: str
    profile: DeviceProfile
    on: bool
    state_of_charge: float  # 1.0 for mains devices
    has_battery: bool
    backlog_s: float  # placed compute not finished yet (s of device time)


@dataclass(frozen=True)
class LinkStatus:
    """A link's figures now (bandwidth may vary during a run)."""

    name: str
    type: str
    a: str
    b: str
    up: bool
    bandwidth_bps: float
    latency_s: float
    loss: float
    tx_j_per_bit: float
    rx_j_per_bit: float
    tail_s: float = 0.0
    tail_power_w: float = 0.0
    queued_s: float = 0.0  # airtime of messages already waiting for or using the link

    @property
    def rtt_s(self) -> float:
        return 2.0 * self.latency_s


@dataclass
class State:
    """Devices and links at the time of a decision; :meth:`route` finds the links between two
    devices (fewest hops, whatever their state)."""

    now_s: float
    devices: dict[str, DeviceStatus]
    links: dict[str, LinkStatus]
    _routes: dict = field(default_factory=dict, repr=False)

    def route(self, src: str, dst: str) -> list[tuple[LinkStatus, str, str]] | None:
        """``[(link, sender, receiver), ...]`` from ``src`` to ``dst``: the fewest hops over
        links that are up, else over all links (a down one makes it infeasible); ``[]`` when
        equal, ``None`` when no chain of links joins them."""
        key = (src, dst)
        if key not in self._routes:
            self._routes[key] = route_up_first(self.links.values(), src, dst)
        return self._routes[key]


@dataclass(frozen=True)
class Estimate:
    """Expected latency (arrival to result at the sink) and energy of one placement."""

    placement: Placement
    latency_s: float  # math.inf when infeasible
    energy_j: dict[str, float]  # per device: compute bursts, radio, radio tail
    battery_j: float  # the part of energy_j drawn from batteries
    sent_bytes: int  # the split tensor (not the result)
    reason: str = ""  # why it is infeasible

    @property
    def feasible(self) -> bool:
        return math.isfinite(self.latency_s)

    @property
    def total_j(self) -> float:
        return sum(self.energy_j.values())


def hop_time_s(link: LinkStatus, size_bytes: int) -> float:
    """Expected time of one hop with retransmissions of lost attempts."""
    attempts = 1.0 / (1.0 - link.loss)
    return attempts * (link.latency_s + size_bytes * 8.0 / link.bandwidth_bps)


def _add(energy: dict[str, float], device: str, joules: float) -> None:
    energy[device] = energy.get(device, 0.0) + joules


def _route_cost(state: State, src: str, dst: str, size_bytes: int, energy: dict[str, float]):
    """Expected time of sending ``size_bytes`` from src to dst (adds energy); (inf, reason)
    when the route is missing or down."""
    route = state.route(src, dst)
    if route is None:
        return math.inf, f"no link joins {src} and {dst}"
    total_s = 0.0
    for link, sender, receiver in route:
        if not link.up:
            return math.inf, f"link {link.name} is down"
        if not state.devices[receiver].on:
            return math.inf, f"{receiver} is off"
        attempts = 1.0 / (1.0 - link.loss)
        bits = size_bytes * 8.0 * attempts
        total_s += link.queued_s + hop_time_s(link, size_bytes)
        _add(energy, sender, bits * link.tx_j_per_bit + link.tail_s * link.tail_power_w)
        _add(energy, receiver, bits * link.rx_j_per_bit)
    return total_s, ""


# (profile file, model, part variant, bytes) -> CostEstimate: a part's cost never changes.
_costs: dict[tuple, object] = {}


def _compute(state: State, device: str, card: ModelCard, energy: dict[str, float]):
    """(latency incl. queue, reason) of running ``card`` on ``device``; adds its energy."""
    status = state.devices[device]
    if not status.on:
        return math.inf, f"{device} is off"
    key = (status.profile.path, card.model, card.variant, card.bytes)
    cost = _costs.get(key)
    if cost is None:
        cost = _costs[key] = estimate_card(status.profile, card)
    if not cost.fits_memory:
        return math.inf, f"{card.variant} does not fit {device}'s memory"
    _add(energy, device, cost.energy_j)
    return status.backlog_s + cost.latency_s, ""


def estimate(request: Request, placement: Placement, state: State) -> Estimate:
    """The expected cost of ``placement`` for ``request`` in ``state`` (see the module docstring)."""
    table, card = request.table, request.card
    n = table.n_layers
    local = placement.is_local(request)
    split = n if local else placement.split
    target = request.source if local else placement.target
    energy: dict[str, float] = {}
    latency_s, reason, sent = 0.0, "", 0
    steps = []
    if split > 0:
        steps.append(lambda: _compute(state, request.source, table.part_card(card, 0, split), energy))
    if not local:
        sent = table.boundary_bytes(split, request.boundary)
        steps.append(lambda: _route_cost(state, request.source, target, sent, energy))
        steps.append(lambda: _compute(state, target, table.part_card(card, split, n), energy))
    if target != request.result_at:
        result_bytes = table.boundary_bytes(n)
        steps.append(lambda: _route_cost(state, target, request.result_at, result_bytes, energy))
    for step in steps:
        seconds, reason = step()
        latency_s += seconds
        if reason:
            latency_s = math.inf
            break
    battery_j = sum(j for d, j in energy.items() if state.devices[d].has_battery)
    return Estimate(Placement(target, split), latency_s, energy, battery_j, sent, reason)


def options(request: Request) -> list[Placement]:
    """Every distinct placement: all-local, then each target at each split ``0..n-1``."""
    n = request.table.n_layers
    found = [Placement(request.source, n)]
    for target in request.targets:
        if target != request.source:
            found.extend(Placement(target, k) for k in range(n))
    return found


def estimates(request: Request, state: State) -> list[Estimate]:
    """:func:`estimate` of every option of ``request``."""
    return [estimate(request, placement, state) for placement in options(request)]


def static_state(
    devices: dict[str, str],
    links: list[tuple[str, str, str, str, dict]],
    state_of_charge: dict[str, float] | None = None,
) -> State:
    """A state from profiles and link types alone (no simulation): ``devices`` name → profile
    name, ``links`` ``(name, type, a, b, overrides)`` over ``simulator/profiles/links.yaml``."""

    soc = state_of_charge or {}
    statuses = {}
    for name, profile_name in devices.items():
        profile = load_profile(profile_name)
        battery = profile.battery is not None
        statuses[name] = DeviceStatus(name, profile.kind, profile, True, soc.get(name, 1.0), battery, 0.0)
    link_rows = {}
    for name, link_type, a, b, overrides in links:
        figures = {**link_defaults()[link_type], **overrides}
        link_rows[name] = LinkStatus(
            name,
            link_type,
            a,
            b,
            True,
            figures["bandwidth_bps"],
            figures["latency_s"],
            figures["loss"],
            figures["tx_j_per_bit"],
            figures["rx_j_per_bit"],
            figures["tail_s"],
            figures["tail_power_w"],
        )
    return State(0.0, statuses, link_rows)
