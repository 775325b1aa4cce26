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
   (:meth:`SmartHome.place`, the one place that says where a stage runs); an alert decided
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
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

import numpy as np

from simulator import network
from simulator.apps.base import App
from simulator.apps.smart_home import chains as chain_schema
from simulator.apps.smart_home import ground_truth, streams
from simulator.apps.smart_home.gating import MOTION_BYTES_PER_FRAME, MOTION_OPS_PER_FRAME
from simulator.apps.smart_home.inputs import Speakers
from simulator.apps.smart_home.metrics import GATE_LOAD, night_facts, summarize
from simulator.apps.smart_home.records import (
    RECORDS,
    ChainHop,
    ChainStage,
    PlacedShare,
    PolicyChange,
    Truth,
)
from simulator.cache import card_fingerprint, digest
from simulator.compute import card_precision, estimate
from simulator.deploy import Deployment, Need, NoVariantFits
from simulator.trace import Note
from simulator.validate import Field, ListOf, SpecError

PROBE_BYTES = 64
RATE_DEFAULTS = {
    "pets_per_hour": 1.5,
    "pets_at_door_per_hour": 0.15,
    "pir_false_per_hour": 0.3,
    "moves_per_hour": 3.0,
    "voice_per_hour": 1.5,
    "tv_per_hour": 6.0,
    "noise_per_hour": 2.0,
    "walks_per_hour": 4.0,
    "gestures_per_hour": 1.0,
    "other_gestures_per_hour": 2.0,
    "neighbour_visits": 1.0,
}
PARAMS_SCHEMA: dict[str, Any] = {
    "hub": Field(str, default="hub"),
    "phone": Field(str, default="phone"),
    "watch": Field(str, default="watch"),
    "speaker": Field(str, default="speaker"),
    "indoor_camera": Field(str, default="camera"),
    "doorbell": Field(str, default="doorbell"),
    "cloud": Field(str, default="cloud"),
    "start_clock": Field(str, default="18:00"),
    "chains": Field(Any, required=True),
    "motion_gating": Field(bool, default=True),
    "switching": Field(bool, default=True),
    "rtt_limit_s": Field("duration", default=0.1, minimum=0.0, exclusive_min=True),
    "probe_period_s": Field("duration", default=30.0, minimum=1.0),
    "reserved_share": Field(float, default=0.25, minimum=0.0, maximum=0.9),
    "best_effort_slice_s": Field("duration", default=0.02, minimum=0.001),
    "indoor_frame_period_s": Field("duration", default=1.0, minimum=0.05),
    "door_frame_period_s": Field("duration", default=0.5, minimum=0.05),
    "pir_wake_s": Field("duration", default=0.3, minimum=0.0),
    "clip_idle_s": Field("duration", default=3.0, minimum=0.0),
    "clip_max_s": Field("duration", default=30.0, minimum=1.0),
    "motion_pixel_threshold": Field(float, default=0.06, minimum=0.0, maximum=1.0),
    "motion_min_pixels": Field(int, default=3, minimum=1),
    "vad_ratio": Field(float, default=2.0, minimum=1.0),
    "imu_wake_rad_s": Field(float, default=0.5, minimum=0.0),
    "match_grace_s": Field("duration", default=30.0, minimum=0.0),
    "retries": Field(int, default=2, minimum=0),
    # More cameras: each sees what the doorbell ("door": a PIR camera woken in clips) or the
    # indoor camera ("indoor": always on) sees, from its own angle (frames of its own).
    "extra_cameras": ListOf(
        {"device": Field(str, required=True), "sees": Field(str, required=True, choices=("door", "indoor"))},
        default=[],
    ),
    **{name: Field(float, default=value, minimum=0.0) for name, value in RATE_DEFAULTS.items()},
}
HOOKS = (
    "device_joined",
    "deploy_started",
    "model_deployed",
    "chain_fired",
    "alert_announced",
    "phone_notified",
    "switched_local",
    "switched_hub",
    "emergency_recheck",
    "voice_command",
    "gesture",
    "chain_broken",
)
ACTION_HOOKS = {"announce": "alert_announced", "notify": "phone_notified", "lights": "voice_command"}


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
        params = super().check_params(raw, scenario, file, where)
        try:
            ground_truth.clock_s(params["start_clock"], 0.0)
        except ValueError:
            raise SpecError(
                f"{file}, {where}.start_clock: expected a clock time like '18:00', got {params['start_clock']!r}"
            ) from None
        kinds = {d["name"]: _kind(d) for d in scenario["devices"]}
        links = [(link["a"], link["b"]) for link in scenario["links"]]
        cameras = [params["doorbell"], params["indoor_camera"]]
        for i, extra in enumerate(params["extra_cameras"]):
            at = f"{file}, {where}.extra_cameras[{i}].device"
            if extra["device"] not in kinds:
                raise SpecError(f"{at}: unknown device {extra['device']!r} (devices: {', '.join(kinds)})")
            if kinds[extra["device"]] != "camera":
                raise SpecError(f"{at}: {extra['device']!r} is a {kinds[extra['device']]}, not a camera")
            if extra["device"] in cameras:
                raise SpecError(f"{at}: {extra['device']!r} is already one of the home's cameras")
            cameras.append(extra["device"])
        params["chains"] = chain_schema.check_chains(params["chains"], kinds, links, file, f"{where}.chains")
        sensors = {"motion": tuple(cameras), "sound": (params["speaker"],)}
        sensors["imu"] = (params["watch"],)
        for i, chain in enumerate(params["chains"]):
            for j, stage in enumerate(chain["stages"]):
                allowed = sensors.get(stage["trigger"])
                if allowed and stage["device"] not in allowed:
                    raise SpecError(
                        f"{file}, {where}.chains[{i}].stages[{j}].device: the home's {stage['trigger']} "
                        f"sensors are on {', '.join(allowed)}, not {stage['device']!r}"
                    )
                if stage["trigger"] == "timer" and stage["input_from"] is None:
                    raise SpecError(
                        f"{file}, {where}.chains[{i}].stages[{j}].input_from: a timer stage needs a "
                        "camera whose recent frames it analyses"
                    )
        return params

    def __init__(self, sim, name: str, params: dict[str, Any], where: str) -> None:
        super().__init__(sim, name, params, where)
        self.chains = chain_schema.chain_graph(params["chains"])
        self.start_clock_s = ground_truth.clock_s(params["start_clock"], 0.0)
        self.hub = self.device(params["hub"])
        self.model_s = 0.0  # wall time of model work inside the event loop
        self._predictors: dict[tuple[str, str], Any] = {}
        self._verdicts: dict[tuple[str, str, str, int], tuple[str, float]] = {}
        self._verdicts_loaded: set[tuple[str, str, str]] = set()
        self._unsaved: dict[tuple[str, str, str], tuple[Any, streams.Stream]] = {}
        self.deployment = Deployment(sim, name, self.hub.name, self._needs_of, notify=self.fire)
        self._local: dict[str, bool] = {}  # camera → deciding locally (switching)
        self._lost_probes: dict[str, int] = {}
        self._cooldown: dict[tuple[str, str], float] = {}
        self._runs = 0
        self._awake_since: dict[str, float] = {}
        # (camera, what it sees: the night's "door" or "indoor" sightings, woken by a PIR)
        self.cameras = [(params["doorbell"], "door", True), (params["indoor_camera"], "indoor", False)]
        self.cameras += [(e["device"], e["sees"], e["sees"] == "door") for e in params["extra_cameras"]]
        self.pir_cameras = {camera for camera, _, pir in self.cameras if pir}
        # Placement (see the module docstring): the checked ``placement`` of each placed stage,
        # its policy and one runner for the app (made in start), and what each request cost.
        self.placements = {
            (c["name"], s["id"]): s["placement"]
            for c in self.chains
            for s in c["stages"]
            if s.get("placement")
        }
        self.runner = None
        self._requests = 0
        self._policies: dict[tuple[str, str], Any] = {}
        # The home's clock and doorbell, and the chains' graphs, travel with the trace, so a
        # view can draw them from a saved file.
        self.meta = next(e for e in sim.trace.meta["apps"] if e.get("name") == name)
        self.meta.update(start_clock=params["start_clock"], doorbell=params["doorbell"])
        self.meta.setdefault("params", json.loads(json.dumps(params, default=str)))
        sim.trace.meta.setdefault("chains", {})[name] = [
            {
                "name": c["name"],
                "qos": c["qos"],
                "stages": [_stage_meta(s) for s in c["stages"]],
            }
            for c in self.chains
        ]

    # -- set-up -------------------------------------------------------------------------
    def start(self) -> None:
        params = self.params
        rates = {k: params[k] for k in RATE_DEFAULTS}
        self.night = ground_truth.make_night(
            self.rng("night"), self.sim.duration_s, self.start_clock_s, rates
        )
        self.truths = self._truths()
        if self.placements:
            self._start_placement()
        self._install_at_start()
        self.streams = self._build_streams()
        self.meta["facts"] = self._facts()
        self._prepare_verdicts()
        env = self.env
        env.process(self._ground_truth())
        env.process(self._residents())
        for chain in self.chains:
            source = chain["source"]
            if source["trigger"] == "timer":
                env.process(self._timer(chain, source))
            elif source["device"] in self.streams:
                env.process(self._sensor(chain, source, self.streams[source["device"]]))
        for camera in self._switching_cameras():
            env.process(self._probe(camera))
        for event in self.sim.spec["events"]:
            if event["type"] == "device_join" and self._needs(event["device"]):
                env.process(self.deployment.join(event["device"], event["at"]))
            elif event["type"] == "device_leave" and self._needs(event["device"]):
                env.process(self._on_leave(event["device"], event["at"]))

    def _truths(self) -> list[Truth]:
        """Every ground-truth item as a record, in time order, numbered."""
        p = self.params
        items: list[tuple[float, str, str, str, float, str]] = []
        for where, sees, _ in self.cameras:
            for s in getattr(self.night, sees):
                items.append((s.t, where, s.kind, s.label, s.end_t, "headlights" if s.light else ""))
        for s in self.night.sounds:
            said = " ".join(w or "(noise)" for w in s.words)
            items.append(
                (
                    s.t,
                    p["speaker"],
                    s.kind,
                    s.label,
                    s.t + len(s.words),
                    f"{self.night.voices[s.voice]}: {said}",
                )
            )
        for w in self.night.wrist:
            items.append((w.t, p["watch"], "gesture" if w.label != "walk" else "walk", w.label, w.end_t, ""))
        items.sort(key=lambda item: (item[0], item[1]))
        truths = [
            Truth(t, self.name, where, kind, label, end, i, detail)
            for i, (t, where, kind, label, end, detail) in enumerate(items)
        ]
        self._truth_id = {(tr.where, tr.t, tr.kind): tr.truth_id for tr in truths}
        return truths

    def _build_streams(self) -> dict[str, streams.Stream]:
        p, night, seed = self.params, self.night, self.sim.seed
        needed = {c["source"]["device"] for c in self.chains if c["source"]["trigger"] != "timer"}
        out: dict[str, streams.Stream] = {}
        ids = self._truth_id
        for camera, sees, pir in self.cameras:
            if camera in needed:
                pairs = [(ids[(camera, s.t, s.kind)], s) for s in getattr(night, sees)]
                out[camera] = streams.camera_stream(camera, pairs, night, seed, p, pir, indoor=not pir)
        if p["speaker"] in needed:
            pairs = [(ids[(p["speaker"], s.t, s.kind)], s) for s in night.sounds]
            try:
                speakers = Speakers.draw(len(night.voices), self.new_rng("voices"))
                out[p["speaker"]] = streams.sound_stream(p["speaker"], pairs, speakers, seed, p)
            except RuntimeError as exc:  # espeak-ng missing and words not cached
                why = f"voice chains off: {exc}"  # the summary reads it from this note
                self.sim.trace.append(Note(0.0, p["speaker"], "unavailable", why))
        if p["watch"] in needed:
            kind = {"walk": "walk"}
            pairs = [(ids[(p["watch"], w.t, kind.get(w.label, "gesture"))], w) for w in night.wrist]
            out[p["watch"]] = streams.wrist_stream(p["watch"], night, pairs, seed, p)
        return out

    def _facts(self) -> dict[str, Any]:
        """What the summary needs that no record says (see :func:`.metrics.night_facts`)."""
        gate_w = {
            camera: self._gate_power_w(self.device(camera), self.streams[camera])
            for camera, _, _ in self.cameras
            if camera in self.streams
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
        facts = night_facts(self.night.away, self.streams, gate_w, power, links)
        facts["camera_loads_w"] = {
            camera: {"wifi": self.device(camera).profile.components_w.get("wifi", 0.0), GATE_LOAD: w}
            for camera, w in gate_w.items()
        }
        if doorbell is None:
            del facts["doorbell"]
        return facts

    # -- models: which variant where, and their verdicts --------------------------------
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

    def _predictor(self, card):
        key = (card.model, card.variant)
        if key not in self._predictors:
            from models import runtime

            self._predictors[key] = runtime.load(card.model, card.variant)
        return self._predictors[key]

    def _run_model(self, card, stream: streams.Stream, indexes: list[int]) -> None:
        """Real inference of ``card`` on inputs ``indexes`` of ``stream`` (see :meth:`_run_models`)."""
        self._run_models(stream, [(card, indexes)])

    def _run_models(self, stream: streams.Stream, work: list[tuple[Any, list[int]]]) -> None:
        """Real inference of each ``(card, indexes)`` of ``work`` on ``stream``, in chunks;
        each chunk's inputs are made once for every card that needs them (an ungated
        camera's frames are rendered once for its detector and the hub's). Outputs the
        cache already holds are taken from it."""
        todo: dict[int, list[int]] = {}
        cards = {}
        for card, indexes in work:
            self._load_verdicts(card, stream)
            missing = {
                k for k in indexes if (card.model, card.variant, stream.device, k) not in self._verdicts
            }
            if missing:
                cards[id(card)] = card
                todo.setdefault(id(card), set()).update(missing)
        if not todo:
            return
        wanted = sorted(set().union(*todo.values()))
        for c in range(0, len(wanted), 1024):
            chunk = wanted[c : c + 1024]
            features = stream.features(chunk)
            for key, needed in todo.items():
                card = cards[key]
                rows = [i for i, k in enumerate(chunk) if k in needed]
                if not rows:
                    continue
                probabilities = self._predictor(card).predict_proba(
                    features if len(rows) == len(chunk) else features[rows]
                )
                best = probabilities.argmax(axis=1)
                classes = card.classes
                for i, b, row in zip(rows, best.tolist(), probabilities.tolist(), strict=True):
                    self._verdicts[(card.model, card.variant, stream.device, chunk[i])] = (
                        classes[b],
                        round(row[b], 4),
                    )
        for card in cards.values():
            self._unsaved[(card.model, card.variant, stream.device)] = (card, stream)

    def _verdicts_key(self, card, stream: streams.Stream) -> str:
        return digest("verdicts", stream.key, card_fingerprint(card))

    def _load_verdicts(self, card, stream: streams.Stream) -> None:
        """Put the outputs of ``card`` on ``stream`` that the cache holds into ``_verdicts`` (once)."""
        what = (card.model, card.variant, stream.device)
        if what in self._verdicts_loaded:
            return
        self._verdicts_loaded.add(what)
        hit = streams.CACHE.load("verdicts", self._verdicts_key(card, stream))
        if hit is None:
            return
        classes = card.classes
        for k, c, score in zip(
            hit["index"].tolist(), hit["label"].tolist(), hit["score"].tolist(), strict=True
        ):
            self._verdicts[(*what, k)] = (classes[c], score)

    def _save_verdicts(self) -> None:
        """Store the model outputs computed since the last save (all of each card × stream)."""
        for (model, variant, device), (card, stream) in self._unsaved.items():
            rows = sorted(
                (key[3], card.classes.index(label), score)
                for key, (label, score) in self._verdicts.items()
                if key[:3] == (model, variant, device)
            )
            index, label, score = (np.array(column) for column in zip(*rows, strict=True))
            arrays = {"index": index.astype(np.int64), "label": label.astype(np.int64), "score": score}
            streams.CACHE.save("verdicts", self._verdicts_key(card, stream), arrays)
        self._unsaved.clear()

    def verdict(self, card, stream: streams.Stream, k: int) -> tuple[str, float]:
        """The real output (class, score) of ``card`` on input ``k`` of ``stream``."""
        key = (card.model, card.variant, stream.device, k)
        if key not in self._verdicts:
            started = time.perf_counter()
            self._run_model(card, stream, [k])
            self._save_verdicts()  # an output off the prepared plan: kept for the next run
            self.model_s += time.perf_counter() - started
        return self._verdicts[key]

    def _cards_for(self, device: str, model: str) -> list:
        planned = (self.deployment.planned(device, model, role) for role in ("serving", "emergency"))
        return [card for card in planned if card is not None]

    def _prepare_verdicts(self) -> None:
        """Batch the model work of the night before it starts: every gated input through
        its source stage's variant (and a timer stage's variant through every gated input
        of the camera it analyses), then those that pass the source's condition through
        each later model stage's variants (and the emergency ones), wherever the stage may
        be placed. The outputs go to (or come from) the cache."""
        first: dict[str, list[tuple[Any, list[int]]]] = defaultdict(list)
        for chain in self.chains:
            source = chain["source"]
            device = source["input_from"] if source["trigger"] == "timer" else source["device"]
            stream = self.streams.get(device)
            if stream is not None:
                gated = [k for k in range(len(stream)) if stream.gated[k]]
                first[device] += [
                    (card, gated) for card in self._cards_for(source["device"], source["model"])
                ]
        for device, work in first.items():
            self._run_models(self.streams[device], work)
        later: dict[str, list[tuple[Any, list[int]]]] = defaultdict(list)
        for chain in self.chains:
            source = chain["source"]
            stream = self.streams.get(source["device"])
            if source["trigger"] == "timer" or stream is None:
                continue
            serving = self.deployment.planned(source["device"], source["model"])
            condition = source["condition"]
            passed = [
                k
                for k in range(len(stream))
                if stream.gated[k]
                and (v := self._verdicts[(serving.model, serving.variant, stream.device, k)])[0]
                in condition["classes"]
                and v[1] >= condition["min_score"]
            ]
            for stage in chain["stages"]:
                if stage is source or not stage["model"]:
                    continue
                inputs = (
                    passed if stage["input"] == "same" else [k + 1 for k in passed if k + 1 < len(stream)]
                )
                for device in sorted({stage["device"], stage["fallback"]} - {None}):
                    later[stream.device] += [
                        (card, inputs) for card in self._cards_for(device, stage["model"])
                    ]
        for device, work in later.items():
            self._run_models(self.streams[device], work)
        self._save_verdicts()

    # -- the world ---------------------------------------------------------------------
    def _ground_truth(self):
        for truth in self.truths:
            if truth.t > self.env.now:
                yield self.env.timeout(truth.t - self.env.now)
            self.sim.trace.append(truth)

    def _residents(self):
        """The phone leaves the home's Wi-Fi with resident A; the alarm rings in the morning."""
        link = self.sim.link_between(self.params["hub"], self.params["phone"])
        changes = []
        for a, b in self.night.phone_away:
            changes += [(a, False), (b, True)]
        for t, up in sorted(changes):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            if link is not None and link.a.present and link.b.present:
                link.set_up(up, "phone back home" if up else "phone left with resident A")

    def home(self) -> bool:
        return self.night.home_at(self.env.now)

    # -- placement: where a placed stage's layers run ----------------------------------------
    def _start_placement(self) -> None:
        """One runner for the app and a policy per placed stage (an agent file loads once)."""
        from simulator.placement import make_policy
        from simulator.placement.runner import PlacementRunner

        self.runner = PlacementRunner(self.sim, app=self.name, retries=self.params["retries"])
        agents: dict[str, Any] = {}
        for key, config in self.placements.items():
            if config["policy"] == "rl":
                if config["agent"] not in agents:
                    agents[config["agent"]] = make_policy(config)
                self._policies[key] = agents[config["agent"]]
            else:
                self._policies[key] = make_policy(config)

    def _result_at(self, chain: dict, stage: dict, device: str) -> str:
        """Where a placed stage's result is needed: the device every next stage would run on
        now (:meth:`place`), or the stage's own device when they differ or there are none."""
        children = chain["children"].get(stage["id"], [])
        where = {self.place(chain, child, device) for child in children}
        return where.pop() if len(where) == 1 and None not in where else device

    def _infer_placed(self, chain, stage, device: str, card, stream, k: int):
        """Run input ``k`` of a placed stage (generator): its policy places the request, the
        runner carries it out. Returns ``(label, score, energy at device, placed)`` or None when
        no result was made; ``placed`` says where the input and the result are."""
        from simulator.placement import Placement, Request, layer_table

        config = self.placements[(chain["name"], stage["id"])]
        label, score = self.verdict(card, stream, k)
        table = layer_table(card.model)
        self._requests += 1
        request = Request(
            self._requests,
            self.env.now,
            device,
            card,
            table,
            stage["deadline"],
            sink=self._result_at(chain, stage, device),
            targets=tuple(config["targets"]),
            boundary=config["boundary"],
        )
        placement = self._policies[(chain["name"], stage["id"])].place(request, self.runner.state())
        placement = Placement(placement.target, min(max(placement.split, 0), table.n_layers))
        outcome = yield from self.runner.serve(
            request, placement, config["policy"], label, score, chain["priority"]
        )
        record = outcome.record
        self.sim.trace.append(
            PlacedShare(
                self.env.now, self.name, request.id, chain["name"], stage["id"], dict(outcome.energy_j)
            )
        )
        if outcome.result_device is None:
            return None
        input_at = {device}
        if record.split == 0 and record.tail_device != device:  # the input itself travelled
            for _, _, receiver in self.runner.route(device, record.tail_device) or []:
                input_at.add(receiver)
        if record.split >= record.n_layers:
            where = f"all {record.n_layers} layers on {device}"
        elif record.split == 0:
            where = f"input to {record.tail_device}"
        else:
            where = f"layers 0–{record.split} on {device}, {record.split}–{record.n_layers} on {record.tail_device}"
        placed = {
            "input_device": device,
            "input_at": input_at,
            "knows": {record.tail_device, outcome.result_device},
            "result_device": outcome.result_device,
            "result_bytes": table.boundary_bytes(table.n_layers),
            "detail": f"placed by {config['policy']}: {where}"
            + ("" if record.status == "ok" else f" ({record.status})"),
        }
        return label, score, outcome.energy_j.get(device, 0.0), placed

    def _infer_stage(self, chain, stage, device: str, card, stream, k: int):
        """Run a model stage's input ``k`` on ``device``: placed when the stage has a
        placement, else wholly on the device (generator: ``(label, score, energy, placed)``
        with ``placed`` None, or None when the device went off)."""
        if (chain["name"], stage["id"]) in self.placements:
            return (yield from self._infer_placed(chain, stage, device, card, stream, k))
        result = yield from self._infer(chain, stage, device, card, stream, k)
        return None if result is None else (*result, None)

    # -- where a stage runs -----------------------------------------------------------------
    def place(self, chain: dict, stage: dict, upstream: str | None = None) -> str | None:
        """The device stage ``stage`` of ``chain`` runs on now, given the device its input
        comes from (``None``: it cannot run). The one place that decides it: a placement
        policy can replace this method. Here: the stage's device; its ``fallback`` when the
        device has left or is off, or when switching says the link from ``upstream`` to it
        is too slow (round trip above ``rtt_limit_s``) or down."""
        device = self.device(stage["device"])
        fallback = stage["fallback"]
        if fallback is not None:
            if not (device.present and device.on):
                return fallback if self.device(fallback).present and self.device(fallback).on else None
            if self.params["switching"] and upstream == fallback and self._local.get(upstream, False):
                return fallback
        return stage["device"] if device.present and device.on else None

    def _switching_cameras(self) -> list[str]:
        return sorted(
            {
                s["fallback"]
                for c in self.chains
                for s in c["stages"]
                if s["fallback"] and self.params["switching"]
            }
        )

    def _probe(self, camera: str):
        """The camera measures its round trip to the hub (ping, pong) every
        ``probe_period_s`` while awake, and switches its chains to local decisions above
        ``rtt_limit_s`` or when the link is down; back when it recovers."""
        cam = self.device(camera)
        period = self.params["probe_period_s"]
        while True:
            yield self.env.timeout(period)
            if not (cam.present and cam.on) or (
                camera in self.pir_cameras and camera not in self._awake_since
            ):
                continue
            yield from self._measure_rtt(camera)

    def _measure_rtt(self, camera: str):
        """One probe (ping to the hub, pong back). A probe answered slower than
        ``rtt_limit_s`` switches the camera's chains to local decisions at once; lost
        probes only after two in a row (one loss is Wi-Fi as usual); a fast answer
        switches back."""
        cam = self.device(camera)
        started = self.env.now
        status = yield from self._send_path(camera, self.params["hub"], "probe", PROBE_BYTES, retries=0)
        if status == "delivered":
            status = yield from self._send_path(self.params["hub"], camera, "probe", PROBE_BYTES, retries=0)
        rtt_s = self.env.now - started if status == "delivered" else float("inf")
        lost = self._lost_probes[camera] = (
            0 if status == "delivered" else self._lost_probes.get(camera, 0) + 1
        )
        local = rtt_s > self.params["rtt_limit_s"]
        if status != "delivered" and lost < 2:
            return
        if local != self._local.get(camera, False):
            self._local[camera] = local
            why = f"round trip {rtt_s * 1e3:.0f} ms" if np.isfinite(rtt_s) else "probes to the hub lost"
            state = "local" if local else "hub"
            limit = f"{self.params['rtt_limit_s'] * 1e3:g} ms"
            detail = f"{why} {'>' if local else '≤'} {limit}: " + (
                "decide with the camera's light variant" if local else "the hub confirms again"
            )
            self.sim.trace.append(PolicyChange(self.env.now, self.name, cam.name, "switching", state, detail))
            self.fire("switched_local" if local else "switched_hub")

    # -- links ---------------------------------------------------------------------------
    def _send_path(self, src: str, dst: str, kind: str, size: int, retries: int | None = None, hop=None):
        """Send ``size`` bytes from ``src`` to ``dst`` hop by hop over the links up now
        (:func:`simulator.network.send`; a generator returning the status); ``hop(link, a,
        b, t0, status)`` records each hop."""
        retries = self.params["retries"] if retries is None else retries
        delivery = yield from network.send(self.sim, src, dst, kind, size, retries=retries, on_hop=hop)
        return delivery.status

    # -- joining and leaving ---------------------------------------------------------------
    def _on_leave(self, device: str, at_s: float):
        if at_s > self.env.now:
            yield self.env.timeout(at_s - self.env.now)
        yield self.env.timeout(0.0)
        self.deployment.leave(device)
        for chain in self.chains:
            for stage in chain["stages"]:
                if stage["device"] != device:
                    continue
                if stage["trigger"] in chain_schema.SOURCE_TRIGGERS:
                    state, detail = "broken", f"its sensor {device} left: the chain stops"
                elif stage["fallback"] and self.device(stage["fallback"]).present:
                    state, detail = "re-homed", f"stage {stage['id']} moves to {stage['fallback']}"
                else:
                    state, detail = "broken", f"stage {stage['id']} had only {device}"
                self.sim.trace.append(
                    PolicyChange(self.env.now, self.name, device, f"chain {chain['name']}", state, detail)
                )
                if state == "broken":
                    self.fire("chain_broken")

    # -- sensors ---------------------------------------------------------------------------
    def _sensor(self, chain: dict, stage: dict, stream: streams.Stream):
        """Feed each gated input of ``stream`` to the chain's first stage at its time; a PIR
        camera wakes for its clips (awake power, Wi-Fi, the motion gate's compute)."""
        env = self.env
        dev = self.device(stage["device"])
        pir = stream.source == "motion" and stage["device"] in self.pir_cameras
        is_camera = stream.source == "motion"
        gate_w = self._gate_power_w(dev, stream) if is_camera else 0.0
        if is_camera and not pir:
            self._wake(dev, gate_w)
        last_group = None
        for k, ready_s in enumerate(stream.ready_s):
            if ready_s > env.now:
                yield env.timeout(ready_s - env.now)
            if not (dev.present and dev.on):
                continue
            if pir and stream.group[k] != last_group:
                if last_group is not None:
                    self._sleep(dev)
                last_group = stream.group[k]
                self._wake(dev, gate_w)
                if self.params["switching"] and stage["device"] in self._switching_cameras():
                    env.process(self._measure_rtt(stage["device"]))
                env.process(self._sleep_after_clip(dev, stream, k))
            if not stream.gated[k]:
                continue
            card = self.deployment.serving(stage["device"], stage["model"])
            if card is None:  # its model has not arrived yet
                continue
            if stage["when"] != "any" and (stage["when"] == "home") != self.home():
                continue
            env.process(self._first_stage(chain, stage, stream, k, card))

    def _gate_power_w(self, dev, stream: streams.Stream) -> float:
        if not self.params["motion_gating"]:
            return 0.0
        period = (
            self.params["door_frame_period_s"]
            if dev.name in self.pir_cameras
            else self.params["indoor_frame_period_s"]
        )
        cost = estimate(dev.profile, MOTION_OPS_PER_FRAME, 0.0, "fp32", MOTION_BYTES_PER_FRAME / 2)
        # Frame differencing is a loop in the capture pipeline, not a call into a model
        # runtime: it does not pay the profile's per-call overhead.
        busy_s = cost.latency_s - dev.profile.compute_overhead_s
        return cost.energy_j * busy_s / cost.latency_s / period

    def _wake(self, dev, gate_w: float) -> None:
        if dev.name in self._awake_since:
            return
        self._awake_since[dev.name] = self.env.now
        dev.set_state("active")
        if "wifi" in dev.profile.components_w:
            dev.add_load("wifi", dev.profile.components_w["wifi"])
        if gate_w > 0:
            dev.add_load(GATE_LOAD, gate_w)

    def _sleep(self, dev) -> None:
        since = self._awake_since.pop(dev.name, None)
        if since is None:
            return
        dev.remove_load(GATE_LOAD)
        dev.remove_load("wifi")
        dev.set_state("sleep")

    def _sleep_after_clip(self, dev, stream: streams.Stream, first: int):
        group = stream.group[first]
        last = first
        while last + 1 < len(stream) and stream.group[last + 1] == group:
            last += 1
        end_s = stream.ready_s[last] + self.params["door_frame_period_s"]
        yield self.env.timeout(max(end_s - self.env.now, 0.0))
        # Chains still in flight keep the Wi-Fi up a moment (their payloads are small).
        if dev.name in self._awake_since and self._awake_since[dev.name] <= stream.ready_s[first]:
            self._sleep(dev)

    def _timer(self, chain: dict, stage: dict):
        """A best-effort batch every ``every``: the frames camera ``input_from`` let through
        since the last tick, analysed on the stage's device in slices that leave
        ``reserved_share`` of its accelerator to real-time chains."""
        stream = self.streams.get(stage["input_from"])
        if stream is None:
            return
        dev = self.device(stage["device"])
        last_s = 0.0
        while True:
            yield self.env.timeout(stage["every"])
            card = self.deployment.serving(stage["device"], stage["model"])
            batch = [
                k for k, t in enumerate(stream.ready_s) if last_s < t <= self.env.now and stream.gated[k]
            ]
            last_s = self.env.now
            if card is None or not batch or not (dev.present and dev.on):
                continue
            run = self._new_run()
            started = self.env.now
            labels = [self.verdict(card, stream, k)[0] for k in batch]
            found = {c: labels.count(c) for c in sorted(set(labels))}
            energy = yield from self.best_effort_batch(dev, card, len(batch), chain)
            self._stage_record(
                chain,
                run,
                stage,
                dev.name,
                card,
                "action",
                "indexed",
                1.0,
                started,
                started,
                energy,
                f"{len(batch)} frames: " + ", ".join(f"{v} {c}" for c, v in found.items()),
            )

    def best_effort_batch(self, dev, card, n: int, chain: dict):
        """Run ``n`` windows of ``card`` on device ``dev`` for ``chain``: a best-effort
        chain's batch runs in slices of at most ``best_effort_slice_s``, idling
        ``share / (1 − share)`` of each slice after it, so real-time calls wait at most one
        slice (``reserved_share``); a real-time chain's runs as one call (generator;
        returns the energy)."""
        share = self.params["reserved_share"] if chain["qos"] not in chain_schema.REAL_TIME else 0.0
        per_window_s = dev.cost(card, 1).latency_s
        size = n if share <= 0 else max(1, int(self.params["best_effort_slice_s"] / max(per_window_s, 1e-9)))
        energy = 0.0
        done = 0
        while done < n:
            m = min(size, n - done)
            ok = yield dev.run(card, m, "batch", 1.0, chain["priority"])
            if not ok:
                break
            energy += dev.cost(card, m).energy_j
            done += m
            if share > 0 and done < n:
                yield self.env.timeout(dev.cost(card, m).latency_s * share / (1.0 - share))
        return energy

    # -- running a chain -------------------------------------------------------------------
    def _new_run(self) -> int:
        self._runs += 1
        return self._runs

    def _stage_record(
        self, chain, run, stage, device, card, outcome, label, score, trigger_t, start_t, energy, detail
    ):
        missed = self.env.now - start_t > stage["deadline"]
        self.sim.trace.append(
            ChainStage(
                self.env.now,
                self.name,
                chain["name"],
                run,
                stage["id"],
                device,
                card.model if card is not None else "",
                card.variant if card is not None else "",
                outcome,
                label,
                float(score),
                trigger_t,
                start_t,
                missed,
                energy,
                detail,
            )
        )

    def _stage_ended(
        self, chain, ctx: dict, stage, device: str, outcome: str, start_t: float, why: str
    ) -> None:
        """Record a stage that ran no model (broken, skipped, dropped), carrying the chain's label."""
        self._stage_record(
            chain,
            ctx["run"],
            stage,
            device,
            None,
            outcome,
            ctx["label"],
            0.0,
            ctx["trigger_t"],
            start_t,
            0.0,
            why,
        )

    def _infer(self, chain, stage, device: str, card, stream, k: int):
        """Run ``card`` on input ``k`` on ``device`` (generator: returns label, score,
        energy, or None when the device went off)."""
        label, score = self.verdict(card, stream, k)
        dev = self.device(device)
        ok = yield dev.run(card, 1, label, score, chain["priority"])
        if not ok:
            return None
        return label, score, dev.cost(card, 1).energy_j

    def _passes(self, stage: dict, label: str, score: float) -> bool:
        return label in stage["condition"]["classes"] and score >= stage["condition"]["min_score"]

    def _first_stage(self, chain, stage, stream, k: int, card):
        trigger_t = stream.ready_s[k]
        result = yield from self._infer_stage(chain, stage, stage["device"], card, stream, k)
        if result is None:
            return
        label, score, energy, placed = result
        passed = self._passes(stage, label, score)
        cooldown_key = (chain["name"], label)
        if passed and self.env.now - self._cooldown.get(cooldown_key, -np.inf) < chain["cooldown"]:
            passed = None
        run = 0
        if passed:
            self._cooldown[cooldown_key] = self.env.now
            run = self._new_run()
            self.fire("chain_fired")
        outcome = "pass" if passed else "stop"
        detail = "" if passed is not None else "cooldown: this chain fired for this class recently"
        if placed is not None:
            detail = "; ".join(filter(None, (placed["detail"], detail)))
        self._stage_record(
            chain,
            run,
            stage,
            stage["device"],
            card,
            outcome,
            label,
            score,
            trigger_t,
            trigger_t,
            energy,
            detail,
        )
        if passed:
            ctx = {
                "run": run,
                "trigger_t": trigger_t,
                "stream": stream,
                "k": k,
                "label": label,
                "score": score,
                "card": card,
                "device": stage["device"],
            }
            if placed is not None:
                ctx.update(device=placed["result_device"], placed=placed)
            yield from self._after(chain, stage, ctx)

    def _after(self, chain, stage, ctx):
        """Stage ``stage`` passed: emergency precision before any action, then its children."""
        children = chain["children"].get(stage["id"], [])
        if chain["emergency_precision"] and any(c["action"] for c in children):
            ok = yield from self._emergency_recheck(chain, stage, ctx)
            if not ok:
                return
        for child in children:
            self.env.process(self._stage(chain, stage, child, dict(ctx)))

    def _emergency_recheck(self, chain, stage, ctx):
        """An alert decided below FP32 is re-checked at the highest precision the deciding
        device holds before any action; returns whether it stands."""
        card = ctx["card"]
        if card_precision(card) == "fp32":
            return True
        # A placed stage's input stays on its device: the re-check runs there.
        device = ctx["placed"]["input_device"] if ctx.get("placed") else ctx["device"]
        emergency = self.deployment.backup(device, card.model)
        if emergency is None:
            return True
        started = self.env.now
        result = yield from self._infer(chain, stage, device, emergency, ctx["stream"], ctx["k"])
        if result is None:
            return False
        label, score, energy = result
        stands = self._passes(stage, label, score)
        self.fire("emergency_recheck")
        detail = f"emergency precision: {card.variant} said {ctx['label']} {ctx['score']:.2f}, {emergency.variant} says {label} {score:.2f}"
        self._stage_record(
            chain,
            ctx["run"],
            {**stage, "id": f"{stage['id']} re-check"},
            device,
            emergency,
            "pass" if stands else "dismissed",
            label,
            score,
            ctx["trigger_t"],
            started,
            energy,
            detail,
        )
        if stands:
            ctx.update(label=label, score=score, card=emergency)
        return stands

    def _stage(self, chain, parent, stage, ctx):
        """Run stage ``stage`` on the payload of ``parent`` (a process)."""
        start_t = self.env.now
        upstream = ctx["device"]
        placed = ctx.pop("placed", None)  # the parent was placed: where its input and result are
        if placed is not None and stage["model"]:
            upstream = placed["input_device"]  # a model stage takes the input, not the result
        device = self.place(chain, stage, upstream)
        run, trigger_t = ctx["run"], ctx["trigger_t"]
        if device is None:
            self._stage_ended(
                chain,
                ctx,
                stage,
                stage["device"],
                "broken",
                start_t,
                f"{stage['device']} is not in the home and no fallback can take over",
            )
            return
        if stage["when"] != "any" and (stage["when"] == "home") != self.home():
            why = "nobody is home" if stage["when"] == "home" else "someone is home"
            self._stage_ended(chain, ctx, stage, device, "skipped", start_t, why)
            return
        takes_input = placed is not None and stage["model"]
        if device != upstream and not (takes_input and device in placed["input_at"]):

            def hop(link, a, b, t0, status, size=parent["payload_bytes"]):
                bits = size * 8.0
                self.sim.trace.append(
                    ChainHop(
                        t0,
                        self.name,
                        chain["name"],
                        run,
                        parent["id"],
                        stage["id"],
                        a,
                        b,
                        link.name,
                        size,
                        self.env.now,
                        status,
                        bits * link.tx_j_per_bit,
                        bits * link.rx_j_per_bit,
                    )
                )

            status = "delivered"
            if takes_input and upstream not in placed["knows"]:
                # the input's device learns the result first (the tail ran elsewhere)
                size = placed["result_bytes"]
                status = yield from self._send_path(
                    ctx["device"],
                    upstream,
                    f"chain:{chain['name']}",
                    size,
                    hop=lambda link, a, b, t0, st: hop(link, a, b, t0, st, size),
                )
            if status == "delivered":
                status = yield from self._send_path(
                    upstream, device, f"chain:{chain['name']}", parent["payload_bytes"], hop=hop
                )
            if status != "delivered":
                self._stage_ended(
                    chain, ctx, stage, device, "dropped", start_t, f"payload from {upstream}: {status}"
                )
                return
        ctx["device"] = device
        if stage["action"]:
            detail = self._act(stage, device, ctx)
            self._stage_record(
                chain,
                run,
                stage,
                device,
                None,
                "action",
                ctx["label"],
                ctx["score"],
                trigger_t,
                start_t,
                0.0,
                detail,
            )
        else:
            local = device == upstream and device == stage["fallback"]
            if local:  # switched: the camera's own light verdict decides
                card, (label, score), energy = ctx["card"], (ctx["label"], ctx["score"]), 0.0
                detail = "decided on the camera (link to the hub slow or down): its light variant's output"
            else:
                card = self.deployment.serving(device, stage["model"])
                if card is None:
                    self._stage_ended(
                        chain, ctx, stage, device, "broken", start_t, f"{device} serves no {stage['model']}"
                    )
                    return
                k = ctx["k"] if stage["input"] == "same" else ctx["k"] + 1
                stream = ctx["stream"]
                if k >= len(stream) or stream.group[k] != stream.group[ctx["k"]]:
                    self._stage_record(
                        chain,
                        run,
                        stage,
                        device,
                        card,
                        "stop",
                        "",
                        0.0,
                        trigger_t,
                        start_t,
                        0.0,
                        "no next input",
                    )
                    return
                if stream.ready_s[k] > self.env.now:
                    yield self.env.timeout(stream.ready_s[k] - self.env.now)
                result = yield from self._infer_stage(chain, stage, device, card, stream, k)
                if result is None:
                    return
                label, score, energy, placed_here = result
                ctx["k"] = k
                detail = ""
                if placed_here is not None:
                    detail = placed_here["detail"]
                    ctx.update(device=placed_here["result_device"], placed=placed_here)
            passed = self._passes(stage, label, score)
            self._stage_record(
                chain,
                run,
                stage,
                device,
                card,
                "pass" if passed else "stop",
                label,
                score,
                trigger_t,
                start_t,
                energy,
                detail,
            )
            if not passed:
                return
            ctx.update(label=label, score=score, card=card)
        yield from self._after(chain, stage, ctx)

    def _act(self, stage: dict, device: str, ctx: dict) -> str:
        """Do an action stage's action (recorded by the caller); returns its description."""
        action, label = stage["action"], ctx["label"]
        hook = ACTION_HOOKS.get(action)
        if action in ("alarm_off", "pause_music") or (action == "lights" and label == "stop"):
            speaker = self.device(self.params["speaker"])
            if speaker.present and speaker.state == "active":
                speaker.set_state("idle")
        if stage["trigger"] and ctx["stream"].source == "imu":
            hook = "gesture"
        if hook:
            self.fire(hook)
        what = {
            "announce": f"speaker: '{label} at the door'",
            "notify": f"phone notified: {label} seen while nobody is home",
            "lights": f"hub acts on '{label}': {ground_truth.COMMANDS.get(label, label)}",
            "alarm_off": "alarm dismissed",
            "pause_music": f"{ground_truth.CONTROL_GESTURES.get(label, label)}",
            "log": f"logged {label}",
        }
        return what[action]

    # -- metrics -----------------------------------------------------------------------------
    @classmethod
    def summarize(cls, trace, app: dict[str, Any], end_s: float) -> dict[str, Any]:
        """The app's metrics from the trace alone (:func:`.metrics.summarize`)."""
        return summarize(trace, app, end_s)

    def metrics(self, trace, end_s: float) -> dict[str, Any]:
        out = type(self).summarize(trace, self.meta, end_s)
        out["wall_model_s"] = round(self.model_s, 3)  # host time of model work in the loop
        return out


def _stage_meta(stage: dict) -> dict:
    """What a view needs of a stage (the trace's meta): its graph, and its placement if any."""
    meta = {
        k: stage[k] for k in ("id", "trigger", "device", "model", "variant", "action", "when", "fallback")
    }
    if stage.get("placement"):
        meta["placement"] = {k: v for k, v in stage["placement"].items() if k != "agent" and v is not None}
    return meta


def _kind(device_spec: dict) -> str:
    from simulator.profiles import load_profile

    return load_profile(device_spec["profile_path"]).kind
