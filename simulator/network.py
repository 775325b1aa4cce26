"""Links between devices: BLE, Wi-Fi and WAN with latency, bandwidth, loss, energy per bit
at both ends, an optional radio tail (LTE) and outages.

A transfer takes ``latency + bits / bandwidth``; the sender's radio draws
``tx_j_per_bit × bandwidth`` and the receiver's ``rx_j_per_bit × bandwidth`` during the
airtime, so each end spends exactly its energy per bit. Each attempt is lost with the
link's loss probability (its own RNG stream). What to do when a link is down or a message
is lost (wait, retry, give up, fall back) is the app's policy: see :meth:`Link.send`.

Routing and multi-hop sending are one service for every app: :func:`shortest_route` finds
the fewest-hop route over any links (scenario pairs at load, a placement policy's view,
the live links), :func:`route_now` the route over the links up now between devices in the
home, and :func:`send_route` / :func:`send` carry bytes along a route hop by hop (store and
forward), each hop through :meth:`Link.send` (or a sender of the app's own) so that both
radios draw their energy on the devices.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import simpy

from simulator.trace import LinkState, Message

if TYPE_CHECKING:
    from simulator.devices import Device
    from simulator.engine import Simulation


L = TypeVar("L")


def link_ends(link: Any) -> tuple[str, str]:
    """The device names a link joins: a link is a pair of names, a scenario mapping with
    ``a``/``b``, or anything with ``a``/``b`` attributes (names or devices)."""
    if isinstance(link, tuple):
        return link[0], link[1]
    if isinstance(link, dict):
        return link["a"], link["b"]
    a, b = link.a, link.b
    return (a if isinstance(a, str) else a.name, b if isinstance(b, str) else b.name)


def shortest_route(links: Iterable[L], src: str, dst: str) -> list[tuple[L, str, str]] | None:
    """The fewest-hop route from ``src`` to ``dst`` over ``links`` (see :func:`link_ends`)
    as ``[(link, sender, receiver), ...]``: ``[]`` when they are one device, ``None`` when
    no chain of links joins them. Breadth first; ties go to the link listed first."""
    if src == dst:
        return []
    listed = [(link, *link_ends(link)) for link in links]
    previous: dict[str, tuple[L, str]] = {}
    frontier = [src]
    seen = {src}
    while frontier:
        following = []
        for node in frontier:
            for link, a, b in listed:
                if node not in (a, b):
                    continue
                other = b if node == a else a
                if other in seen:
                    continue
                seen.add(other)
                previous[other] = (link, node)
                if other == dst:
                    hops = []
                    while other != src:
                        used, sender = previous[other]
                        hops.append((used, sender, other))
                        other = sender
                    return hops[::-1]
                following.append(other)
        frontier = following
    return None


def route_up_first(links: Iterable[L], src: str, dst: str) -> list[tuple[L, str, str]] | None:
    """The fewest hops over the links that are up (``link.up``), else over all of them (a
    send along it then stops at the first link down)."""
    links = list(links)
    return shortest_route([link for link in links if link.up], src, dst) or shortest_route(links, src, dst)


def route_now(sim: Simulation, src: str, dst: str) -> list[tuple[Link, str, str]] | None:
    """The fewest-hop route over the links up now between devices in the home."""
    up = [link for link in sim.links.values() if link.up and link.a.present and link.b.present]
    return shortest_route(up, src, dst)


class Delivery(NamedTuple):
    """How a multi-hop send ended: ``status`` ``delivered`` or the failing hop's (``down``,
    ``lost``, ``failed``), and the device the bytes reached (``dst`` when delivered)."""

    status: str
    at: str


# One hop: (link, sending device name, receiving device name) → a generator returning a status.
HopSender = Callable[["Link", str, str], Generator[Any, Any, str]]
# Told of each hop when it ended: (link, sender, receiver, start time, status).
HopListener = Callable[["Link", str, str, float, str], None]


def send_route(
    sim: Simulation,
    src: str,
    hops: list[tuple[Link, str, str]] | None,
    msg_kind: str,
    size_bytes: int,
    *,
    retries: int = 3,
    send_hop: HopSender | None = None,
    on_hop: HopListener | None = None,
) -> Generator[simpy.Event, Any, Delivery]:
    """Carry ``size_bytes`` from ``src`` along ``hops`` (a route; ``None``: no route, the
    send is ``down``), store and forward, stopping at the first hop that fails (a SimPy
    process generator: ``yield from``). Each hop is ``link.send(sender, msg_kind,
    size_bytes, retries=retries)`` unless the app passes its own ``send_hop``."""
    if hops is None:
        return Delivery("down", src)
    where = src
    for link, sender, receiver in hops:
        started = sim.env.now
        if send_hop is None:
            status = yield from link.send(sim.devices[sender], msg_kind, size_bytes, retries=retries)
        else:
            status = yield from send_hop(link, sender, receiver)
        if on_hop is not None:
            on_hop(link, sender, receiver, started, status)
        if status != "delivered":
            return Delivery(status, where)
        where = receiver
    return Delivery("delivered", where)


def send(
    sim: Simulation,
    src: str,
    dst: str,
    msg_kind: str,
    size_bytes: int,
    *,
    retries: int = 3,
    on_hop: HopListener | None = None,
) -> Generator[simpy.Event, Any, Delivery]:
    """Send ``size_bytes`` from ``src`` to ``dst`` over the route up now
    (:func:`route_now`), hop by hop with :meth:`Link.send` (see :func:`send_route`)."""
    delivery = yield from send_route(
        sim, src, route_now(sim, src, dst), msg_kind, size_bytes, retries=retries, on_hop=on_hop
    )
    return delivery


class Link:
    """A bidirectional link between devices ``a`` and ``b``."""

    def __init__(
        self, sim: Simulation, name: str, link_type: str, a: Device, b: Device, params: dict[str, Any]
    ):
        self.sim = sim
        self.env = sim.env
        self.name = name
        self.type = link_type
        self.a, self.b = a, b
        self.latency_s = params["latency_s"]
        self.bandwidth_bps = params["bandwidth_bps"]
        self.loss = params["loss"]
        self.tx_j_per_bit = params["tx_j_per_bit"]
        self.rx_j_per_bit = params["rx_j_per_bit"]
        self.tail_s = params["tail_s"]
        self.tail_power_w = params["tail_power_w"]
        self.up = True
        self._nominal: tuple[float, float, float] | None = None  # quality before a degrade
        self._up_event = self.env.event()
        self._rng = sim.rng(f"link:{name}")
        self._tail_generation: dict[str, int] = {}
        self._tx_key, self._rx_key, self._tail_key = f"tx:{name}", f"rx:{name}", f"tail:{name}"
        self._tx_w = self.tx_j_per_bit * self.bandwidth_bps
        self._rx_w = self.rx_j_per_bit * self.bandwidth_bps
        self.messages_sent = 0
        self.bytes_sent = 0

    def other(self, device: Device) -> Device:
        return self.b if device is self.a else self.a

    # -- outages -------------------------------------------------------------------------
    def set_up(self, up: bool, reason: str) -> None:
        if up == self.up:
            return
        self.up = up
        self.sim.trace.append(LinkState(self.env.now, self.name, up, reason))
        if up:
            event, self._up_event = self._up_event, self.env.event()
            event.succeed()

    def degrade(self, reason: str, **quality: float) -> None:
        """Change the link's quality (``latency_s``, ``bandwidth_bps``, ``loss``) from now
        on, e.g. Wi-Fi interference; :meth:`restore` puts the profile's figures back. The
        link stays up; the trace records the change as a ``LinkState`` with the reason."""
        if self._nominal is None:
            self._nominal = (self.latency_s, self.bandwidth_bps, self.loss)
        for name, value in quality.items():
            if value is not None:
                setattr(self, name, float(value))
        self._tx_w = self.tx_j_per_bit * self.bandwidth_bps
        self._rx_w = self.rx_j_per_bit * self.bandwidth_bps
        self.sim.trace.append(LinkState(self.env.now, self.name, self.up, reason))

    def restore(self, reason: str) -> None:
        """Back to the quality before :meth:`degrade`."""
        if self._nominal is None:
            return
        latency_s, bandwidth_bps, loss = self._nominal
        self.degrade(reason, latency_s=latency_s, bandwidth_bps=bandwidth_bps, loss=loss)
        self._nominal = None

    def wait_up(self) -> simpy.Event:
        """An event that fires when the link next comes up (already fired if up)."""
        if self.up:
            event = self.env.event()
            event.succeed()
            return event
        return self._up_event

    # -- transfers -----------------------------------------------------------------------
    def transfer_time_s(self, size_bytes: int) -> float:
        return self.latency_s + size_bytes * 8.0 / self.bandwidth_bps

    def attempt(
        self, src: Device, msg_kind: str, size_bytes: int, attempt: int = 1, msg_id: int | None = None
    ):
        """One transmission attempt (a SimPy process generator); returns its status:
        ``delivered``, ``lost`` (loss, link down, or receiver off) or ``down``."""
        dst = self.other(src)
        if not self.up or not src.on:
            return "down"
        msg_id = msg_id if msg_id is not None else self.sim.next_message_id()
        airtime_s = size_bytes * 8.0 / self.bandwidth_bps
        total_s = self.latency_s + airtime_s
        lost = self._rng.random() < self.loss or not dst.on
        now = self.env.now
        status = "lost" if lost else "delivered"
        self.sim.trace.append(
            Message(
                now,
                src.name,
                dst.name,
                self.name,
                msg_kind,
                size_bytes,
                now + total_s,
                status,
                attempt,
                msg_id,
            )
        )
        self.messages_sent += 1
        self.bytes_sent += size_bytes
        src.add_load(self._tx_key, self._tx_w)
        if dst.on:
            dst.add_load(self._rx_key, self._rx_w)
        yield self.env.timeout(airtime_s)
        src.remove_load(self._tx_key)
        dst.remove_load(self._rx_key)
        self._start_tail(src)
        yield self.env.timeout(self.latency_s)
        if status == "delivered" and not self.up:
            status = "lost"
        return status

    def send(
        self,
        src: Device,
        msg_kind: str,
        size_bytes: int,
        retries: int = 3,
        wait_for_link_s: float = 0.0,
        backoff_s: float = 1.0,
    ) -> Generator[simpy.Event, Any, str]:
        """Send with a policy: wait up to ``wait_for_link_s`` for a down link, retry a lost
        message up to ``retries`` times with exponential backoff. Returns ``delivered``,
        ``down`` (link stayed down) or ``failed`` (retries used up)."""
        msg_id = self.sim.next_message_id()
        for attempt in range(1, retries + 2):
            if not self.up:
                if wait_for_link_s <= 0.0:
                    return "down"
                outcome = yield self.wait_up() | self.env.timeout(wait_for_link_s)
                if not self.up:
                    return "down"
                del outcome
            status = yield from self.attempt(src, msg_kind, size_bytes, attempt, msg_id)
            if status == "delivered":
                return status
            if status == "down" and not src.on:
                return "failed"
            yield self.env.timeout(backoff_s * 2 ** (attempt - 1))
        return "failed"

    def _start_tail(self, src: Device) -> None:
        """LTE-style radio tail: the sender's radio stays in high power after sending."""
        if self.tail_s <= 0.0:
            return
        key = self._tail_key
        generation = self._tail_generation.get(src.name, 0) + 1
        self._tail_generation[src.name] = generation
        src.add_load(key, self.tail_power_w)

        def end_tail(_event: simpy.Event) -> None:
            if self._tail_generation.get(src.name) == generation:
                src.remove_load(key)

        self.env.timeout(self.tail_s).callbacks.append(end_tail)
