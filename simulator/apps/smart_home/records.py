"""Trace records of the smart-home app (each has ``t`` first and ``app`` second)."""

from __future__ import annotations

from typing import NamedTuple

from simulator.deploy import DeployPlan
from simulator.placement.runner import Placed


class Truth(NamedTuple):
    """Ground truth: what ``where`` (a camera, the speaker, the watch) saw, heard or felt
    from ``t`` to ``end_t``; ``label`` in the sensing model's classes."""

    t: float
    app: str
    where: str
    kind: str
    label: str
    end_t: float
    truth_id: int
    detail: str


class ChainStage(NamedTuple):
    """Stage ``stage`` of run ``run`` of chain ``chain`` finished on ``device`` at ``t``.

    ``outcome``: ``pass`` (condition met: the chain goes on), ``stop`` (not met), ``action``
    (an action done), ``skipped`` (its ``when`` did not hold), ``dropped`` (its input
    never arrived), ``broken`` (its device left and nothing could take over), ``dismissed``
    (emergency precision overruled the alert). ``trigger_t``: when the run's first input
    was sensed; ``start_t``: when this stage's input was ready; ``missed``: later than its
    deadline."""

    t: float
    app: str
    chain: str
    run: int
    stage: str
    device: str
    model: str
    variant: str
    outcome: str
    label: str
    score: float
    trigger_t: float
    start_t: float
    missed: bool
    energy_j: float
    detail: str


class ChainHop(NamedTuple):
    """A run's payload crossed one link from ``src`` to ``dst`` (stage ``stage_from`` →
    ``stage_to``), from ``t`` to ``end_t``; radio energy at each end."""

    t: float
    app: str
    chain: str
    run: int
    stage_from: str
    stage_to: str
    src: str
    dst: str
    link: str
    size_bytes: int
    end_t: float
    status: str
    src_energy_j: float
    dst_energy_j: float


class PolicyChange(NamedTuple):
    """A policy changed state on ``device`` (``switching``: hub ↔ local; ``chain``:
    re-homed or broken after a device left)."""

    t: float
    app: str
    device: str
    policy: str
    state: str
    detail: str


class PlacedShare(NamedTuple):
    """What placed request ``request`` (a ``Placed`` record at the same ``t``) was for, chain
    ``chain`` stage ``stage``, and the energy its compute and transfers drew per device."""

    t: float
    app: str
    request: int
    chain: str
    stage: str
    energy_j_by_device: dict[str, float]


RECORDS = {
    "home_truth": Truth,
    "chain_stage": ChainStage,
    "chain_hop": ChainHop,
    "deploy_plan": DeployPlan,  # the hub deploys through simulator.deploy
    "policy_change": PolicyChange,
    "placement": Placed,  # a placed stage's request (simulator.placement.runner)
    "placement_share": PlacedShare,
}
