"""The placement decision as numbers: what the RL agent sees and how its action maps back to a
:class:`~simulator.placement.cost.Placement`. Shared by the gymnasium environments and
:class:`~simulator.placement.rl.RLPolicy`, so an agent trained in one runs in the other.

Candidates: every option of the request (:func:`~simulator.placement.cost.options`: all
local, or a target and a split) scored by the cost model's estimate of the reward
(:meth:`Reward.estimate`: the estimated latency and battery energy through the same formula
the agent is paid by), best first; the first :data:`N_ACTIONS` distinct ones are the agent's
actions. Action ``i`` is candidate ``i`` — so the agent does not have to find the argmax of
19 estimates in its input (the first agent, over all 19 options, never learned to: it
offloaded everything), it learns when the estimate is wrong enough to take another.

Observation (float32, :data:`N_FEATURES`): the request's model (one-hot over :data:`MODELS`)
and deadline; the source's state of charge, whether it has a battery and the compute queued
on it; then for each of two target slots (the request's ``targets[0]`` and ``[1]``, e.g.
hub and cloud): reachable, route up, bottleneck bandwidth, round trip of the route, airtime
already queued on the route, compute queued on the target, target on; whether the result is
needed away from the source and how many hops away; then per candidate: all-local, target
slot, split as a share of the layers, estimated latency (in deadlines), estimated battery
energy (in :data:`ENERGY_SCALE_J`), estimated reward and its gap to the best candidate's,
feasible. Times are in units of the request's deadline.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.placement.cost import Placement, Request, State, estimate, options

# The zoo's models in a fixed order (an agent's input layout depends on it).
MODELS = ("camera_detector", "ecg_verifier", "gesture_imu", "hr_screener", "keyword_spotter")
MAX_LAYERS = 9  # the deepest sequential view in the zoo (camera_detector)
SLOTS = 2
SLOT_FEATURES = 7
N_ACTIONS = 4  # candidates the agent chooses among (best estimated reward first)
CANDIDATE_FEATURES = 8
N_FEATURES = len(MODELS) + 4 + SLOTS * SLOT_FEATURES + 2 + N_ACTIONS * CANDIDATE_FEATURES
ENERGY_SCALE_J = 0.005  # battery energy features are in units of this (a camera inference ≈ 1)
TIME_CAP = 10.0  # queue and round-trip features are clipped at this many deadlines
LOW, HIGH = -TIME_CAP, TIME_CAP  # bounds of every feature


def candidates(
    request: Request, state: State, reward: Reward | None = None
) -> list[tuple[Placement, object, float]]:
    """``(placement, estimate, estimated reward)`` of the first :data:`N_ACTIONS` options by
    estimated reward (ties: the order of :func:`~simulator.placement.cost.options`, local
    first), padded with the best one when a request has fewer options."""
    reward = reward or Reward()
    soc = state.devices[request.source].state_of_charge
    rows = []
    for i, placement in enumerate(options(request)):
        e = estimate(request, placement, state)
        rows.append((-reward.estimate(e, request.deadline_s, soc), i, placement, e))
    rows.sort(key=lambda row: (row[0], row[1]))
    best = [(placement, e, -score) for score, _, placement, e in rows[:N_ACTIONS]]
    return best + best[:1] * (N_ACTIONS - len(best))


def encode(request: Request, state: State) -> tuple[np.ndarray, list[Placement]]:
    """The observation of ``request`` in ``state`` (a new array) and the placements its
    actions stand for."""
    obs = np.zeros(N_FEATURES, dtype=np.float32)
    if request.model in MODELS:
        obs[MODELS.index(request.model)] = 1.0
    deadline_s = request.deadline_s
    i = len(MODELS)
    source = state.devices[request.source]
    obs[i] = math.log10(deadline_s)
    obs[i + 1] = source.state_of_charge
    obs[i + 2] = float(source.has_battery)
    obs[i + 3] = min(source.backlog_s / deadline_s, TIME_CAP)
    i += 4
    for slot in range(SLOTS):
        if slot < len(request.targets) and request.targets[slot] in state.devices:
            target = request.targets[slot]
            route = state.route(request.source, target)
            if route:
                obs[i] = 1.0
                obs[i + 1] = float(all(link.up for link, _, _ in route))
                obs[i + 2] = math.log10(min(link.bandwidth_bps for link, _, _ in route)) / 8.0
                obs[i + 3] = min(sum(link.rtt_s for link, _, _ in route) / deadline_s, TIME_CAP)
                obs[i + 4] = min(sum(link.queued_s for link, _, _ in route) / deadline_s, TIME_CAP)
            device = state.devices[target]
            obs[i + 5] = min(device.backlog_s / deadline_s, TIME_CAP)
            obs[i + 6] = float(device.on)
        i += SLOT_FEATURES
    away = request.result_at != request.source
    obs[i] = float(away)
    obs[i + 1] = len(state.route(request.source, request.result_at) or []) if away else 0.0
    i += 2
    rows = candidates(request, state)
    best_reward = rows[0][2]
    n = request.table.n_layers
    for placement, e, r in rows:
        local = placement.is_local(request)
        obs[i] = float(local)
        if not local:
            obs[i + 1] = 1.0 + request.targets.index(placement.target)
        obs[i + 2] = (n if local else placement.split) / n
        obs[i + 3] = min(e.latency_s / deadline_s, TIME_CAP)
        obs[i + 4] = min(e.battery_j / ENERGY_SCALE_J, TIME_CAP)
        obs[i + 5] = max(r, -TIME_CAP)
        obs[i + 6] = max(r - best_reward, -TIME_CAP)
        obs[i + 7] = float(e.feasible)
        i += CANDIDATE_FEATURES
    return np.clip(obs, LOW, HIGH, out=obs), [placement for placement, _, _ in rows]


def decode(action: int, placements: list[Placement]) -> Placement:
    """The placement action ``action`` stands for among :func:`encode`'s placements (an action
    out of range is the best candidate)."""
    action = int(action)
    return placements[action] if 0 <= action < len(placements) else placements[0]


class Reward:
    """The objective, per served request: ``-(latency / deadline, capped) - miss penalty -
    battery energy / energy scale × (0.5 + how empty the source's battery was)``; mains
    energy is free. The RL environment's reward and the bench's score."""

    def __init__(
        self, latency_cap: float = 4.0, miss_penalty: float = 4.0, energy_scale_j: float = ENERGY_SCALE_J
    ):
        self.latency_cap = latency_cap
        self.miss_penalty = miss_penalty
        self.energy_scale_j = energy_scale_j

    def __call__(self, record, state_of_charge: float) -> float:
        """Reward of a :class:`~simulator.placement.runner.Placed` record; ``state_of_charge``
        of its source when the request arrived."""
        latency = min(record.latency_s / record.deadline_s, self.latency_cap)
        missed = self.miss_penalty * (not record.met)
        energy = record.battery_j / self.energy_scale_j * (0.5 + (1.0 - state_of_charge))
        return -(latency + missed + energy)

    def estimate(self, e, deadline_s: float, state_of_charge: float) -> float:
        """The reward an :class:`~simulator.placement.cost.Estimate` would earn if it were
        exact (infeasible: the miss penalty and the latency cap)."""
        latency = min(e.latency_s / deadline_s, self.latency_cap)
        missed = self.miss_penalty * (e.latency_s > deadline_s)
        energy = e.battery_j / self.energy_scale_j * (0.5 + (1.0 - state_of_charge))
        return -(latency + missed + energy)
