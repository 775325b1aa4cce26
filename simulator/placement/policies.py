"""Placement policies: each a small class with one method, ``place(request, state) -> Placement``.

A scenario chooses one per chain with a ``placement`` mapping, checked when it loads by
:func:`check_placement` (errors name the file and the field)::

    placement: {policy: min_latency, targets: [hub, cloud], boundary: int8}
    placement: {policy: split, to: hub, split: 3}
    placement: {policy: rl, agent: models/artifacts/placement/ppo_placement.zip}

Policies (``policy:``):

- ``local``          everything on the device that has the input;
- ``offload``        the input goes to ``to`` (default: the first hub, else the cloud);
- ``split``          a fixed split index ``split`` with the tail on ``to``;
- ``min_latency``    the option of least estimated latency (queues and links as they are now);
- ``min_energy``     the option of least battery energy (the battery devices' draw), then latency;
- ``battery_aware``  latency and battery energy, energy weighted by how empty the source's
  battery is: a full battery picks min-latency, an empty one min-energy;
- ``deadline_aware`` the option of least battery energy among those expected to meet the
  deadline; when none does, min-latency;
- ``max_reward``     the option of best estimated reward (:class:`~simulator.placement.observe.Reward`
  of the estimated latency and battery energy; the RL agent's action 0);
- ``rl``             a trained agent (``agent:`` a stable-baselines3 PPO file; default: the
  shipped ``models/artifacts/placement/ppo_placement.zip``), see
  :class:`simulator.placement.rl.RLPolicy`.

Options and their costs come from :mod:`simulator.placement.cost`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator.placement.cost import BOUNDARIES, Estimate, Placement, Request, State, estimates
from simulator.placement.observe import candidates
from simulator.placement.policy import SHIPPED_AGENT, Policy
from simulator.validate import Field, ListOf, SpecError, check_file

PLACEMENT_SCHEMA: dict[str, Any] = {
    "policy": Field(str, required=True),
    "to": Field(str),
    "targets": ListOf(Field(str)),
    "split": Field(int),
    "agent": Field(str),
    "boundary": Field(str, default="fp32", choices=BOUNDARIES),
}
# Offload targets by default: devices of these kinds, in this order.
DEFAULT_TARGET_KINDS = ("hub", "cloud")


def _fastest(rows: list[Estimate]) -> Estimate:
    return min(rows, key=lambda e: (e.latency_s, e.battery_j, e.total_j))


def _feasible(request: Request, state: State) -> list[Estimate]:
    """Estimates of the options that can run at all (the local one is always kept)."""
    rows = estimates(request, state)
    return [e for e in rows if e.feasible] or rows[:1]


class AllLocal(Policy):
    NAME = "local"

    def place(self, request: Request, state: State) -> Placement:
        return Placement(request.source, request.table.n_layers)


class AllOffload(Policy):
    NAME = "offload"

    def __init__(self, to: str):
        self.to = to

    def place(self, request: Request, state: State) -> Placement:
        return Placement(self.to, 0)


class FixedSplit(Policy):
    NAME = "split"

    def __init__(self, to: str, split: int):
        self.to, self.split = to, split

    def place(self, request: Request, state: State) -> Placement:
        return Placement(self.to, min(self.split, request.table.n_layers))


class MinLatency(Policy):
    NAME = "min_latency"

    def place(self, request: Request, state: State) -> Placement:
        return _fastest(_feasible(request, state)).placement


class MinEnergy(Policy):
    NAME = "min_energy"

    def place(self, request: Request, state: State) -> Placement:
        rows = _feasible(request, state)
        return min(rows, key=lambda e: (e.battery_j, e.latency_s, e.total_j)).placement


class BatteryAware(Policy):
    """Score ``(1 - w) · latency / best latency + w · battery J / least battery J`` with
    ``w = 1 - state of charge`` of the source (``w = 0`` for a mains device)."""

    NAME = "battery_aware"
    FLOOR_J = 1e-6  # keeps the ratio finite when an option draws nothing from a battery

    def place(self, request: Request, state: State) -> Placement:
        rows = _feasible(request, state)
        source = state.devices[request.source]
        w = 1.0 - source.state_of_charge if source.has_battery else 0.0
        best_s = max(min(e.latency_s for e in rows), 1e-9)
        best_j = min(e.battery_j for e in rows) + self.FLOOR_J

        def score(e: Estimate) -> tuple[float, float]:
            return (1.0 - w) * e.latency_s / best_s + w * (e.battery_j + self.FLOOR_J) / best_j, e.latency_s

        return min(rows, key=score).placement


class DeadlineAware(Policy):
    NAME = "deadline_aware"

    def place(self, request: Request, state: State) -> Placement:
        rows = _feasible(request, state)
        meeting = [e for e in rows if e.latency_s <= request.deadline_s]
        if not meeting:
            return _fastest(rows).placement
        return min(meeting, key=lambda e: (e.battery_j, e.total_j, e.latency_s)).placement


class MaxReward(Policy):
    NAME = "max_reward"

    def place(self, request: Request, state: State) -> Placement:
        return candidates(request, state)[0][0]


POLICIES: dict[str, type[Policy]] = {
    cls.NAME: cls
    for cls in (
        AllLocal,
        AllOffload,
        FixedSplit,
        MinLatency,
        MinEnergy,
        BatteryAware,
        DeadlineAware,
        MaxReward,
    )
}
POLICY_NAMES: tuple[str, ...] = (*POLICIES, "rl")


def check_placement(
    raw: Any,
    file: str,
    where: str,
    devices: dict[str, str] | None = None,
    n_layers: int | None = None,
    model: str = "",
    base_dir: Path | None = None,
) -> dict[str, Any]:
    """Validate a ``placement`` mapping at ``where`` (e.g. ``apps[0].params.chains[1].placement``);
    ``devices`` (name → kind) checks device names and fills default targets, ``n_layers`` the
    split index. Returns it normalised (``to`` and ``targets`` filled); ``SpecError`` naming
    the field otherwise."""
    config = check_file(PLACEMENT_SCHEMA, raw, file, where)
    policy = config["policy"]
    if policy not in POLICY_NAMES:
        raise SpecError(
            f"{file}, {where}.policy: unknown placement policy {policy!r} (expected one of: {', '.join(POLICY_NAMES)})"
        )
    split = config["split"]
    if policy == "split" and split is None:
        raise SpecError(f"{file}, {where}.split: the split policy needs a split index (0 = send the input)")
    if policy != "split" and split is not None:
        raise SpecError(
            f"{file}, {where}.split: only the split policy takes a split index (policy is {policy})"
        )
    if split is not None and (split < 0 or (n_layers is not None and split > n_layers)):
        upper = f" for {model} ({n_layers} layers)" if n_layers is not None else ""
        bound = f"between 0 and {n_layers}" if n_layers is not None else "≥ 0"
        raise SpecError(f"{file}, {where}.split: must be {bound}{upper}, got {split}")
    if devices is not None:
        for i, name in enumerate(config["targets"] or []):
            if name not in devices:
                raise SpecError(
                    f"{file}, {where}.targets[{i}]: unknown device {name!r} (devices: {', '.join(devices)})"
                )
        if config["to"] is not None and config["to"] not in devices:
            raise SpecError(
                f"{file}, {where}.to: unknown device {config['to']!r} (devices: {', '.join(devices)})"
            )
        defaults = [d for kind in DEFAULT_TARGET_KINDS for d, k in devices.items() if k == kind]
        config["targets"] = config["targets"] or defaults
        config["to"] = config["to"] or (config["targets"][0] if config["targets"] else None)
        if policy in ("offload", "split") and config["to"] is None:
            raise SpecError(
                f"{file}, {where}.to: no device to offload to (name one; no hub or cloud in the scenario)"
            )
    if policy == "rl":
        path = Path(config["agent"] or SHIPPED_AGENT)
        if not path.is_absolute() and base_dir is not None and not path.exists():
            path = base_dir / path
        if not path.exists():
            raise SpecError(
                f"{file}, {where}.agent: file not found: {config['agent'] or path} "
                "(train one with `python -m simulator.placement.rl`)"
            )
        config["agent"] = str(path)
    elif config["agent"] is not None:
        raise SpecError(f"{file}, {where}.agent: only the rl policy takes an agent file (policy is {policy})")
    return config


def make_policy(config: dict[str, Any]) -> Policy:
    """The policy a checked ``placement`` mapping (:func:`check_placement`) describes."""
    policy = config["policy"]
    if policy == "offload":
        return AllOffload(config["to"])
    if policy == "split":
        return FixedSplit(config["to"], config["split"])
    if policy == "rl":
        from simulator.placement.rl import RLPolicy  # deferred: loads stable-baselines3

        return RLPolicy(config["agent"])
    return POLICIES[policy]()
