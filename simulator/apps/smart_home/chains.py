"""Inference chains as data, in the shape smart-home users already write (Home Assistant
automations: trigger → condition → action), and their validation at load.

A chain is a QoS class and a list of stages. Each stage has a trigger (a sensor source —
``motion`` on a camera, ``sound`` on a speaker, ``imu`` on a watch, ``timer`` — or the id of
another stage whose output it takes), the device it runs on, either a model task (``model``,
optionally a pinned ``variant``) with a ``condition`` on its output (classes and a minimum
score), or an ``action``; the bytes it sends on (``payload_bytes``) and a ``deadline``
(from its input being available to its output). ``when: home | away`` makes a stage run only
while someone is (or nobody is) home. A model stage may carry a ``placement`` (see
:mod:`simulator.placement.policies`): where its layers run — all on its device (as without
one), offloaded, split — chosen per input by a policy; without it the stage runs wholly on
its device. Errors name the field, e.g.
``scenarios/x.yaml, apps[0].params.chains[1].stages[2].model: unknown model 'cam'``.

Importing this module is light (model cards are read as JSON only).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from models.cards import available, find_card  # JSON only: light
from simulator.network import shortest_route
from simulator.placement import check_placement, layer_table
from simulator.validate import Field, ListOf, SpecError, check_file

QOS_CLASSES = ("security", "health", "voice", "media")
# QoS class → compute-queue priority (lower runs first). Health keeps the health app's
# PRIORITY_URGENT (0), security goes before it, voice is normal, media background.
QOS_PRIORITY = {"security": -1, "health": 0, "voice": 1, "media": 2}
# Real-time classes: they get the accelerator's reserved share.
REAL_TIME = ("security", "health")
SOURCE_TRIGGERS = ("motion", "sound", "imu", "timer")
# A source trigger needs a sensor on the stage's device: the device kinds that have it.
SOURCE_KINDS = {"motion": ("camera",), "sound": ("speaker",), "imu": ("watch",)}
WHEN = ("any", "home", "away")
ACTIONS = ("announce", "notify", "lights", "alarm_off", "pause_music", "log")

CONDITION_SCHEMA = {
    "classes": ListOf(Field(str), required=True),
    "min_score": Field(float, default=0.5, minimum=0.0, maximum=1.0),
}
STAGE_SCHEMA: dict[str, Any] = {
    "id": Field(str, required=True),
    "trigger": Field(str, required=True),
    "device": Field(str, required=True),
    "model": Field(str),
    "variant": Field(str),
    "action": Field(str, choices=ACTIONS),
    "condition": CONDITION_SCHEMA,
    "input": Field(str, default="same", choices=("same", "next")),
    "payload_bytes": Field(int, default=256, minimum=0),
    "deadline": Field("duration", default=1.0, minimum=0.0, exclusive_min=True),
    "when": Field(str, default="any", choices=WHEN),
    "fallback": Field(str),
    "every": Field("duration", minimum=1.0),
    "input_from": Field(str),
    "max_accuracy_loss_pts": Field(float, default=1.0, minimum=0.0),
    "placement": Field(Any),
}
CHAIN_SCHEMA: dict[str, Any] = {
    "name": Field(str, required=True),
    "qos": Field(str, required=True, choices=QOS_CLASSES),
    "description": Field(str, default=""),
    "cooldown": Field("duration", default=30.0, minimum=0.0),
    "emergency_precision": Field(bool, default=False),
    "stages": ListOf(STAGE_SCHEMA, required=True),
}


def check_chains(
    raw: Any, devices: dict[str, str], links: list[tuple[str, str]], file: str, where: str
) -> list[dict[str, Any]]:
    """Validate ``raw`` chains (``where`` is ``apps[i].params.chains``) against the scenario's
    ``devices`` (name → kind) and ``links`` (pairs); return them normalised."""
    chains = check_file(ListOf(CHAIN_SCHEMA), raw, file, where)
    names: set[str] = set()
    models = available()
    for i, chain in enumerate(chains):
        at = f"{file}, {where}[{i}]"
        if chain["name"] in names:
            raise SpecError(f"{at}.name: duplicate chain name {chain['name']!r}")
        names.add(chain["name"])
        stages = chain["stages"]
        if not stages:
            raise SpecError(f"{at}.stages: a chain needs at least one stage")
        ids = [s["id"] for s in stages]
        for j, stage in enumerate(stages):
            here = f"{at}.stages[{j}]"
            if ids.index(stage["id"]) != j:
                raise SpecError(f"{here}.id: duplicate stage id {stage['id']!r}")
            if stage["id"] in SOURCE_TRIGGERS:
                raise SpecError(f"{here}.id: {stage['id']!r} is a trigger name; choose another id")
            for field in ("device", "fallback", "input_from"):
                name = stage[field]
                if name is not None and name not in devices:
                    raise SpecError(
                        f"{here}.{field}: unknown device {name!r} (devices: {', '.join(devices)})"
                    )
            _check_stage_task(stage, here, models, find_card)
            if stage["placement"] is not None:
                _check_stage_placement(stage, here, devices, file, f"{where}[{i}].stages[{j}].placement")
            trigger = stage["trigger"]
            if trigger in SOURCE_TRIGGERS:
                kinds = SOURCE_KINDS.get(trigger)
                if kinds and devices[stage["device"]] not in kinds:
                    raise SpecError(
                        f"{here}.trigger: a {trigger} trigger needs a {' or '.join(kinds)} "
                        f"(device {stage['device']!r} is a {devices[stage['device']]})"
                    )
                if trigger == "timer" and stage["every"] is None:
                    raise SpecError(f"{here}.every: a timer trigger needs a period, e.g. '10min'")
                if stage["input"] == "next":
                    raise SpecError(f"{here}.input: 'next' needs a previous stage on the same device")
            elif trigger not in ids:
                raise SpecError(
                    f"{here}.trigger: unknown trigger {trigger!r} (expected one of "
                    f"{', '.join(SOURCE_TRIGGERS)} or a stage id: {', '.join(ids)})"
                )
            elif trigger == stage["id"]:
                raise SpecError(f"{here}.trigger: stage cycle: {trigger} triggers itself")
            else:
                previous = stages[ids.index(trigger)]
                if stage["input"] == "next" and previous["device"] != stage["device"]:
                    raise SpecError(f"{here}.input: 'next' needs the previous stage on the same device")
                for field, device in (("device", stage["device"]), ("fallback", stage["fallback"])):
                    if device is not None and not _connected(previous["device"], device, links):
                        raise SpecError(
                            f"{here}.{field}: no link path from {previous['device']!r} to {device!r}"
                        )
        sources = [j for j, s in enumerate(stages) if s["trigger"] in SOURCE_TRIGGERS]
        if len(sources) != 1:
            raise SpecError(
                f"{at}.stages: a chain needs exactly one stage with a source trigger "
                f"({', '.join(SOURCE_TRIGGERS)}), found {len(sources)}"
            )
        _check_cycles(stages, at)
    return chains


def _check_stage_task(stage: dict, here: str, models: dict[str, list[str]], find_card) -> None:
    if (stage["model"] is None) == (stage["action"] is None):
        raise SpecError(f"{here}.model: give exactly one of 'model' (a model task) or 'action'")
    if stage["model"] is None:
        for field in ("variant", "condition"):
            if stage[field] is not None:
                raise SpecError(f"{here}.{field}: only a model stage has a {field}")
        return
    if stage["model"] not in models:
        raise SpecError(
            f"{here}.model: unknown model {stage['model']!r} (models: {', '.join(sorted(models))})"
        )
    if stage["variant"] is not None and stage["variant"] not in models[stage["model"]]:
        raise SpecError(
            f"{here}.variant: model {stage['model']!r} has no variant {stage['variant']!r} "
            f"(variants: {', '.join(models[stage['model']])})"
        )
    classes = find_card(stage["model"], models[stage["model"]][0]).classes
    condition = stage["condition"]
    if condition is None:
        raise SpecError(f"{here}.condition: a model stage needs a condition (classes and min_score)")
    for k, name in enumerate(condition["classes"]):
        if name not in classes:
            raise SpecError(
                f"{here}.condition.classes[{k}]: {stage['model']} has no class {name!r} "
                f"(classes: {', '.join(classes)})"
            )


def _check_stage_placement(stage: dict, here: str, devices: dict[str, str], file: str, where: str) -> None:
    """Validate a stage's ``placement`` (:func:`simulator.placement.check_placement`) in place."""
    if stage["model"] is None:
        raise SpecError(f"{here}.placement: only a model stage can be placed (this stage is an action)")
    if stage["trigger"] == "timer":
        raise SpecError(
            f"{here}.placement: a timer stage runs best-effort batches on its device; it cannot be placed"
        )
    try:
        n_layers = layer_table(stage["model"]).n_layers
    except ValueError as exc:
        raise SpecError(f"{here}.placement: {exc}") from None
    stage["placement"] = check_placement(
        stage["placement"], file, where, devices, n_layers, stage["model"], Path(file).parent
    )


