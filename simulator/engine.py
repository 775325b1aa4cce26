"""The Simulation: a SimPy environment, seeded RNG streams, devices, links, apps, a trace.

Build it from a scenario file (``Simulation.from_file``) or dict, then ``run()`` it or
``advance(until_s, budget_s)`` it in slices (the GUI does). Same scenario + seed gives an
identical trace, however it is sliced.
"""

from __future__ import annotations

import gc
import json
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from models.cards import find_card
from simulator.apps import App, app_class
from simulator.battery import make_battery
from simulator.devices import Device
from simulator.network import Link
from simulator.profiles import link_defaults, load_profile
from simulator.runs import summarize_trace
from simulator.scenario import absent_at_start, load_scenario, validate
from simulator.trace import BatterySample, Narration, Trace

_DEFAULT_RING_RADIUS = 1.0


def _position(dspec: dict[str, Any], i: int, n: int) -> tuple[float, float]:
    """A device's place in the topology: the scenario's, else a ring in scenario order."""
    if dspec.get("position"):
        return tuple(dspec["position"])
    angle = 2 * np.pi * i / max(n, 1)
    return (
        round(_DEFAULT_RING_RADIUS * float(np.cos(angle)), 4),
        round(_DEFAULT_RING_RADIUS * float(np.sin(angle)), 4),
    )


def initial_meta(spec: dict[str, Any], seed: int | None = None) -> dict[str, Any]:
    """The trace meta a run of the validated scenario ``spec`` starts with (the devices in
    the home at t = 0, links, apps with their params); cheap: the GUI draws the house from
    it while the models load."""
    absent = absent_at_start(spec)
    devices = {}
    for i, dspec in enumerate(spec["devices"]):
        if dspec["name"] in absent:
            continue  # it appears in the trace when it joins
        profile = load_profile(dspec["profile_path"])
        battery = profile.battery
        over = dspec["battery"] or {}
        devices[dspec["name"]] = {
            "kind": profile.kind,
            "profile": profile.name,
            "capacity_wh": (over.get("capacity_wh") or battery["capacity_wh"]) if battery else None,
            "battery_model": (over.get("model") or battery["model"]) if battery else None,
            "position": list(_position(dspec, i, len(spec["devices"]))),
            "models": [{"model": m, "variant": v} for m, v in dspec["models"].items()],
        }
    return {
        "scenario": spec["name"],
        "scenario_file": spec.get("file", ""),
        "description": spec["description"],
        "seed": int(spec["seed"] if seed is None else seed),
        "sim_time_s": float(spec["duration"]),
        "devices": devices,
        "links": {ln["name"]: {"type": ln["type"], "a": ln["a"], "b": ln["b"]} for ln in spec["links"]},
        # JSON round trip: the same params whether read live or from a saved trace
        "apps": [
            {"type": a["type"], "name": a["name"], "params": json.loads(json.dumps(a["params"]))}
            for a in spec["apps"]
        ],
    }


