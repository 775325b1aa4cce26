"""The placement decision as numbers: what the RL agent sees and how its action maps back to a
:class:`~simulator.placement.cost.Placement`. Shared by the gymnasium environment and
:class:`~simulator.placement.rl.RLPolicy`, so an agent trained in one runs in the other.

Observation (float32, :data:`N_FEATURES`): the request's model (one-hot over :data:`MODELS`)
and deadline; the source's state of charge, whether it has a battery and the compute queued
on it; then for each of two target slots (the request's ``targets[0]`` and ``[1]``, e.g.
hub and cloud): reachable, route up, bottleneck bandwidth, round trip of the route, airtime
already queued on the route, compute queued on the target, target on; then, for every
action, the cost model's estimate (:func:`~simulator.placement.cost.estimate`) of its
latency and battery energy — what the heuristics decide on, so the agent can learn where
the estimate errs (outages, losses, fading between decision and transfer). Times are in
units of the request's deadline, energy in units of :data:`ENERGY_SCALE_J`.

Action: ``0`` = all local; ``1 + slot · MAX_LAYERS + k`` = split at ``k`` with the tail on
that slot's target (``k ≥ n_layers`` of the model means all local).
"""

from __future__ import annotations

import math

import numpy as np

from simulator.placement.cost import Placement, Request, State, estimate

# The zoo's models in a fixed order (an agent's input layout depends on it).
MODELS = ("camera_detector", "ecg_verifier", "gesture_imu", "hr_screener", "keyword_spotter")
MAX_LAYERS = 9  # the deepest sequential view in the zoo (camera_detector)
SLOTS = 2
SLOT_FEATURES = 7
N_ACTIONS = 1 + SLOTS * MAX_LAYERS
N_FEATURES = len(MODELS) + 4 + SLOTS * SLOT_FEATURES + 2 * N_ACTIONS
ENERGY_SCALE_J = 0.005  # battery energy features are in units of this (a camera inference ≈ 1)
TIME_CAP = 10.0  # queue and round-trip features are clipped at this many deadlines
LOW, HIGH = -2.0, TIME_CAP  # bounds of every feature


def encode(request: Request, state: State) -> np.ndarray:
    """The observation of ``request`` in ``state`` (a new array)."""
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
    estimates: dict[Placement, tuple[float, float]] = {}
    for action in range(N_ACTIONS):
        placement = decode(action, request)
        if placement not in estimates:
            e = estimate(request, placement, state)
            estimates[placement] = (min(e.latency_s / deadline_s, TIME_CAP), e.battery_j / ENERGY_SCALE_J)
        obs[i : i + 2] = estimates[placement]
        i += 2
    return np.clip(obs, LOW, HIGH, out=obs)


def decode(action: int, request: Request) -> Placement:
    """The placement action ``action`` stands for (see the module docstring)."""
    action = int(action)
    n = request.table.n_layers
    if action <= 0:
        return Placement(request.source, n)
    slot, k = divmod(action - 1, MAX_LAYERS)
    if slot >= len(request.targets) or k >= n:
        return Placement(request.source, n)
    return Placement(request.targets[slot], k)


def encode_placement(placement: Placement, request: Request) -> int:
    """The action of ``placement`` (the inverse of :func:`decode`); local is ``0``."""
    if placement.is_local(request) or placement.target not in request.targets[:SLOTS]:
        return 0
    return 1 + request.targets.index(placement.target) * MAX_LAYERS + placement.split


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
