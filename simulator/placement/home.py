"""The home the placement bench and the RL environment run: cameras, a doorbell and a
speaker that need inferences, a hub and the cloud to offload to, links whose bandwidth fades
and a doorbell link that drops out, and a stream of requests.

:func:`scenario` writes it as an ordinary scenario dict (devices, links, outage events; no
apps), built by the real engine (``Simulation.from_dict``). :class:`Workload` then adds the
request streams (Poisson arrivals per source) and the bandwidth fading as SimPy processes,
decides each request with a policy — or leaves it ``pending`` for an outside decider (the
gymnasium environment) — and serves it with a :class:`~simulator.placement.runner.PlacementRunner`.
The label each served request records is the real model's output on a real input from the
zoo's generators, with the int8 boundary applied at the split that ran (:class:`OutputBank`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np

from models.cards import find_card
from simulator.engine import Simulation
from simulator.placement.cost import Placement, Request
from simulator.placement.layers import layer_table
from simulator.placement.observe import Reward
from simulator.placement.policy import Policy
from simulator.placement.runner import Outcome, PlacementRunner

APP = "placement"
TARGETS = ("hub", "cloud")
SINK = "hub"  # the chains' next stop: the hub acts on every result (camera → hub → speaker)
# Inputs per model in the output bank; request i uses input i mod this.
BANK_SIZE = 48
BANK_SEED = 7


@dataclass(frozen=True)
class Source:
    """A device that asks for inferences of ``model`` at Poisson rate ``rate_hz``."""

    device: str
    profile: str
    model: str
    variant: str
    rate_hz: float
    deadline_s: float
    state_of_charge: float | None = None  # battery at the start (None: full)
    link: dict[str, Any] = field(default_factory=dict)  # overrides of its Wi-Fi link to the hub


@dataclass(frozen=True)
class Setting:
    """One home to run placements in (all rates and durations in seconds)."""

    name: str
    sources: tuple[Source, ...]
    duration_s: float = 120.0  # requests arrive during this long
    drain_s: float = 30.0  # then the engine runs this long for the last results
    fading_sigma: float = 0.5  # log-normal spread of each link's bandwidth around its figure
    fading_period_s: float = 2.0
    fading_correlation: float = 0.8  # AR(1) in log-bandwidth from one period to the next
    outage_link: str = ""  # a link that drops out now and then
    outages_per_min: float = 0.0
    outage_s: tuple[float, float] = (2.0, 8.0)
    boundary: str = "int8"

    def with_seconds(self, duration_s: float) -> Setting:
        return replace(self, duration_s=duration_s)


def _camera(name: str, rate_hz: float, deadline_s: float, **extra) -> Source:
    return Source(name, "camera", "camera_detector", "fp32", rate_hz, deadline_s, **extra)


# Cameras host the fp32 variant (their CPU; the int8 variant on the NPU is so cheap that
# all-local wins at every bandwidth: see bench/placement.py's split table). A camera's
# result is due at the hub within 100 ms, a voice command's within 300 ms.
NORMAL = Setting(
    "normal",
    (
        _camera("cam0", 1.0, 0.1),
        _camera("cam1", 1.0, 0.1),
        _camera("doorbell", 0.5, 0.1),
        Source("speaker", "speaker", "keyword_spotter", "fp32", 0.3, 0.3),
    ),
    fading_sigma=0.3,
)
# Four cameras (the doorbell one of them) at motion-burst rates, the doorbell low on battery
# and on a weak Wi-Fi link (a tenth of the figure) that drops out about twice a minute.
STRESSED = Setting(
    "stressed",
    (
        _camera("cam0", 3.0, 0.1),
        _camera("cam1", 3.0, 0.1),
        _camera("cam2", 3.0, 0.1),
        _camera("doorbell", 2.0, 0.1, state_of_charge=0.15, link={"bandwidth_bps": 2.0e6, "loss": 0.05}),
        Source("speaker", "speaker", "keyword_spotter", "fp32", 0.3, 0.3),
    ),
    fading_sigma=0.6,
    outage_link="doorbell-hub",
    outages_per_min=2.0,
)
SETTINGS = {s.name: s for s in (NORMAL, STRESSED)}


def scenario(setting: Setting, seed: int) -> dict[str, Any]:
    """The scenario dict of ``setting``: outages drawn from ``seed``."""
    models = {s.model: "fp32" for s in setting.sources}
    devices = []
    for source in setting.sources:
        device: dict[str, Any] = {"name": source.device, "profile": source.profile}
        device["models"] = {source.model: source.variant}
        if source.state_of_charge is not None:
            device["battery"] = {"state_of_charge": source.state_of_charge}
        devices.append(device)
    devices.append({"name": "hub", "profile": "home_hub", "models": dict(models)})
    devices.append({"name": "cloud", "profile": "cloud", "models": dict(models)})
    links = [
        {"name": f"{s.device}-hub", "type": "wifi", "a": s.device, "b": "hub", **s.link}
        for s in setting.sources
    ]
    links.append({"name": "hub-cloud", "type": "wan", "a": "hub", "b": "cloud"})
    events = []
    if setting.outage_link and setting.outages_per_min > 0:
        rng = np.random.default_rng([seed, 0x0A7])
        t = 0.0
        while True:
            t += rng.exponential(60.0 / setting.outages_per_min)
            if t >= setting.duration_s:
                break
            length = rng.uniform(*setting.outage_s)
            events.append(
                {
                    "at": round(t, 3),
                    "type": "link_down",
                    "link": setting.outage_link,
                    "until": round(t + length, 3),
                    "reason": "doorbell out of Wi-Fi range",
                }
            )
            t += length
    return {
        "name": f"placement home ({setting.name})",
        "description": "Cameras, a doorbell and a speaker asking where to run each inference",
        "duration": setting.duration_s + setting.drain_s,
        "seed": seed,
        "devices": devices,
        "links": links,
        "events": events,
    }


class OutputBank:
    """Real model outputs: for each input of a fixed bank (the zoo's held-out generator) and
    each split point, the label and score when the split tensor crosses at ``boundary``."""

    def __init__(self, model: str, boundary: str):
        self.labels, self.scores = _bank(model, boundary)

    def output(self, index: int, split: int) -> tuple[str, float]:
        i = index % len(self.scores[split])
        return self.labels[split][i], self.scores[split][i]


@lru_cache(maxsize=16)
def _bank(model: str, boundary: str) -> tuple[list[list[str]], list[list[float]]]:
    import torch  # deferred: only a running workload needs torch

    from models import partition
    from models.zoo import ZOO

    spec = ZOO[model]
    x, _ = spec.make_dataset("test", BANK_SIZE, BANK_SEED)
    module = partition.load_trained(model)
    xs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    labels, scores = [], []
    for k in range(len(partition.sequential_view(module)) + 1):
        probabilities = torch.softmax(partition.run_split(module, xs, k, boundary), dim=1).numpy()
        labels.append([spec.classes[j] for j in probabilities.argmax(1)])
        scores.append([round(float(p), 6) for p in probabilities.max(1)])
    return labels, scores


class Workload:
    """Request streams and link fading on ``sim`` for ``setting``. With a ``policy`` each
    request is placed by it; without, requests wait in :attr:`pending` (request, event) for
    someone to ``event.succeed(placement)``."""

    def __init__(self, sim, setting: Setting, policy: Policy | None = None, policy_name: str = "") -> None:
        self.sim = sim
        self.env = sim.env
        self.setting = setting
        self.policy = policy
        self.policy_name = policy_name or (policy.NAME if policy is not None else "external")
        self.runner = PlacementRunner(sim, APP)
        self.pending: deque[tuple[Request, Any]] = deque()
        self.outcomes: list[Outcome] = []
        self.soc_at_request: dict[int, float] = {}
        self.in_flight = 0
        self.arrivals_done = 0
        self._next_id = 0
        self._banks = {s.model: OutputBank(s.model, setting.boundary) for s in setting.sources}
        self._cards = {s.device: find_card(s.model, s.variant) for s in setting.sources}

    @property
    def done(self) -> bool:
        """Every stream has stopped and every request has its outcome."""
        return self.arrivals_done == len(self.setting.sources) and self.in_flight == 0

    def metrics(self, reward=None) -> dict[str, Any]:
        """Headline numbers of the served requests: latency percentiles, deadline misses,
        energy per device (compute and radio bits), reward per request, where work ran."""

        reward = reward or Reward()
        records = [o.record for o in self.outcomes]
        if not records:
            return {"requests": 0}
        latency_ms = np.array([r.latency_s for r in records]) * 1e3
        energy: dict[str, float] = {}
        for outcome in self.outcomes:
            for device, joules in outcome.energy_j.items():
                energy[device] = energy.get(device, 0.0) + joules
        statuses: dict[str, int] = {}
        for r in records:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        return {
            "requests": len(records),
            "p50_ms": float(np.percentile(latency_ms, 50)),
            "p95_ms": float(np.percentile(latency_ms, 95)),
            "miss_pct": 100.0 * float(np.mean([not r.met for r in records])),
            "energy_j": dict(sorted(energy.items())),
            "battery_j": float(sum(r.battery_j for r in records)),
            "reward_per_request": float(
                np.mean([reward(r, self.soc_at_request[r.request]) for r in records])
            ),
            "offloaded_pct": 100.0 * float(np.mean([r.split < r.n_layers for r in records])),
            "status": statuses,
        }

    def start(self) -> None:
        for source in self.setting.sources:
            self.env.process(self._arrivals(source))
        for name in sorted(self.sim.links):
            self.env.process(self._fading(name))

    def _arrivals(self, source: Source):
        rng = self.sim.rng(f"{APP}/arrivals:{source.device}")
        card = self._cards[source.device]
        table = layer_table(source.model)
        while True:
            yield self.env.timeout(rng.exponential(1.0 / source.rate_hz))
            if self.env.now >= self.setting.duration_s:
                break
            request = Request(
                self._next_id,
                self.env.now,
                source.device,
                card,
                table,
                source.deadline_s,
                sink=SINK,
                targets=TARGETS,
                boundary=self.setting.boundary,
            )
            self._next_id += 1
            self.in_flight += 1
            self.soc_at_request[request.id] = self.sim.devices[source.device].state_of_charge
            self.env.process(self._serve(request))
        self.arrivals_done += 1

    def _serve(self, request: Request):
        if self.policy is not None:
            placement = self.policy.place(request, self.runner.state())
        else:
            decided = self.env.event()
            self.pending.append((request, decided))
            placement = yield decided
        placement = _valid(placement, request)
        split = request.table.n_layers if placement.is_local(request) else placement.split
        label, score = self._banks[request.model].output(request.id, split)
        outcome = yield from self.runner.serve(request, placement, self.policy_name, label, score)
        self.outcomes.append(outcome)
        self.in_flight -= 1

    def _fading(self, name: str):
        """Log-normal AR(1) bandwidth around the link's figure, re-drawn every period."""
        setting = self.setting
        if setting.fading_sigma <= 0:
            return
        link = self.sim.links[name]
        nominal_bps = link.bandwidth_bps
        rng = self.sim.rng(f"{APP}/fading:{name}")
        rho = setting.fading_correlation
        innovation = setting.fading_sigma * np.sqrt(1.0 - rho**2)
        log_ratio = setting.fading_sigma * rng.standard_normal()
        while self.env.now < setting.duration_s:
            link.degrade("fading", bandwidth_bps=nominal_bps * float(np.exp(log_ratio)))
            yield self.env.timeout(setting.fading_period_s)
            log_ratio = rho * log_ratio + innovation * rng.standard_normal()


def _valid(placement: Placement, request: Request) -> Placement:
    """A placement whose split index is within the model (a policy may overshoot)."""
    n = request.table.n_layers
    return Placement(placement.target, min(max(placement.split, 0), n))


def build(setting: Setting, seed: int, policy: Policy | None = None, policy_name: str = ""):
    """``(sim, workload)`` of ``setting`` with ``seed``, started (not run)."""

    sim = Simulation.from_dict(scenario(setting, seed), source=f"<placement home {setting.name}>")
    workload = Workload(sim, setting, policy, policy_name)
    workload.start()
    return sim, workload
