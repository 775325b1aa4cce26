"""Running a chain: a stage runs its model on its device (or as placed), checks its
condition and hands its payload to the next stages over the links (routed hop by hop,
``ChainHop`` records); an alert decided below FP32 is re-checked at the highest precision
the deciding device holds (emergency precision); actions are recorded with their
end-to-end latency (``ChainStage`` records)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import simulator.apps.smart_home.ground_truth as ground_truth
from simulator.apps.smart_home.records import ChainHop, ChainStage
from simulator.compute import card_precision

if TYPE_CHECKING:
    from simulator.apps.smart_home.inference import StageInference
    from simulator.apps.smart_home.state import HomeState
    from simulator.apps.smart_home.where import Where

ACTION_HOOKS = {"announce": "alert_announced", "notify": "phone_notified", "lights": "voice_command"}


class ChainRuns:
    """The chains' runs of one smart home (see module docstring)."""

    def __init__(self, home: HomeState, inference: StageInference, where: Where) -> None:
        self.home = home
        self.inference = inference
        self.where = where
        self._cooldown: dict[tuple[str, str], float] = {}
        self._runs = 0

    def new_run(self) -> int:
        self._runs += 1
        return self._runs

    def stage_record(
        self, chain, run, stage, device, card, outcome, label, score, trigger_t, start_t, energy, detail
    ):
        missed = self.home.env.now - start_t > stage["deadline"]
        self.home.sim.trace.append(
            ChainStage(
                self.home.env.now,
                self.home.name,
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
        self.stage_record(
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

    def _passes(self, stage: dict, label: str, score: float) -> bool:
        return label in stage["condition"]["classes"] and score >= stage["condition"]["min_score"]

    def first_stage(self, chain, stage, stream, k: int, card):
        trigger_t = stream.ready_s[k]
        result = yield from self.inference.infer_stage(chain, stage, stage["device"], card, stream, k)
        if result is None:
            return
        label, score, energy, placed = result
        passed = self._passes(stage, label, score)
        cooldown_key = (chain["name"], label)
        if passed and self.home.env.now - self._cooldown.get(cooldown_key, -np.inf) < chain["cooldown"]:
            passed = None
        run = 0
        if passed:
            self._cooldown[cooldown_key] = self.home.env.now
            run = self.new_run()
            self.home.fire("chain_fired")
        outcome = "pass" if passed else "stop"
        detail = "" if passed is not None else "cooldown: this chain fired for this class recently"
        if placed is not None:
            detail = "; ".join(filter(None, (placed["detail"], detail)))
        self.stage_record(
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
            self.home.env.process(self._stage(chain, stage, child, dict(ctx)))

    def _emergency_recheck(self, chain, stage, ctx):
        """An alert decided below FP32 is re-checked at the highest precision the deciding
        device holds before any action; returns whether it stands."""
        card = ctx["card"]
        if card_precision(card) == "fp32":
            return True
        # A placed stage's input stays on its device: the re-check runs there.
        device = ctx["placed"]["input_device"] if ctx.get("placed") else ctx["device"]
        emergency = self.home.deployment.backup(device, card.model)
        if emergency is None:
            return True
        started = self.home.env.now
        result = yield from self.inference.infer(chain, stage, device, emergency, ctx["stream"], ctx["k"])
        if result is None:
            return False
        label, score, energy = result
        stands = self._passes(stage, label, score)
        self.home.fire("emergency_recheck")
        detail = f"emergency precision: {card.variant} said {ctx['label']} {ctx['score']:.2f}, {emergency.variant} says {label} {score:.2f}"
        self.stage_record(
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
        start_t = self.home.env.now
        upstream = ctx["device"]
        placed = ctx.pop("placed", None)  # the parent was placed: where its input and result are
        if placed is not None and stage["model"]:
            upstream = placed["input_device"]  # a model stage takes the input, not the result
        device = self.where.place(chain, stage, upstream)
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
        if stage["when"] != "any" and (stage["when"] == "home") != self.home.someone_home():
            why = "nobody is home" if stage["when"] == "home" else "someone is home"
            self._stage_ended(chain, ctx, stage, device, "skipped", start_t, why)
            return
        takes_input = placed is not None and stage["model"]
        if device != upstream and not (takes_input and device in placed["input_at"]):

            def hop(link, a, b, t0, status, size=parent["payload_bytes"]):
                bits = size * 8.0
                self.home.sim.trace.append(
                    ChainHop(
                        t0,
                        self.home.name,
                        chain["name"],
                        run,
                        parent["id"],
                        stage["id"],
                        a,
                        b,
                        link.name,
                        size,
                        self.home.env.now,
                        status,
                        bits * link.tx_j_per_bit,
                        bits * link.rx_j_per_bit,
                    )
                )

            status = "delivered"
            if takes_input and upstream not in placed["knows"]:
                # the input's device learns the result first (the tail ran elsewhere)
                size = placed["result_bytes"]
                status = yield from self.home.send(
                    ctx["device"],
                    upstream,
                    f"chain:{chain['name']}",
                    size,
                    hop=lambda link, a, b, t0, st: hop(link, a, b, t0, st, size),
                )
            if status == "delivered":
                status = yield from self.home.send(
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
            self.stage_record(
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
                card = self.home.deployment.serving(device, stage["model"])
                if card is None:
                    self._stage_ended(
                        chain, ctx, stage, device, "broken", start_t, f"{device} serves no {stage['model']}"
                    )
                    return
                k = ctx["k"] if stage["input"] == "same" else ctx["k"] + 1
                stream = ctx["stream"]
                if k >= len(stream) or stream.group[k] != stream.group[ctx["k"]]:
                    self.stage_record(
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
                if stream.ready_s[k] > self.home.env.now:
                    yield self.home.env.timeout(stream.ready_s[k] - self.home.env.now)
                result = yield from self.inference.infer_stage(chain, stage, device, card, stream, k)
                if result is None:
                    return
                label, score, energy, placed_here = result
                ctx["k"] = k
                detail = ""
                if placed_here is not None:
                    detail = placed_here["detail"]
                    ctx.update(device=placed_here["result_device"], placed=placed_here)
            passed = self._passes(stage, label, score)
            self.stage_record(
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
            speaker = self.home.device(self.home.params["speaker"])
            if speaker.present and speaker.state == "active":
                speaker.set_state("idle")
        if stage["trigger"] and ctx["stream"].source == "imu":
            hook = "gesture"
        if hook:
            self.home.fire(hook)
        what = {
            "announce": f"speaker: '{label} at the door'",
            "notify": f"phone notified: {label} seen while nobody is home",
            "lights": f"hub acts on '{label}': {ground_truth.COMMANDS.get(label, label)}",
            "alarm_off": "alarm dismissed",
            "pause_music": f"{ground_truth.CONTROL_GESTURES.get(label, label)}",
            "log": f"logged {label}",
        }
        return what[action]
