"""Where a stage runs (the one place that decides it), and the switching policy that moves
a camera's chains to local decisions: the camera probes its round trip to the hub on the
device clock and, above ``rtt_limit_s`` or with the link down, its chains decide with its
light variant; when a device leaves, its stages move to their ``fallback`` or the chain is
reported broken."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import simulator.apps.smart_home.chains as chain_schema
from simulator.apps.smart_home.records import PolicyChange

if TYPE_CHECKING:
    from simulator.apps.smart_home.state import HomeState

PROBE_BYTES = 64


class Where:
    """Which device runs a stage now (see module docstring)."""

    def __init__(self, home: HomeState) -> None:
        self.home = home
        self._local: dict[str, bool] = {}  # camera → deciding locally (switching)
        self._lost_probes: dict[str, int] = {}

    def place(self, chain: dict, stage: dict, upstream: str | None = None) -> str | None:
        """The device stage ``stage`` of ``chain`` runs on now, given the device its input
        comes from (``None``: it cannot run). The one place that decides it: a placement
        policy can replace this method. Here: the stage's device; its ``fallback`` when the
        device has left or is off, or when switching says the link from ``upstream`` to it
        is too slow (round trip above ``rtt_limit_s``) or down."""
        device = self.home.device(stage["device"])
        fallback = stage["fallback"]
        if fallback is not None:
            if not (device.present and device.on):
                return (
                    fallback if self.home.device(fallback).present and self.home.device(fallback).on else None
                )
            if self.home.params["switching"] and upstream == fallback and self._local.get(upstream, False):
                return fallback
        return stage["device"] if device.present and device.on else None

    def switching_cameras(self) -> list[str]:
        return sorted(
            {
                s["fallback"]
                for c in self.home.chains
                for s in c["stages"]
                if s["fallback"] and self.home.params["switching"]
            }
        )

    def probe(self, camera: str):
        """The camera measures its round trip to the hub (ping, pong) every
        ``probe_period_s`` while awake, and switches its chains to local decisions above
        ``rtt_limit_s`` or when the link is down; back when it recovers."""
        cam = self.home.device(camera)
        period = self.home.params["probe_period_s"]
        while True:
            yield self.home.env.timeout(period)
            if not (cam.present and cam.on) or (
                camera in self.home.pir_cameras and camera not in self.home.awake_since
            ):
                continue
            yield from self.measure_rtt(camera)

    def measure_rtt(self, camera: str):
        """One probe (ping to the hub, pong back). A probe answered slower than
        ``rtt_limit_s`` switches the camera's chains to local decisions at once; lost
        probes only after two in a row (one loss is Wi-Fi as usual); a fast answer
        switches back."""
        cam = self.home.device(camera)
        started = self.home.env.now
        status = yield from self.home.send(camera, self.home.params["hub"], "probe", PROBE_BYTES, retries=0)
        if status == "delivered":
            status = yield from self.home.send(
                self.home.params["hub"], camera, "probe", PROBE_BYTES, retries=0
            )
        rtt_s = self.home.env.now - started if status == "delivered" else float("inf")
        lost = self._lost_probes[camera] = (
            0 if status == "delivered" else self._lost_probes.get(camera, 0) + 1
        )
        local = rtt_s > self.home.params["rtt_limit_s"]
        if status != "delivered" and lost < 2:
            return
        if local != self._local.get(camera, False):
            self._local[camera] = local
            why = f"round trip {rtt_s * 1e3:.0f} ms" if np.isfinite(rtt_s) else "probes to the hub lost"
            state = "local" if local else "hub"
            limit = f"{self.home.params['rtt_limit_s'] * 1e3:g} ms"
            detail = f"{why} {'>' if local else '≤'} {limit}: " + (
                "decide with the camera's light variant" if local else "the hub confirms again"
            )
            self.home.sim.trace.append(
                PolicyChange(self.home.env.now, self.home.name, cam.name, "switching", state, detail)
            )
            self.home.fire("switched_local" if local else "switched_hub")

    def on_leave(self, device: str, at_s: float):
        if at_s > self.home.env.now:
            yield self.home.env.timeout(at_s - self.home.env.now)
        yield self.home.env.timeout(0.0)
        self.home.deployment.leave(device)
        for chain in self.home.chains:
            for stage in chain["stages"]:
                if stage["device"] != device:
                    continue
                if stage["trigger"] in chain_schema.SOURCE_TRIGGERS:
                    state, detail = "broken", f"its sensor {device} left: the chain stops"
                elif stage["fallback"] and self.home.device(stage["fallback"]).present:
                    state, detail = "re-homed", f"stage {stage['id']} moves to {stage['fallback']}"
                else:
                    state, detail = "broken", f"stage {stage['id']} had only {device}"
                self.home.sim.trace.append(
                    PolicyChange(
                        self.home.env.now, self.home.name, device, f"chain {chain['name']}", state, detail
                    )
                )
                if state == "broken":
                    self.home.fire("chain_broken")
