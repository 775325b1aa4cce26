"""The app contract: what every app implements, and what the engine offers it.

An app is a behaviour installed on devices (health escalation, inference chains, federated
training…), one package ``simulator/apps/<TYPE>/`` found by its folder name (see
:mod:`simulator.apps`); the package exports ``App``, may have ``table.py`` (its CLI table)
and keeps its views in ``ui/apps/<TYPE>/`` and its tests in ``tests/apps/<TYPE>/``.
Importing an app's package must stay light (no torch, no ONNX Runtime): the scenario
loader imports it to validate params, and the trace loader to learn its record types.
Models load in ``__init__``/``start``.

Lifecycle:

1. When the scenario loads, :meth:`App.check_params` validates ``apps[i].params`` against
   :attr:`App.PARAMS` (and the scenario's devices), raising ``SpecError`` that names
   ``apps[i].params.field`` — before anything runs.
2. The simulation builds every app (``App(sim, name, params, where)``), then calls
   :meth:`App.start`, which starts its SimPy processes.
3. The summary calls :meth:`App.summarize` — a pure function of the trace and the app's
   entry in ``trace.meta["apps"]`` (type, name, validated params) — and stores the result
   under ``summary[name]``; ``python main.py summary TRACE`` rebuilds it from a saved
   trace. Anything a metric needs is written to the trace as a record during the run;
   energy and bytes come from the devices' and links' records, never a ledger of the app.

Everything an app draws or records is namespaced by its ``name`` (unique in the scenario,
default its type): RNG streams (:meth:`App.rng`), records (an ``app`` field), episode
numbers and summary keys; so two apps of one type in one home give, each, exactly what
that app gives alone. Views find an app's panel and record display hooks in
``ui/apps/<type>/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import simpy

from simulator.validate import SpecError, check_file

if TYPE_CHECKING:
    from simulator.devices import Device
    from simulator.engine import Simulation
    from simulator.network import Link
    from simulator.trace import Trace


class App:
    """Base class of every app (see the module docstring)."""

    #: registry key in scenarios (``apps[i].type``)
    TYPE: ClassVar[str] = ""
    #: params schema (``simulator.validate`` fields), checked when the scenario loads
    PARAMS: ClassVar[dict[str, Any]] = {}
    #: record kinds this app owns: kind name → NamedTuple class (first field ``t``, second ``app``)
    RECORDS: ClassVar[dict[str, type]] = {}
    #: stage/hook names this app fires, for narration anchored with ``on:``
    HOOKS: ClassVar[tuple[str, ...]] = ()
    #: one-line description for `list` and the GUI
    DESCRIPTION: ClassVar[str] = ""
    #: params that name devices of the scenario (checked at load)
    DEVICE_PARAMS: ClassVar[tuple[str, ...]] = ()
    #: the app name whose RNG streams keep their pre-contract (unprefixed) names, so that
    #: traces recorded before the app contract replay identically (tested against a
    #: stored reference); any other name prefixes its streams with ``name/``
    LEGACY_STREAM_NAME: ClassVar[str | None] = None

    def __init__(self, sim: Simulation, name: str, params: dict[str, Any], where: str) -> None:
        self.sim = sim
        self.env: simpy.Environment = sim.env
        self.name = name
        self.params = params
        self.where = where  # e.g. "apps[0]", for errors found while building
        self.file = sim.spec.get("file", "<scenario>")

    # -- validation (at load, before anything runs) -----------------------------------
    @classmethod
    def check_params(cls, raw: Any, scenario: dict[str, Any], file: str, where: str) -> dict[str, Any]:
        """Validate and normalise ``raw`` params (``where`` is ``apps[i].params``); also
        checks that :attr:`DEVICE_PARAMS` name devices of the scenario. Subclasses add
        cross-field checks by overriding and calling ``super()``."""
        params = check_file(cls.PARAMS, raw or {}, file, where)
        devices = [d["name"] for d in scenario["devices"]]
        for field in cls.DEVICE_PARAMS:
            value = params.get(field)
            if value is not None and value not in devices:
                raise SpecError(
                    f"{file}, {where}.{field}: unknown device {value!r} (devices: {', '.join(devices)})"
                )
        return params

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the app's SimPy processes (called once every app is built)."""
        raise NotImplementedError

    @classmethod
    def summarize(cls, trace: Trace, app: dict[str, Any], end_s: float) -> dict[str, Any]:
        """The headline metrics of the app described by ``app`` (its entry in
        ``trace.meta["apps"]``: ``type``, ``name``, ``params``), counting what happened by
        ``end_s``, from the trace alone; stored under ``summary[app["name"]]``."""
        raise NotImplementedError(f"app type {cls.TYPE!r} has no summarize(trace, app, end_s)")

    def metrics(self, trace: Trace, end_s: float) -> dict[str, Any]:
        """:meth:`summarize` of this app's entry in the trace's meta."""
        entry = next(a for a in trace.meta["apps"] if a["name"] == self.name)
        return type(self).summarize(trace, entry, end_s)

    # -- services: namespaced by the app's name ---------------------------------------
    def stream(self, stream: str) -> str:
        """The simulation-wide name of this app's RNG stream ``stream``."""
        return stream if self.name == self.LEGACY_STREAM_NAME else f"{self.name}/{stream}"

    def rng(self, stream: str) -> np.random.Generator:
        """This app's RNG stream ``stream`` (shared across calls)."""
        return self.sim.rng(self.stream(stream))

    def new_rng(self, stream: str) -> np.random.Generator:
        """A fresh RNG at the start of this app's stream ``stream`` (for one-off draws)."""
        return self.sim.new_rng(self.stream(stream))

    def fire(self, hook: str) -> None:
        """Fire narration anchored to ``hook`` (``on: hook`` or ``on: <app name>.hook``)."""
        self.sim.fire(hook, self.name)

    def device(self, name: str) -> Device:
        return self.sim.devices[name]

    def link_between(self, a: Device, b: Device) -> Link:
        """The link joining devices ``a`` and ``b``; a ``SpecError`` if there is none."""
        link = self.sim.link_between(a.name, b.name)
        if link is None:
            raise SpecError(
                f"{self.file}, {self.where}: the {self.TYPE} app needs a link between {a.name!r} and {b.name!r}"
            )
        return link

    def load_model(self, device: Device, model: str, default_variant: str = "fp32"):
        """The hosted variant of ``model`` on ``device`` as a runtime predictor (real model;
        loads torch / ONNX Runtime on first use). A variant that does not fit the device's
        memory is a ``SpecError`` naming ``devices.<name>.models.<model>``."""
        from models import runtime  # deferred: only a running model needs ONNX Runtime or torch

        variant = device.hosted_variant(model) or default_variant
        try:
            predictor = runtime.load(model, variant)
        except ValueError as exc:
            raise SpecError(f"{self.file}, devices.{device.name}.models.{model}: {exc}") from None
        fit = device.cost(predictor.card)
        if not fit.fits_memory:
            raise SpecError(
                f"{self.file}, devices.{device.name}.models.{model}: {variant} needs "
                f"{fit.memory_needed_bytes:.0f} B, more than the device's {fit.memory_budget_bytes:.0f} B"
            )
        device.models[model] = predictor.card
        return predictor
