"""A gymnasium environment over the placement decision, stepping the real engine.

Each episode builds a :mod:`~simulator.placement.home` (the normal or the stressed setting,
drawn per episode) as a ``Simulation`` with a fresh seed and runs its request streams. A
step places the request waiting for a decision (action: local, or a target and a split,
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
from typing import Any

import gymnasium as gym
import numpy as np

import simulator.placement.home as home
from simulator.placement.observe import HIGH, LOW, N_ACTIONS, N_FEATURES, Reward, decode, encode


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
        self._run_to_decision()
        return self._observation(), {"setting": setting.name, "seed": sim_seed}

    def step(self, action):
        workload = self.workload
        assert workload is not None and workload.pending, "call reset() first (the episode is over)"
        request, decided = workload.pending.popleft()
        decided.succeed(decode(action, request))
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
        return encode(request, workload.runner.state())