def _connected(a: str, b: str, links: list[tuple[str, str]]) -> bool:
    """Whether some path of links joins devices ``a`` and ``b``."""
    return shortest_route(links, a, b) is not None


def _check_cycles(stages: list[dict], at: str) -> None:
    """Stages form a tree below the source: following triggers back from any stage must
    reach the source without passing a stage twice."""
    by_id = {s["id"]: (j, s) for j, s in enumerate(stages)}
    for j, stage in enumerate(stages):
        seen = [stage["id"]]
        current = stage
        while current["trigger"] not in SOURCE_TRIGGERS:
            parent = current["trigger"]
            if parent in seen:
                loop = " → ".join([parent, *reversed(seen[seen.index(parent) :])])
                raise SpecError(f"{at}.stages[{j}].trigger: stage cycle: {loop}")
            seen.append(parent)
            current = by_id[parent][1]


def chain_graph(chains: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The checked ``chains`` with their graphs (the params are left as they are): each
    chain's ``by_id`` (id → stage), ``children`` (stage id → the stages it triggers),
    ``source`` (its sensor or timer stage) and ``priority`` (its QoS class's queue priority)."""
    out = []
    for chain in chains:
        graph = {**chain, "by_id": {s["id"]: s for s in chain["stages"]}, "children": defaultdict(list)}
        for stage in chain["stages"]:
            if stage["trigger"] in SOURCE_TRIGGERS:
                graph["source"] = stage
            else:
                graph["children"][stage["trigger"]].append(stage)
        graph["priority"] = QOS_PRIORITY[chain["qos"]]
        out.append(graph)
    return out
