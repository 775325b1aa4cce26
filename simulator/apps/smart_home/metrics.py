"""The smart-home app's metrics, from the trace: per chain (events, precision and recall
against the ground truth, per-hop and end-to-end latency, deadline misses, bytes per hop,
energy per device), the deploys, the switching policy, the motion gates, the doorbell's
battery projected to days with what its draw is spent on, and, when stages are placed,
where their layers ran and what it cost.

A pure function of the trace: :func:`summarize` reads the records and the app's entry in
``trace.meta["apps"]`` (its params and the night's facts the app wrote there when it
started, see :func:`night_facts`), never the live app; the GUI shows the same numbers."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

import simulator.apps.smart_home.voice_gate as voice_gate
from simulator.apps.smart_home.chains import SOURCE_TRIGGERS, chain_graph
from simulator.apps.smart_home.records import (
    ChainHop,
    ChainStage,
    DeployPlan,
    PlacedShare,
    PolicyChange,
    Truth,
)
from simulator.placement.runner import Placed
from simulator.trace import DeviceJoined, DeviceLeft, Inference, Message, ModelDeployed, Note, PowerState

if TYPE_CHECKING:
    from simulator.apps.smart_home.streams import Stream
    from simulator.trace import Trace

GATE_LOAD = "motion_gate"  # a camera's motion gate, a load on it while awake


# -- facts of the night, written to the meta when the app starts --------------------------
def encode_times(times: list[float]) -> list:
    """Input times as runs ``[first_ms, step_ms, count]`` (a camera's frames are periodic:
    a night's 50,000 frames are a few runs), or the plain list when they are not on the
    millisecond grid. Exact: :func:`decode_times` gives the same floats back."""
    ms = [round(t * 1000.0) for t in times]
    if any(m / 1000.0 != t for m, t in zip(ms, times, strict=True)):
        return [list(times)]
    runs: list[list[int]] = []
    for m in ms:
        if runs and runs[-1][2] == 1:
            runs[-1][1] = m - runs[-1][0]
        if runs and runs[-1][0] + runs[-1][1] * runs[-1][2] == m:
            runs[-1][2] += 1
        else:
            runs.append([m, 0, 1])
    return runs


def decode_times(runs: list) -> list[float]:
    if len(runs) == 1 and isinstance(runs[0], list) and runs[0] and isinstance(runs[0][0], float):
        return list(runs[0])
    return [(first + step * i) / 1000.0 for first, step, count in runs for i in range(count)]


def encode_flags(flags: list[bool]) -> list[int]:
    """Booleans as run lengths, starting with a run of False (possibly empty)."""
    runs, value, n = [], False, 0
    for flag in flags:
        if bool(flag) != value:
            runs.append(n)
            value, n = not value, 0
        n += 1
    return [*runs, n]


def decode_flags(runs: list[int]) -> list[bool]:
    out: list[bool] = []
    for i, n in enumerate(runs):
        out += [i % 2 == 1] * n
    return out


def night_facts(
    away: list[tuple[float, float]],
    streams: dict[str, Stream],
    gate_power_w: dict[str, float],
    doorbell: dict[str, Any] | None,
    links_j_per_bit: dict[str, tuple[float, float]],
) -> dict[str, Any]:
    """What the summary needs that no record says, known when the night starts: when nobody
    is home, each sensor's input schedule and gate decisions, the cameras' gate power, the
    doorbell's power figures and the links' energy per bit (JSON, in the app's meta entry)."""
    return {
        "away": [list(span) for span in away],
        "sensors": {
            device: {"times": encode_times(s.ready_s), "gated": encode_flags(s.gated)}
            for device, s in streams.items()
        },
        "gate_power_w": gate_power_w,
        "doorbell": doorbell,
        "links_j_per_bit": {name: list(pair) for name, pair in links_j_per_bit.items()},
    }


def _home_at(facts: dict[str, Any], t: float) -> bool:
    return not any(a <= t < b for a, b in facts["away"])


def stream_stats(
    facts: dict[str, Any], device: str, end_s: float, spans: list[tuple[float, float]]
) -> dict[str, int]:
    """Inputs sensor ``device`` produced by ``end_s`` while home, and how many its gate passed."""
    sensor = facts["sensors"].get(device)
    if sensor is None:
        return {}
    times, gated = decode_times(sensor["times"]), decode_flags(sensor["gated"])
    inside = [k for k, t in enumerate(times) if t <= end_s and any(a <= t < b for a, b in spans)]
    return {"inputs": len(inside), "gated": sum(1 for k in inside if gated[k])}


def gate_energy_j(records: list, facts: dict[str, Any], device: str, end_s: float) -> float:
    """Energy the motion gate of camera ``device`` drew by ``end_s``: its power over each
    time the camera was awake with the gate on (the ``motion_gate`` load in its power states)."""
    gate_w = facts["gate_power_w"].get(device, 0.0)
    energy, since = 0.0, None
    for r in records:
        if type(r) is not PowerState or r.device != device:
            continue
        on = GATE_LOAD in r.state.split("+")[1:]
        if on and since is None:
            since = r.t
        elif not on and since is not None:
            energy += gate_w * (r.t - since)
            since = None
    if since is not None:
        energy += gate_w * max(end_s - since, 0.0)
    return energy


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    arr = np.asarray(values, float)
    return {
        "n": len(values),
        "p50": round(float(np.percentile(arr, 50)), 4),
        "p95": round(float(np.percentile(arr, 95)), 4),
        "max": round(float(arr.max()), 4),
    }


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The 95 % Wilson score interval of a proportion ``k / n`` (``None`` when ``n`` is 0):
    with a night's handful of events a recall is a wide interval, not a number."""
    if n <= 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(float(centre - half), 3), round(float(centre + half), 3))


def presence(records: list, device: str, end_s: float, present_at_start: bool) -> list[tuple[float, float]]:
    """Intervals during which ``device`` was in the home."""
    spans, since = [], 0.0 if present_at_start else None
    for r in records:
        if type(r) is DeviceJoined and r.device == device and since is None:
            since = r.t
        elif type(r) is DeviceLeft and r.device == device and since is not None:
            spans.append((since, r.t))
            since = None
    if since is not None:
        spans.append((since, end_s))
    return spans


def _positives(
    facts: dict[str, Any], chain: dict, truths: list[Truth], spans: list[tuple[float, float]]
) -> tuple[list[Truth], set[str]]:
    """Ground truth the chain should act on: seen by its sensor while the sensor was home,
    of a class every model stage accepts, when some action stage's ``when`` held."""
    source = chain["source"]
    classes: set[str] = set()
    for stage in chain["stages"]:
        if stage["model"] and any(c["action"] for c in chain["children"].get(stage["id"], [])):
            classes |= set(stage["condition"]["classes"])
    whens = {s["when"] for s in chain["stages"] if s["action"]} or {"any"}
    out = []
    for tr in truths:
        if tr.where != source["device"] or tr.label not in classes:
            continue
        if not any(a <= tr.t < b for a, b in spans):
            continue
        home = _home_at(facts, tr.t)
        if "any" in whens or ("home" in whens and home) or ("away" in whens and not home):
            out.append(tr)
    return out, classes


def compute_waits(
    chain: dict, stages: list[ChainStage], hops: list[ChainHop], ended: dict
) -> dict[str, list]:
    """Per model stage: how long each run's input waited for the device's compute unit
    (the ``Inference`` start minus the input's arrival: the last hop into the stage, else
    the stage's start). ``ended`` maps (device, end time) to the ``Inference`` that ended
    then (a stage's record is written the instant its inference ends). Stages that take
    the sensor's next input (they wait for it, not for the unit) are left out."""
    arrived: dict[tuple[int, str], float] = {}
    for h in hops:
        key = (h.run, h.stage_to)
        arrived[key] = max(arrived.get(key, h.end_t), h.end_t)
    waits: dict[str, list[float]] = defaultdict(list)
    by_id = chain["by_id"]
    for r in stages:
        stage = by_id.get(r.stage.removesuffix(" re-check"))
        if not r.model or r.energy_j <= 0 or stage is None or stage["input"] != "same":
            continue
        inference = ended.get((r.device, r.t))
        if inference is None or inference.model != r.model:
            continue
        start = arrived.get((r.run, r.stage), r.start_t) if r.run else r.start_t
        waits[r.stage].append(max(inference.t - start, 0.0))
    return waits


def chain_metrics(
    home: _Home,
    chain: dict,
    end_s: float,
    ended: dict | None = None,
    placed: list[Placed] | None = None,
) -> dict[str, Any]:
    name = chain["name"]
    source = chain["source"]
    records, facts = home.records, home.facts
    stages = [r for r in home.stages if r.chain == name]
    hops = [r for r in home.hops if r.chain == name]
    truths = home.truths
    spans = home.presence(source["device"], end_s)
    runs = {r.run for r in stages if r.stage == source["id"] and r.outcome == "pass"}
    actions = [r for r in stages if r.outcome == "action"]
    alerts: dict[int, ChainStage] = {}
    for r in actions:
        alerts.setdefault(r.run, r)
    positives, classes = _positives(facts, chain, truths, spans)
    grace = home.params["match_grace_s"]
    matched_truths: set[int] = set()
    true_alerts = 0
    # One alert detects at most one truth and one truth is detected by at most one alert:
    # each alert, in time order, takes the earliest truth it fits that no alert took yet
    # (two commands within the grace period are two detections, not one). An alert that
    # fits only truths already taken still rests on something real (for precision).
    for alert in sorted(alerts.values(), key=lambda a: a.trigger_t):
        fits = [
            tr.truth_id
            for tr in positives
            if tr.label == alert.label and tr.t <= alert.trigger_t <= tr.end_t + grace
        ]
        if fits:
            true_alerts += 1
            free = [i for i in fits if i not in matched_truths]
            if free:
                matched_truths.add(free[0])
    hop_spans: dict[tuple[int, str], list[float]] = {}
    hop_bytes: dict[str, int] = defaultdict(int)
    energy: dict[str, float] = defaultdict(float)
    for h in hops:
        key = f"{h.stage_from}→{h.stage_to}"
        span = hop_spans.setdefault((h.run, key), [h.t, h.end_t])
        span[0], span[1] = min(span[0], h.t), max(span[1], h.end_t)
        hop_bytes[f"{h.src}→{h.dst}"] += h.size_bytes
        energy[h.src] += h.src_energy_j
        energy[h.dst] += h.dst_energy_j
    for r in stages:
        energy[r.device] += r.energy_j
    for r in placed or []:  # a placed stage's record holds its device's share; the rest:
        chain_name, _, by_device = home.shares[r.request]
        if chain_name == name:
            for device, joules in by_device.items():
                if device != r.source:
                    energy[device] += joules
    if source["trigger"] == "motion":
        energy[source["device"]] += gate_energy_j(records, facts, source["device"], end_s)
    per_hop: dict[str, list[float]] = defaultdict(list)
    for (_, key), (t0, t1) in hop_spans.items():
        per_hop[key].append(t1 - t0)
    per_stage: dict[str, list[float]] = defaultdict(list)
    misses: dict[str, int] = defaultdict(int)
    for r in stages:
        if r.outcome in ("pass", "stop", "action", "dismissed"):
            per_stage[r.stage].append(r.t - r.start_t)
        if r.missed and r.outcome != "skipped":
            misses[r.stage] += 1
    gate = stream_stats(facts, source["device"], end_s, spans) if source["trigger"] in SOURCE_TRIGGERS else {}
    return {
        "qos": chain["qos"],
        "inputs": gate.get("inputs"),
        "gated": gate.get("gated"),
        "model_calls": sum(1 for r in stages if r.stage == source["id"]),
        "runs": len(runs),
        "actions": len(actions),
        "alerts": len(alerts),
        "truth_events": len(positives),
        "detected": len(matched_truths),
        "true_alerts": true_alerts,
        "recall": round(len(matched_truths) / len(positives), 4) if positives else None,
        "recall_ci95": wilson_interval(len(matched_truths), len(positives)),
        "precision": round(true_alerts / len(alerts), 4) if alerts and classes else None,
        "end_to_end_s": _stats([r.t - r.trigger_t for r in alerts.values()]),
        "per_hop_s": {k: _stats(v) for k, v in per_hop.items()},
        "per_stage_s": {k: _stats(v) for k, v in per_stage.items()},
        "compute_wait_s": {k: _stats(v) for k, v in compute_waits(chain, stages, hops, ended or {}).items()},
        "deadline_misses": sum(misses.values()),
        "deadline_misses_by_stage": dict(misses),
        "bytes_per_hop": dict(hop_bytes),
        "energy_j_by_device": {k: round(v, 6) for k, v in sorted(energy.items())},
        "outcomes": _count(r.outcome for r in stages),
    }


def _count(items) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for item in items:
        out[item] += 1
    return dict(out)


def deploy_metrics(records: list, app: str, links_j_per_bit: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Each deploy the hub made: what, why, how long the bytes took and their energy."""
    out = []
    for plan in (r for r in records if type(r) is DeployPlan and r.app == app):
        arrived = None
        for r in records:
            if r.t < plan.t:
                continue
            if plan.role == "serving" and type(r) is ModelDeployed:
                if (r.device, r.model, r.variant) == (plan.device, plan.model, plan.variant):
                    arrived = r.t
                    break
            if (
                plan.role == "emergency"
                and type(r) is Note
                and r.device == plan.device
                and r.kind == "stored"
            ):
                if f":{plan.variant} " in r.text:
                    arrived = r.t
                    break
        energy = 0.0
        messages = 0
        for r in records:
            if type(r) is Message and r.msg_kind == "deploy" and r.size_bytes == plan.size_bytes:
                if plan.t <= r.t and (arrived is None or r.end_t <= arrived + 1e-9):
                    tx_j_per_bit, rx_j_per_bit = links_j_per_bit[r.link]
                    energy += r.size_bytes * 8.0 * (tx_j_per_bit + rx_j_per_bit)
                    messages += 1
        out.append(
            {
                "t": round(plan.t, 3),
                "device": plan.device,
                "model": plan.model,
                "variant": plan.variant,
                "role": plan.role,
                "bytes": plan.size_bytes,
                "deploy_s": None if arrived is None else round(arrived - plan.t, 4),
                "energy_j": round(energy, 6),
                "messages": messages,
                "reason": plan.reason,
            }
        )
    return out


def battery_breakdown(
    home: _Home, device: str, power: dict[str, Any] | None, end_s: float
) -> dict[str, Any] | None:
    """Where ``device``'s energy went while it was home (by power state, load and compute),
    and its battery projected to days at that average draw; ``power``: its capacity, power
    states and loads (``None``: no battery)."""
    if power is None:
        return None
    records = home.records
    states_w, loads_w = power["power_states_w"], _last_woken_loads_w(records, home.facts)
    parts: dict[str, float] = defaultdict(float)
    previous: PowerState | None = None
    for r in records:
        if type(r) is PowerState and r.device == device:
            if previous is not None:
                _attribute(parts, previous, r.t - previous.t, states_w, loads_w)
            previous = r
        elif type(r) is Inference and r.device == device:
            parts["compute (models)"] += r.energy_j
    if previous is not None:
        _attribute(parts, previous, end_s - previous.t, states_w, loads_w)
    spans = home.presence(device, end_s)
    home_s = sum(b - a for a, b in spans)
    total = sum(parts.values())
    if home_s <= 0 or total <= 0:
        return None
    average_w = total / home_s
    capacity_j = power["capacity_wh"] * 3600.0
    dominant = max(parts, key=parts.get)
    return {
        "hours_home": round(home_s / 3600.0, 3),
        "energy_j": round(total, 4),
        "average_mw": round(average_w * 1e3, 4),
        "projected_days": round(capacity_j / average_w / 86400.0, 1),
        "breakdown_j": {k: round(v, 4) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])},
        "dominant": dominant,
        "dominant_share": round(parts[dominant] / total, 3),
    }


def _last_woken_loads_w(records: list, facts: dict[str, Any]) -> dict[str, float]:
    """The loads' power as the live app last set it: the latest camera to wake (the rule
    before the summary came from the trace, kept to show the summaries identical)."""
    cameras = facts["camera_loads_w"]
    loads: dict[str, float] = {}
    had: dict[str, set[str]] = {}
    for r in records:
        if type(r) is PowerState and r.device in cameras:
            now = set(r.state.split("+")[1:])
            for load in ("wifi", GATE_LOAD):
                if load in now and load not in had.get(r.device, set()) and cameras[r.device][load] > 0:
                    loads[load] = cameras[r.device][load]
            had[r.device] = now
    return loads


def _attribute(
    parts: dict[str, float], record: PowerState, seconds: float, states_w: dict[str, float], load_power_w
) -> None:
    if seconds <= 0 or record.power_w <= 0:
        return
    state, *loads = record.state.split("+")
    state_w = states_w.get(state, 0.0)
    parts[f"{state} state"] += state_w * seconds
    rest = record.power_w - state_w
    for load in loads:
        if load in load_power_w:
            parts[load] += load_power_w[load] * seconds
            rest -= load_power_w[load]
    if rest > 1e-12:
        parts["radio transfers"] += rest * seconds


def placement_metrics(home: _Home, placed: list[Placed]) -> dict[str, Any]:
    """Per placed stage (``chain/stage``): its policy, where its layers ran (splits, tail
    devices), latency from the input to the result where it is needed, deadline misses and
    the energy of its compute and transfers per device (battery devices' share apart)."""
    out: dict[str, Any] = {}
    for (chain, stage), config in home.placements.items():
        mine = [r for r in placed if home.shares[r.request][:2] == (chain, stage)]
        energy: dict[str, float] = defaultdict(float)
        for r in mine:
            for device, joules in home.shares[r.request][2].items():
                energy[device] += joules
        n = len(mine)
        out[f"{chain}/{stage}"] = {
            "policy": config["policy"],
            "requests": n,
            "offloaded_pct": round(100.0 * sum(r.split < r.n_layers for r in mine) / n, 2) if n else None,
            "splits": {str(k): v for k, v in sorted(_count(r.split for r in mine).items())},
            "tail_devices": _count(r.tail_device for r in mine),
            "status": _count(r.status for r in mine),
            "latency_ms": {
                k: (None if v is None else round(v * 1e3, 3)) if k != "n" else v
                for k, v in _stats([r.latency_s for r in mine]).items()
            },
            "deadline_misses": sum(1 for r in mine if not r.met),
            "miss_pct": round(100.0 * sum(1 for r in mine if not r.met) / n, 3) if n else None,
            "battery_j": round(sum(r.battery_j for r in mine), 6),
            "energy_j_by_device": {k: round(v, 6) for k, v in sorted(energy.items())},
        }
    return out


class _Home:
    """The records of one smart-home app up to a time, and its meta entry, read once."""

    def __init__(self, trace: Trace, app: dict[str, Any], end_s: float) -> None:
        self.name = app["name"]
        self.params = app["params"]
        self.facts = app["facts"]
        self.chains = chain_graph(self.params["chains"])
        self.placements = {
            (c["name"], s["id"]): s["placement"]
            for c in self.chains
            for s in c["stages"]
            if s.get("placement")
        }
        self.at_start = set(trace.meta.get("devices", {}))
        self.records = records = trace.until(end_s)
        name = self.name
        self.stages = [r for r in records if type(r) is ChainStage and r.app == name]
        self.hops = [r for r in records if type(r) is ChainHop and r.app == name]
        self.truths = [r for r in records if type(r) is Truth and r.app == name]
        self.shares = {
            r.request: (r.chain, r.stage, r.energy_j_by_device)
            for r in records
            if type(r) is PlacedShare and r.app == name
        }

    def presence(self, device: str, end_s: float) -> list[tuple[float, float]]:
        return presence(self.records, device, end_s, device in self.at_start)


def summarize(trace: Trace, app: dict[str, Any], end_s: float) -> dict[str, Any]:
    """The smart-home app's metrics by ``end_s`` from ``trace`` alone; ``app`` is its entry in
    ``trace.meta["apps"]`` (name, params, facts)."""
    home = _Home(trace, app, end_s)
    records, name, params, facts = home.records, home.name, home.params, home.facts
    ended = {(r.device, r.end_t): r for r in records if type(r) is Inference}
    placed = [r for r in records if type(r) is Placed and r.app == name] if home.placements else []
    chains = {c["name"]: chain_metrics(home, c, end_s, ended, placed) for c in home.chains}
    switches = [r for r in records if type(r) is PolicyChange and r.app == name and r.policy == "switching"]
    local_s = 0.0
    since: dict[str, float] = {}
    for r in switches:
        if r.state == "local":
            since[r.device] = r.t
        elif r.device in since:
            local_s += r.t - since.pop(r.device)
    local_s += sum(end_s - t for t in since.values())
    out: dict[str, Any] = {
        "chains": chains,
        "deploys": deploy_metrics(records, name, facts["links_j_per_bit"]),
        "switching": {
            "switches": len(switches),
            "to_local": sum(1 for r in switches if r.state == "local"),
            "local_s": round(local_s, 1),
        },
        "chain_changes": [
            {"t": round(r.t, 1), "device": r.device, "chain": r.policy, "state": r.state, "detail": r.detail}
            for r in records
            if type(r) is PolicyChange and r.app == name and r.policy != "switching"
        ],
        "gates": {d: stream_stats(facts, d, end_s, home.presence(d, end_s)) for d in facts["sensors"]},
        "truth": _count(r.kind for r in home.truths),
    }
    speaker = facts["sensors"].get(params["speaker"])
    if speaker is not None:
        heard = sum(1 for t in decode_times(speaker["times"]) if t <= end_s)
        out["voice_gate"] = voice_gate.summary(records, facts, params["speaker"], heard, end_s)
    if "doorbell" in facts:
        out["doorbell_battery"] = battery_breakdown(home, params["doorbell"], facts["doorbell"], end_s)
    if home.placements:
        out["placement"] = placement_metrics(home, placed)
    unavailable = next(
        (
            r.text
            for r in records
            if type(r) is Note and r.kind == "unavailable" and r.device == params["speaker"]
        ),
        None,
    )
    if unavailable:
        out["unavailable"] = unavailable
    return out
