"""Gymnasium environments over the placement decision, stepping the real engine.

:class:`ChainPlacementEnv` steps the smart-home app itself (what the agent serves): every
placeable model stage of a smart-home scenario gets a
:class:`~simulator.placement.policy.Deferred` policy, so each input the app's chains place
waits on an event that ``step`` succeeds with the agent's placement; the reward is that of
the ``Placed`` records the app wrote meanwhile. An episode is one night of the shipped
night, the stressed home, or either with varied rates, batteries and door link (drawn per
episode, with a training seed that is never one of the benches' held-out seeds).

:class:`PlacementEnv` steps the synthetic homes of :mod:`~simulator.placement.home`: each
episode builds one (the normal or the stressed setting, drawn per episode) as a
``Simulation`` with a fresh seed and runs its request streams. A step places the request waiting for a decision (action: local, or a target and a split,
see :mod:`~simulator.placement.observe`), then runs the engine — real device queues, links
with fading bandwidth, losses and outages — until the next request needs a decision. The
reward is :class:`~simulator.placement.observe.Reward` of every request whose result came in
meanwhile: with requests a few hundred milliseconds apart and results in tens, that is the
request just placed (``info["own_outcome"]`` says whether it was). The episode ends when the
streams have stopped and every request has its result.

This is the only module that imports gymnasium.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import simulator.placement.home as home
from simulator.placement.observe import HIGH, LOW, N_ACTIONS, N_FEATURES, Reward, decode, encode
from simulator.placement.policy import Deferred
from simulator.placement.runner import Placed

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CHAIN_HOMES = (SCENARIOS / "smart_home.yaml", SCENARIOS / "smart_home_stressed.yaml")
# Seeds a training episode never uses: bench/placement_heldout.py's (200 on) and
# bench/placement.py's chain seeds (11 on). Training seeds are drawn from 1000 up.
FIRST_TRAINING_SEED = 1000


class PlacementEnv(gym.Env):
    """Where to run each inference of a home's request streams (see the module docstring)."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        settings: tuple[str, ...] = ("normal", "stressed"),
        duration_s: float | None = None,
        reward: Reward | None = None,
    ) -> None:
        self.settings = [home.SETTINGS[name] for name in settings]
        if duration_s is not None:
            self.settings = [s.with_seconds(duration_s) for s in self.settings]
        self.reward_of = reward or Reward()
        self.observation_space = gym.spaces.Box(LOW, HIGH, shape=(N_FEATURES,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(N_ACTIONS)
        self.sim = None
        self.workload: home.Workload | None = None
        self._seen = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        setting = self.settings[int(self.np_random.integers(len(self.settings)))]
        sim_seed = int(self.np_random.integers(2**31 - 1))
        self.sim, self.workload = home.build(setting, sim_seed, policy_name="rl")
        self._seen = 0
        self._placements = []
        self._run_to_decision()
        return self._observation(), {"setting": setting.name, "seed": sim_seed}

    def step(self, action):
        workload = self.workload
        assert workload is not None and workload.pending, "call reset() first (the episode is over)"
        request, decided = workload.pending.popleft()
        decided.succeed(decode(action, self._placements))
        self._run_to_decision()
        new = workload.outcomes[self._seen :]
        self._seen = len(workload.outcomes)
        reward = sum(self.reward_of(o.record, workload.soc_at_request[o.record.request]) for o in new)
        terminated = not workload.pending
        info = {"outcomes": len(new), "own_outcome": any(o.record.request == request.id for o in new)}
        return self._observation(), float(reward), terminated, False, info

    def _run_to_decision(self) -> None:
        """Advance the engine until a request waits for a decision or the streams are done."""
        sim, workload = self.sim, self.workload
        while not workload.pending and not workload.done:
            t = sim.env.peek()
            if sim.finished or not math.isfinite(t) or t > sim.duration_s:
                break
            sim.advance(t)

    def _observation(self) -> np.ndarray:
        workload = self.workload
        if not workload.pending:
            return np.zeros(N_FEATURES, dtype=np.float32)
        request, _ = workload.pending[0]
        obs, self._placements = encode(request, workload.runner.state())
        return obs


class ChainPlacementEnv(gym.Env):
    """Where to run each placed inference of a smart-home night (see the module docstring).

    ``homes``: scenario files with a ``smart_home`` app; ``duration_s`` shortens the nights
    (tests); ``vary``: the share of episodes whose home is varied (:meth:`_variation`)."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        homes: tuple[Path, ...] = CHAIN_HOMES,
        duration_s: float | None = None,
        vary: float = 0.5,
        reward: Reward | None = None,
    ) -> None:
        from simulator.scenario import load_scenario
        from simulator.validate import read_yaml

        self.homes = [Path(p) for p in homes]
        self._raw = [read_yaml(p) for p in self.homes]
        # the app's event rates (``*_per_hour``), its defaults filled in by the loader
        self._rates = [
            {
                name: float(value)
                for app in load_scenario(p)["apps"]
                if app["type"] == "smart_home"
                for name, value in app["params"].items()
                if name.endswith("_per_hour")
            }
            for p in self.homes
        ]
        self.duration_s = duration_s
        self.vary = vary
        self.reward_of = reward or Reward()
        self.observation_space = gym.spaces.Box(LOW, HIGH, shape=(N_FEATURES,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(N_ACTIONS)
        self.sim = None
        self.decider: Deferred | None = None
        self._placements: list = []
        self._seen = 0
        self._soc: dict[int, float] = {}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        from simulator.engine import Simulation

        super().reset(seed=seed)
        while True:  # a night too short to place anything is drawn again
            info = self._start(Simulation)
            if self.decider.pending:
                return self._observation(), info

    def _start(self, Simulation) -> dict[str, Any]:
        rng = self.np_random
        index = int(rng.integers(len(self.homes)))
        sim_seed = int(rng.integers(FIRST_TRAINING_SEED, 2**31 - 1))
        overrides = self._placements_of(index)
        varied = bool(rng.random() < self.vary)
        if varied:
            overrides.update(self._variation(index, rng))
        if self.duration_s is not None:
            overrides["duration"] = self.duration_s
        self.sim = Simulation.from_file(self.homes[index], seed=sim_seed, overrides=overrides)
        app = next(a for a in self.sim.apps if a.TYPE == "smart_home")
        self.decider = Deferred(self.sim.env)
        app.inference.defer(self.decider)
        self._seen, self._soc = 0, {}
        self._run_to_decision()
        return {"home": self.homes[index].stem, "seed": sim_seed, "varied": varied}

    def _placements_of(self, index: int) -> dict[str, Any]:
        """Every model stage fed by an input placed (the policy is replaced by the decider)."""
        overrides = {}
        for app in self._raw[index]["apps"]:
            if app["type"] != "smart_home":
                continue
            for chain in app["params"]["chains"]:
                for j, stage in enumerate(chain["stages"]):
                    if stage.get("model") and stage["trigger"] != "timer":
                        key = f"apps.{app['name']}.params.chains.{chain['name']}.stages.{j}.placement"
                        overrides[key] = {"policy": "min_latency", "boundary": "int8"}
        return overrides

    def _variation(self, index: int, rng) -> dict[str, Any]:
        """Another home like it: event rates ×0.5–2, each battery's charge 10–100 %, the door
        link's bandwidth ×0.1–1 and its loss 0–8 %."""
        raw = self._raw[index]
        app = next(a for a in raw["apps"] if a["type"] == "smart_home")
        overrides: dict[str, Any] = {}
        for name, value in self._rates[index].items():
            overrides[f"apps.{app['name']}.params.{name}"] = round(value * 2.0 ** rng.uniform(-1, 1), 4)
        for device in raw["devices"]:
            if device.get("battery") is not None:
                overrides[f"devices.{device['name']}.battery.state_of_charge"] = round(
                    rng.uniform(0.1, 1.0), 3
                )
        door = app["params"].get("doorbell", "doorbell")
        for link in raw["links"]:
            if door in (link["a"], link["b"]):
                bandwidth = float(link.get("bandwidth_bps", 20e6)) * 10.0 ** rng.uniform(-1, 0)
                overrides[f"links.{link['name']}.bandwidth_bps"] = round(bandwidth, 0)
                overrides[f"links.{link['name']}.loss"] = round(rng.uniform(0.0, 0.08), 4)
        return overrides

    def step(self, action):
        decider = self.decider
        assert decider is not None and decider.pending, "call reset() first (the episode is over)"
        request, _, decided = decider.pending.popleft()
        decided.succeed(decode(action, self._placements))
        self._run_to_decision()
        records = self.sim.trace.records
        new = [r for r in records[self._seen :] if type(r) is Placed]
        self._seen = len(records)
        reward = sum(self.reward_of(r, self._soc.pop(r.request, 1.0)) for r in new)
        terminated = not decider.pending
        info = {"outcomes": len(new), "own_outcome": any(r.request == request.id for r in new)}
        return self._observation(), float(reward), terminated, False, info

    def _run_to_decision(self) -> None:
        """Advance the engine until an input waits for a decision or the night is over."""
        sim, decider = self.sim, self.decider
        while not decider.pending:
            t = sim.env.peek()
            if sim.finished or not math.isfinite(t) or t > sim.duration_s:
                break
            sim.advance(t)

    def _observation(self) -> np.ndarray:
        decider = self.decider
        if not decider.pending:
            self._placements = []
            return np.zeros(N_FEATURES, dtype=np.float32)
        request, state, _ = decider.pending[0]
        self._soc.setdefault(request.id, state.devices[request.source].state_of_charge)
        obs, self._placements = encode(request, state)
        return obs
