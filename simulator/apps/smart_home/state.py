"""What the smart home's rooms share (the bottom floor: it imports none of them): the app's
identity and checked params, the chains' graphs, the cameras, the night once drawn (ground
truth, each sensor's stream) and which cameras are awake; the simulation and the deployment
service are passed in. Each room (:mod:`.world`, :mod:`.verdicts`, :mod:`.where`,
:mod:`.inference`, :mod:`.runs`, :mod:`.sensors`) keeps its own state and takes this."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulator import network

if TYPE_CHECKING:
    import numpy as np

    from simulator.apps.smart_home.ground_truth import Night
    from simulator.apps.smart_home.records import Truth
    from simulator.apps.smart_home.streams import Stream
    from simulator.deploy import Deployment
    from simulator.devices import Device
    from simulator.engine import Simulation


@dataclass
class HomeState:
    """One smart-home app's shared state (see the module docstring)."""

    sim: Simulation
    name: str
    params: dict[str, Any]
    file: str
    where: str
    chains: list[dict[str, Any]]  # with their graphs (:func:`.chains.chain_graph`)
    fire: Callable[[str], None]  # the app's narration hooks
    rng: Callable[[str], np.random.Generator]  # the app's RNG streams
    new_rng: Callable[[str], np.random.Generator]
    deployment: Deployment
    start_clock_s: float
    # (camera, what it sees: the night's "door" or "indoor" sightings, woken by a PIR)
    cameras: list[tuple[str, str, bool]] = field(default_factory=list)
    # the checked ``placement`` of each placed stage, by (chain, stage id)
    placements: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    night: Night | None = None
    truths: list[Truth] = field(default_factory=list)
    truth_id: dict[tuple[str, float, str], int] = field(default_factory=dict)
    streams: dict[str, Stream] = field(default_factory=dict)
    awake_since: dict[str, float] = field(default_factory=dict)  # PIR camera → woke at
    voice_gate: Any = None  # the card of the speaker's gate model (param voice_gate), if one

    @property
    def env(self):
        return self.sim.env

    @property
    def hub(self) -> Device:
        return self.sim.devices[self.params["hub"]]

    @property
    def pir_cameras(self) -> set[str]:
        return {camera for camera, _, pir in self.cameras if pir}

    def device(self, name: str) -> Device:
        return self.sim.devices[name]

    def someone_home(self) -> bool:
        return self.night.home_at(self.env.now)

    def send(
        self, src: str, dst: str, kind: str, size: int, retries: int | None = None, hop=None
    ) -> Generator[Any, Any, str]:
        """Send ``size`` bytes from ``src`` to ``dst`` hop by hop over the links up now
        (:func:`simulator.network.send`; a generator returning the status) with the app's
        ``retries``; ``hop(link, a, b, t0, status)`` records each hop."""
        retries = self.params["retries"] if retries is None else retries
        delivery = yield from network.send(self.sim, src, dst, kind, size, retries=retries, on_hop=hop)
        return delivery.status
