"""The state the federated protocol keeps, at the bottom of the package: who the clients
are and how they reach the server (:class:`Client`), a round in flight (:class:`Round`)
and a protocol phase's barrier (:class:`Barrier`). No engine logic: the server
(:mod:`.server`), the client steps (:mod:`.client`) and the privacy layers
(:mod:`.privacy`) read and write these.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

if TYPE_CHECKING:
    from simulator.devices import Device
    from simulator.network import Link

IDLE_STATES = ("idle", "sleep")
CONTROL_BYTES = 256  # a protocol message's envelope (ids, round, lengths)
# The steps of a client's round at which it may drop out (see server.plan_dropout).
DROP_STEPS = ("check_in", "after_download", "after_training", "before_upload")
DROP_STEPS_SECAGG = (
    "check_in",
    "after_download",
    "after_keys",
    "after_shares",
    "after_training",
    "before_upload",
)


@dataclass(eq=False)
class Client:
    """One client device and its way to the server: through ``relay`` (its phone, over
    ``ble``) or directly (``relay`` ``None``), then over a home link or a cellular one."""

    index: int
    device: Device
    relay: Device | None
    ble: Link | None  # client–relay link
    home_links: list  # relay (or client) – server over Wi-Fi / broadband
    cell_links: list  # relay (or client) – server over LTE
    examples: int = 0
    expected_s: float = 0.0
    tier: int = 0
    busy: bool = False

    @property
    def sender(self) -> Device:
        """The device that talks to the server (and does the client's crypto)."""
        return self.relay if self.relay is not None else self.device

    def devices(self) -> list[Device]:
        return [self.device] + ([self.relay] if self.relay is not None else [])


@dataclass(eq=False)
class Barrier:
    """A protocol phase: fires when every expected client arrived (or left)."""

    env: simpy.Environment
    expected: set
    arrived: set = field(default_factory=set)
    event: simpy.Event | None = None

    def __post_init__(self) -> None:
        self.event = self.env.event()
        self.check()

    def arrive(self, key: int) -> None:
        self.arrived.add(key)
        self.check()

    def leave(self, key: int) -> None:
        self.expected.discard(key)
        self.check()

    def check(self) -> None:
        if not self.event.triggered and self.expected <= self.arrived:
            self.event.succeed()


@dataclass(eq=False)
class Round:
    """A round in flight (sync), or the clients that started from one version (async).
    ``secure`` is the privacy layer's per-round state (``None`` without one)."""

    number: int
    version: int
    weights: np.ndarray
    started_s: float
    selected: list
    done: simpy.Event
    pending: set = field(default_factory=set)
    closed: bool = False
    updates: list = field(default_factory=list)  # (client, Update)
    stages: dict = field(default_factory=dict)  # client index → last stage recorded
    drop_at: dict = field(default_factory=dict)  # client index → the step it drops out at
    secure: Any = None

    def check_done(self) -> None:
        if not self.pending and not self.done.triggered:
            self.done.succeed()


def new_window(start_s: float = 0.0) -> Counter:
    """What happened since the last aggregation: counts (selected, stragglers, dropped,
    offline, recovered), the privacy layers' device time and the trace index it starts at."""
    return Counter(window_start_s=start_s)