class Simulation:
    """A runnable scenario. See the module docstring."""

    def __init__(self, spec: dict[str, Any], seed: int | None = None) -> None:
        self.spec = spec
        self.seed = int(spec["seed"] if seed is None else seed)
        self.duration_s = float(spec["duration"])
        self.env = simpy.Environment()
        self.events_processed = 0
        self.wall_s = 0.0
        self.finished = False
        self._rngs: dict[str, np.random.Generator] = {}
        self._message_id = 0
        self.trace = Trace(initial_meta(spec, self.seed))
        self.devices: dict[str, Device] = {}
        self.links: dict[str, Link] = {}
        self.apps: list[App] = []
        self._narrate_on: dict[str, list[str]] = {}
        self._build()
        freeze_startup_objects_once()

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_file(
        cls,
        path: str | Path,
        seed: int | None = None,
        overrides: dict[str, Any] | None = None,
        extra_events: list[dict] | None = None,
        extra_devices: list[dict] | None = None,
        extra_links: list[dict] | None = None,
    ) -> Simulation:
        """Load, validate and build a scenario file; raises ``SpecError`` on bad input.
        ``extra_*`` append what-if additions (a device that joins, its link) to the file's."""
        return cls(load_scenario(path, overrides, extra_events, extra_devices, extra_links), seed)

    @classmethod
    def from_dict(
        cls,
        raw: dict[str, Any],
        seed: int | None = None,
        overrides: dict[str, Any] | None = None,
        extra_events: list[dict] | None = None,
        source: str = "<scenario>",
        extra_devices: list[dict] | None = None,
        extra_links: list[dict] | None = None,
    ) -> Simulation:
        """Like :meth:`from_file` for a scenario already in memory."""
        from simulator.scenario import add_extras, apply_overrides

        raw = apply_overrides(raw, overrides or {}, source)
        raw = add_extras(raw, source, extra_events, extra_devices, extra_links)
        spec = validate(raw, source)
        spec["file"] = source
        return cls(spec, seed)

    @staticmethod
    def prepare(run: dict[str, Any]) -> dict[str, Any]:
        """The validated scenario a run spec describes: ``scenario_file`` or ``scenario`` (a
        dict), with ``overrides`` and ``extra_events``/``extra_devices``/``extra_links``
        (what-if edits); ``SpecError`` on bad input. The one validation of a run."""
        extras = [run.get(key) or None for key in ("extra_events", "extra_devices", "extra_links")]
        overrides = run.get("overrides") or None
        if run.get("scenario") is not None:
            from simulator.scenario import add_extras, apply_overrides

            source = "<scenario>"
            raw = apply_overrides(run["scenario"], overrides or {}, source)
            spec = validate(add_extras(raw, source, *extras), source)
            spec["file"] = source
            return spec
        return load_scenario(run["scenario_file"], overrides, *extras)

    @classmethod
    def from_run(cls, run: dict[str, Any], spec: dict[str, Any] | None = None) -> Simulation:
        """Build the simulation of a run spec (see :meth:`prepare`; ``spec``: its validated
        scenario when already prepared, so nothing is validated twice)."""
        return cls(cls.prepare(run) if spec is None else spec, run.get("seed"))

    def _build(self) -> None:
        specs = self.spec["devices"]
        absent = absent_at_start(self.spec)
        for i, dspec in enumerate(specs):
            profile = load_profile(dspec["profile_path"])
            battery = None
            if profile.battery is not None:
                over = dspec["battery"] or {}
                model = over.get("model") or profile.battery["model"]
                params = (
                    {"c": profile.battery["kibam_c"], "k_per_s": profile.battery["kibam_k_per_s"]}
                    if model == "kibam"
                    else {}
                )
                battery = make_battery(
                    model,
                    over.get("capacity_wh") or profile.battery["capacity_wh"],
                    1.0 if over.get("state_of_charge") is None else over["state_of_charge"],
                    profile.battery["voltage_v"],
                    **params,
                )
            position = _position(dspec, i, len(specs))
            device = Device(
                self,
                dspec["name"],
                profile,
                battery,
                position,
                dspec["state"],
                models={m: find_card(m, v) for m, v in dspec["models"].items()},
                present=dspec["name"] not in absent,
            )
            self.devices[device.name] = device
        defaults = link_defaults()
        for lspec in self.spec["links"]:
            params = dict(defaults[lspec["type"]])
            params.update({k: v for k, v in lspec.items() if k in params and v is not None})
            link = Link(
                self, lspec["name"], lspec["type"], self.devices[lspec["a"]], self.devices[lspec["b"]], params
            )
            self.links[link.name] = link
            missing = [d.name for d in (link.a, link.b) if not d.present]
            if missing:
                link.set_up(False, f"{missing[0]} not in the home yet")
        for step in self.spec["narration"]:
            if step["at"] is not None:
                self.env.process(self._narrate_at(step["at"], step["text"]))
            else:
                self._narrate_on.setdefault(step["on"], []).append(step["text"])
        for event in self.spec["events"]:
            self.env.process(self._scheduled_event(event))
        for i, aspec in enumerate(self.spec["apps"]):
            cls = app_class(aspec["type"])
            self.apps.append(cls(self, aspec["name"], aspec["params"], f"apps[{i}]"))
        for app in self.apps:
            app.start()
        self.env.process(self._finish())

    # -- services for devices and apps -------------------------------------------------
    def rng(self, stream: str) -> np.random.Generator:
        """The RNG of a named stream; streams are independent, so adding a device does
        not change another device's randomness."""
        rng = self._rngs.get(stream)
        if rng is None:
            rng = self._rngs[stream] = self.new_rng(stream)
        return rng

    def new_rng(self, stream: str) -> np.random.Generator:
        """A fresh RNG at the start of stream ``stream`` (not shared: for one-off draws
        that must not depend on what was drawn before, e.g. one capture's noise)."""
        return np.random.default_rng([self.seed, zlib.crc32(stream.encode())])

    def spec_device(self, name: str) -> dict[str, Any]:
        """The scenario entry of device ``name``."""
        return next(d for d in self.spec["devices"] if d["name"] == name)

    def next_message_id(self) -> int:
        self._message_id += 1
        return self._message_id

    def fire(self, hook: str, app: str | None = None) -> None:
        """A generic hook (an app's stage): show the narration anchored to it, once
        (``on: hook``, or ``on: <app>.hook`` for one app of several)."""
        for key in (hook, f"{app}.{hook}") if app else (hook,):
            texts = self._narrate_on.pop(key, None)
            if texts:
                for text in texts:
                    self.trace.append(Narration(self.env.now, text))

    def link_between(self, a: str, b: str) -> Link | None:
        """The first link joining devices ``a`` and ``b`` (either direction), if any."""
        for link in self.links.values():
            if {link.a.name, link.b.name} == {a, b}:
                return link
        return None

    def links_of(self, device: str) -> list[Link]:
        return [link for link in self.links.values() if device in (link.a.name, link.b.name)]

    def app(self, name: str) -> App:
        """The app named ``name``."""
        return next(a for a in self.apps if a.name == name)

    @property
    def now(self) -> float:
        return float(self.env.now)

    # -- running -------------------------------------------------------------------------
    def advance(self, until_s: float, budget_s: float | None = None) -> bool:
        """Process events up to simulated time ``until_s`` or until ``budget_s`` seconds of
        wall time are spent. Returns True once the whole scenario has finished."""
        env = self.env
        step = env.step
        peek = env.peek
        limit = min(until_s, self.duration_s)
        start = time.perf_counter()
        deadline = start + budget_s if budget_s is not None else None
        processed = 0
        try:
            while not self.finished and peek() <= limit:
                step()
                processed += 1
                if deadline is not None and (processed & 63) == 0 and time.perf_counter() > deadline:
                    break
        finally:
            self.events_processed += processed
            self.wall_s += time.perf_counter() - start
        return self.finished

    def run(self, until: float | None = None, progress: Callable[[float], None] | None = None) -> Simulation:
        """Run to ``until`` seconds (default: the scenario's duration); ``progress`` gets the
        simulated time now and then."""
        until_s = self.duration_s if until is None else min(float(until), self.duration_s)
        if progress is None:
            self.advance(until_s)
        else:
            while not self.finished and self.env.peek() <= until_s:
                self.advance(until_s, budget_s=0.1)
                progress(self.now)
            progress(until_s)
        return self

    def summary(self) -> dict[str, Any]:
        """Headline metrics of the run so far (see README: summary.json), from the trace
        (:func:`simulator.runs.summarize_trace`) once the end gauges are read into it."""
        self.read_end_gauges()
        return summarize_trace(self.trace, {app.name: app for app in self.apps})

    def read_end_gauges(self) -> None:
        """Write the run's end into ``trace.meta["end"]``: simulated time, events, wall time
        and each device's battery gauge, energy meter and on/off (what a summary needs that
        the records do not replay). Called by :meth:`summary` and before a trace is saved."""
        self.trace.meta["end"] = {
            "sim_time_s": self.duration_s if self.finished else self.now,
            "events": self.events_processed,
            "wall_s": round(self.wall_s, 3),
            "devices": {
                name: {
                    "kind": device.kind,
                    "profile": device.profile.name,
                    "soc": device.state_of_charge,
                    "energy_j": device.energy_now_j(),
                    "on": device.on,
                }
                for name, device in self.devices.items()
            },
        }

    # -- processes -----------------------------------------------------------------------
    def _narrate_at(self, at_s: float, text: str):
        yield self.env.timeout(at_s)
        self.trace.append(Narration(self.env.now, text))

    def _scheduled_event(self, event: dict[str, Any]):
        yield self.env.timeout(event["at"])
        self._apply_event(event, start=True)
        if event["until"] is not None:
            yield self.env.timeout(event["until"] - event["at"])
            self._apply_event(event, start=False)

    def _apply_event(self, event: dict[str, Any], start: bool) -> None:
        kind = event["type"]
        reason = event["reason"] or kind.replace("_", " ")
        if not start:
            reason = f"end of {reason}"
        if kind == "link_degrade":
            link = self.links[event["link"]]
            if start:
                quality = {k: event[k] for k in ("latency_s", "bandwidth_bps", "loss")}
                shown = ", ".join(f"{k} {v:g}" for k, v in quality.items() if v is not None)
                link.degrade(f"{reason}: {shown}", **quality)
            else:
                link.restore(reason)
            return
        if kind in ("link_down", "link_up"):
            up = (kind == "link_up") == start
            self.links[event["link"]].set_up(up, reason)
            return
        device = self.devices[event["device"]]
        if kind in ("device_join", "device_leave"):
            self.join(device, reason) if (kind == "device_join") == start else self.leave(device, reason)
        elif kind in ("device_off", "device_on"):
            on = (kind == "device_on") == start
            device.switch_on(reason) if on else device.switch_off(reason)
        else:
            charge = (kind == "charge_start") == start
            device.start_charging() if charge else device.stop_charging()

    def join(self, device: Device, reason: str = "joined") -> None:
        """``device`` enters the home: it is drawn from now on, its links come up and the
        models it brings are recorded as deployed."""
        if device.present:
            return
        device.join(reason)
        for link in self.links_of(device.name):
            if link.a.present and link.b.present:
                link.set_up(True, f"{device.name} joined")

    def leave(self, device: Device, reason: str = "left") -> None:
        """``device`` leaves the home: it switches off and its links go down."""
        if not device.present:
            return
        for link in self.links_of(device.name):
            link.set_up(False, f"{device.name} left")
        device.leave(reason)

    def _finish(self):
        yield self.env.timeout(self.duration_s)
        for device in self.devices.values():
            if not device.present:
                continue
            device._integrate()
            self.trace.append(
                BatterySample(self.env.now, device.name, device.state_of_charge, device.energy_j)
            )
        self.finished = True


_threads_set = False
_frozen = False


def freeze_startup_objects_once() -> None:
    """Move everything alive after the first build (torch, onnxruntime, numpy modules:
    hundreds of thousands of objects that live as long as the process) out of the cyclic
    garbage collector's sight. Otherwise each full collection walks them all, and those
    pauses, not the simulation, dominated the event loop's wall time."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


def torch_threads_once() -> None:
    """One torch thread: on these shared 2-core machines 2 threads ran 4–13× slower.
    For app code that trains with torch itself (the federated app); models run through
    ``models.runtime``, which sets it when it first needs torch, so a run on ONNX Runtime
    models never imports torch."""
    global _threads_set
    if not _threads_set:
        import torch

        torch.set_num_threads(1)
        _threads_set = True
