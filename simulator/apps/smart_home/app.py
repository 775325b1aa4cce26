"""The smart-home app: devices join and get models deployed, and inference chains (data in
the scenario, see :mod:`.chains`) run camera → hub → speaker, speaker → hub, watch → phone.

How a night runs:

1. Before the loop (``start``): the night's ground truth is drawn (:mod:`.ground_truth`),
   every sensor's inputs and gate decisions are built (:mod:`.streams`), and each chain's
   model stages run, batched, on the inputs they can receive — the outputs do not depend
   on simulation state, and the cache (:mod:`simulator.cache`) keeps them across runs. Inputs off
   that plan are run on demand, identically.
2. In the loop: each sensor's gated inputs reach their chain's first stage at their time;
   a stage runs its model on its device with ``Device.run`` (queued by the chain's QoS
   priority), checks its condition, and hands its payload to the next stages over the
   links (routed hop by hop); actions are recorded with their end-to-end latency.
3. Join and deploy: when a device that chains need joins, the hub picks a variant per model
   with :func:`simulator.recommend.recommend` (the stage's deadline as the latency budget),
   sends the bytes over the link and deploys it; the device serves from the bytes' arrival.
   When a device leaves, its stages move to their ``fallback`` device or the chain is
   reported broken.
4. Policies on the device clock: a camera probes its round trip to the hub and, above
   ``rtt_limit_s`` or with the link down, its chains decide locally with its light variant
   (:meth:`.where.Where.place`, the one place that says where a stage runs); an alert decided
   below FP32 is re-checked at the highest precision the deciding device holds (emergency
   precision); best-effort batches leave ``reserved_share`` of the accelerator to
   real-time chains.
5. Placement (optional, per model stage: ``placement:``, :mod:`simulator.placement`): a
   policy decides for each input where the stage's layers run — all on its device, the input
   sent to the hub or the cloud, or split at a layer — and a
   :class:`~simulator.placement.runner.PlacementRunner` carries it out on the devices and
   links (``Placed`` records). The result goes to where the chain goes on (the next stages'
   device); a next model stage there takes the input from it when the input itself was sent,
   else from the stage's device (as without placement). A stage without ``placement`` runs
   wholly on its device, exactly as before.

The app is a set of rooms over one shared state (:mod:`.state`): the world (:mod:`.world`),
the models' verdicts (:mod:`.verdicts`), where a stage runs (:mod:`.where`), a stage's
inference (:mod:`.inference`), running a chain (:mod:`.runs`) and the sensors
(:mod:`.sensors`); deployment is the core service :mod:`simulator.deploy`, sending is
:mod:`simulator.network`'s. Its metrics are a function of the trace (:mod:`.metrics`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import simulator.apps.smart_home.ground_truth as ground_truth
import simulator.apps.smart_home.voice_gate as voice_gate
from simulator.apps.base import App
from simulator.apps.smart_home.chains import chain_graph
from simulator.apps.smart_home.inference import StageInference
from simulator.apps.smart_home.metrics import GATE_LOAD, night_facts, summarize
from simulator.apps.smart_home.params import HOOKS, PARAMS_SCHEMA, RATE_DEFAULTS, check_home_params
from simulator.apps.smart_home.records import RECORDS
from simulator.apps.smart_home.runs import ChainRuns
from simulator.apps.smart_home.sensors import Sensors
from simulator.apps.smart_home.state import HomeState
from simulator.apps.smart_home.verdicts import Verdicts
from simulator.apps.smart_home.where import Where
from simulator.apps.smart_home.world import World
from simulator.deploy import Deployment, Need, NoVariantFits
from simulator.validate import SpecError


class SmartHome(App):
    """The smart-home app (see module docstring)."""

    TYPE = "smart_home"
    DESCRIPTION = "devices join and get models; chains run camera → hub → speaker, voice, gesture"
    PARAMS = PARAMS_SCHEMA
    RECORDS = RECORDS
    HOOKS = HOOKS
    DEVICE_PARAMS = ("hub", "phone", "watch", "speaker", "indoor_camera", "doorbell", "cloud")

    @classmethod
    def check_params(cls, raw: Any, scenario: dict[str, Any], file: str, where: str) -> dict[str, Any]:
        return check_home_params(super().check_params(raw, scenario, file, where), scenario, file, where)

    def __init__(self, sim, name: str, params: dict[str, Any], where: str) -> None:
        super().__init__(sim, name, params, where)
        chains = chain_graph(params["chains"])
        cameras = [(params["doorbell"], "door", True), (params["indoor_camera"], "indoor", False)]
        cameras += [(e["device"], e["sees"], e["sees"] == "door") for e in params["extra_cameras"]]
        self.state = state = HomeState(
            sim=sim,
            name=name,
            params=params,
            file=self.file,
            where=where,
            chains=chains,
            fire=self.fire,
            rng=self.rng,
            new_rng=self.new_rng,
            deployment=Deployment(sim, name, params["hub"], self._needs_of, notify=self.fire),
            start_clock_s=ground_truth.clock_s(params["start_clock"], 0.0),
            cameras=cameras,
            placements={
                (c["name"], s["id"]): s["placement"]
                for c in chains
                for s in c["stages"]
                if s.get("placement")
            },
        )
        self.chains = chains
        self.placements = state.placements
        self.deployment = state.deployment
        self.world = World(state)
        self.verdicts = Verdicts(state)
        self.where = Where(state)
        self.inference = StageInference(state, self.verdicts, self.where)
        self.runs = ChainRuns(state, self.inference, self.where)
        self.sensors = Sensors(state, self.runs, self.where, self.verdicts)
        # The home's clock and doorbell, its params and facts (for the summary), and the
        # chains' graphs travel with the trace, so a view can draw them from a saved file.
        self.meta = next(e for e in sim.trace.meta["apps"] if e.get("name") == name)
        self.meta.update(start_clock=params["start_clock"], doorbell=params["doorbell"])
        self.meta.setdefault("params", json.loads(json.dumps(params, default=str)))
        sim.trace.meta.setdefault("chains", {})[name] = [
            {"name": c["name"], "qos": c["qos"], "stages": [_stage_meta(s) for s in c["stages"]]}
            for c in chains
        ]

    def start(self) -> None:
        state, params, env = self.state, self.params, self.env
        rates = {k: params[k] for k in RATE_DEFAULTS}
        state.night = ground_truth.make_night(
            self.rng("night"), self.sim.duration_s, state.start_clock_s, rates
        )
        state.truths = self.world.truths()
        if self.placements:
            self.inference.start()
        self._install_at_start()
        gate = voice_gate.Gate(state) if params["speaker"] in self.sim.devices else None
        state.streams = self.world.build_streams()
        voice = gate.start(state.streams) if gate is not None and gate.facts else None
        self.meta["facts"] = self._facts()
        if voice:
            self.meta["facts"]["voice_gate"] = voice
        self.verdicts.prepare()
        env.process(self.world.ground_truth())
        env.process(self.world.residents())
        for chain in self.chains:
            source = chain["source"]
            if source["trigger"] == "timer":
                env.process(self.sensors.timer(chain, source))
            elif source["device"] in state.streams:
                env.process(self.sensors.sensor(chain, source, state.streams[source["device"]]))
        for camera in self.where.switching_cameras():
            env.process(self.where.probe(camera))
        for event in self.sim.spec["events"]:
            if event["type"] == "device_join" and self._needs(event["device"]):
                env.process(self.deployment.join(event["device"], event["at"]))
            elif event["type"] == "device_leave" and self._needs(event["device"]):
                env.process(self.where.on_leave(event["device"], event["at"]))

    def _facts(self) -> dict[str, Any]:
        """What the summary needs that no record says (see :func:`.metrics.night_facts`)."""
        gate_w = {
            camera: self.sensors.gate_power_w(self.device(camera), self.state.streams[camera])
            for camera, _, _ in self.state.cameras
            if camera in self.state.streams
        }
        doorbell = self.sim.devices.get(self.params["doorbell"])
        power = None
        if doorbell is not None and doorbell.battery is not None:
            loads_w = {}
            if "wifi" in doorbell.profile.components_w:
                loads_w["wifi"] = doorbell.profile.components_w["wifi"]
            if gate_w.get(doorbell.name, 0.0) > 0:
                loads_w[GATE_LOAD] = gate_w[doorbell.name]
            power = {
                "capacity_wh": doorbell.battery.capacity_wh,
                "power_states_w": dict(doorbell.profile.power_states_w),
                "loads_w": loads_w,
            }
        links = {name: (link.tx_j_per_bit, link.rx_j_per_bit) for name, link in self.sim.links.items()}
        facts = night_facts(self.state.night.away, self.state.streams, gate_w, power, links)
        facts["camera_loads_w"] = {
            camera: {"wifi": self.device(camera).profile.components_w.get("wifi", 0.0), GATE_LOAD: w}
            for camera, w in gate_w.items()
        }
        if doorbell is None:
            del facts["doorbell"]
        return facts

    # -- deployment: what each device needs ------------------------------------------------
    def _needs(self, device: str) -> bool:
        return any(device in (s["device"], s["fallback"]) for c in self.chains for s in c["stages"])

    def _stages_on(self, device: str) -> list[tuple[dict, dict]]:
        return [(c, s) for c in self.chains for s in c["stages"] if s["device"] == device and s["model"]]

    def _needs_of(self, device: str) -> list[Need]:
        """What the hub deploys on ``device``: per model, a variant pinned by a stage or
        recommended under the tightest deadline of the stages it serves and, for security
        chains, an emergency variant (see :mod:`simulator.deploy`)."""
        by_model: dict[str, list[tuple[dict, dict]]] = defaultdict(list)
        for chain, stage in self._stages_on(device):
            by_model[stage["model"]].append((chain, stage))
        return [
            Need(
                model,
                budget_s=min(s["deadline"] for _, s in users),
                max_accuracy_loss_pts=min(s["max_accuracy_loss_pts"] for _, s in users),
                variant=next((s["variant"] for _, s in users if s["variant"]), None),
                serves=", ".join(sorted({c["name"] for c, _ in users})),
                backup=any(c["emergency_precision"] for c, _ in users),
            )
            for model, users in sorted(by_model.items())
        ]

    def _install_at_start(self) -> None:
        """Devices present at t = 0 get their models without a transfer (set up before);
        every device's plan is made now, the same rule as at a join."""
        for device in sorted({s["device"] for c in self.chains for s in c["stages"] if s["model"]}):
            try:
                self.deployment.install(device)
            except NoVariantFits as exc:
                raise SpecError(f"{self.file}, {self.where}.chains: {exc}") from None

    # -- metrics -----------------------------------------------------------------------------
    @classmethod
    def summarize(cls, trace, app: dict[str, Any], end_s: float) -> dict[str, Any]:
        """The app's metrics from the trace alone (:func:`.metrics.summarize`)."""
        return summarize(trace, app, end_s)

    def metrics(self, trace, end_s: float) -> dict[str, Any]:
        out = type(self).summarize(trace, self.meta, end_s)
        out["wall_model_s"] = round(self.verdicts.model_s, 3)  # host time of model work in the loop
        return out


def _stage_meta(stage: dict) -> dict:
    """What a view needs of a stage (the trace's meta): its graph, and its placement if any."""
    meta = {
        k: stage[k] for k in ("id", "trigger", "device", "model", "variant", "action", "when", "fallback")
    }
    if stage.get("placement"):
        meta["placement"] = {k: v for k, v in stage["placement"].items() if k != "agent" and v is not None}
    return meta
