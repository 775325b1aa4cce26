"""A model stage's inference on its device: wholly there (``Device.run``, queued by the
chain's QoS priority), or, for a stage with ``placement`` (:mod:`simulator.placement`), as
its policy places each input — all on its device, the input sent to the hub or the cloud,
or split at a layer — carried out by one
:class:`~simulator.placement.runner.PlacementRunner` for the app (``Placed`` records, and a
``PlacedShare`` saying which stage it was and what each device spent)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.apps.smart_home.records import PlacedShare
from simulator.placement import Placement, Request, layer_table, make_policy
from simulator.placement.policy import Deferred
from simulator.placement.runner import PlacementRunner

if TYPE_CHECKING:
    from simulator.apps.smart_home.state import HomeState
    from simulator.apps.smart_home.verdicts import Verdicts
    from simulator.apps.smart_home.where import Where


class StageInference:
    """Runs model stages' inputs (see module docstring)."""

    def __init__(self, home: HomeState, verdicts: Verdicts, where: Where) -> None:
        self.home = home
        self.verdicts = verdicts
        self.where = where
        self.runner: PlacementRunner | None = None
        self._requests = 0
        self._policies: dict[tuple[str, str], Any] = {}

    def start(self) -> None:
        """One runner for the app and a policy per placed stage (an agent file loads once)."""
        self.runner = PlacementRunner(self.home.sim, app=self.home.name, retries=self.home.params["retries"])
        agents: dict[str, Any] = {}
        for key, config in self.home.placements.items():
            if config["policy"] == "rl":
                if config["agent"] not in agents:
                    agents[config["agent"]] = make_policy(config)
                self._policies[key] = agents[config["agent"]]
            else:
                self._policies[key] = make_policy(config)

    def defer(self, policy: Deferred) -> None:
        """Let ``policy`` decide every placed stage from now on (after :meth:`start`): each
        input then waits on its event (the gymnasium environment steps the app this way)."""
        self._policies = dict.fromkeys(self._policies, policy)

    def _result_at(self, chain: dict, stage: dict, device: str) -> str:
        """Where a placed stage's result is needed: the device every next stage would run on
        now (:meth:`place`), or the stage's own device when they differ or there are none."""
        children = chain["children"].get(stage["id"], [])
        where = {self.where.place(chain, child, device) for child in children}
        return where.pop() if len(where) == 1 and None not in where else device

    def _infer_placed(self, chain, stage, device: str, card, stream, k: int):
        """Run input ``k`` of a placed stage (generator): its policy places the request, the
        runner carries it out. Returns ``(label, score, energy at device, placed)`` or None when
        no result was made; ``placed`` says where the input and the result are."""
        config = self.home.placements[(chain["name"], stage["id"])]
        label, score = self.verdicts.verdict(card, stream, k)
        table = layer_table(card.model)
        self._requests += 1
        request = Request(
            self._requests,
            self.home.env.now,
            device,
            card,
            table,
            stage["deadline"],
            sink=self._result_at(chain, stage, device),
            targets=tuple(config["targets"]),
            boundary=config["boundary"],
        )
        policy = self._policies[(chain["name"], stage["id"])]
        name = config["policy"]
        if isinstance(policy, Deferred):  # decided outside the engine (the RL environment)
            name = policy.NAME
            placement = yield policy.wait(request, self.runner.state())
        else:
            placement = policy.place(request, self.runner.state())
        placement = Placement(placement.target, min(max(placement.split, 0), table.n_layers))
        outcome = yield from self.runner.serve(request, placement, name, label, score, chain["priority"])
        record = outcome.record
        self.home.sim.trace.append(
            PlacedShare(
                self.home.env.now,
                self.home.name,
                request.id,
                chain["name"],
                stage["id"],
                dict(outcome.energy_j),
            )
        )
        if outcome.result_device is None:
            return None
        input_at = {device}
        if record.split == 0 and record.tail_device != device:  # the input itself travelled
            for _, _, receiver in self.runner.route(device, record.tail_device) or []:
                input_at.add(receiver)
        if record.split >= record.n_layers:
            where = f"all {record.n_layers} layers on {device}"
        elif record.split == 0:
            where = f"input to {record.tail_device}"
        else:
            where = f"layers 0–{record.split} on {device}, {record.split}–{record.n_layers} on {record.tail_device}"
        placed = {
            "input_device": device,
            "input_at": input_at,
            "knows": {record.tail_device, outcome.result_device},
            "result_device": outcome.result_device,
            "result_bytes": table.boundary_bytes(table.n_layers),
            "detail": f"placed by {name}: {where}" + ("" if record.status == "ok" else f" ({record.status})"),
        }
        return label, score, outcome.energy_j.get(device, 0.0), placed

    def infer_stage(self, chain, stage, device: str, card, stream, k: int):
        """Run a model stage's input ``k`` on ``device``: placed when the stage has a
        placement, else wholly on the device (generator: ``(label, score, energy, placed)``
        with ``placed`` None, or None when the device went off)."""
        if (chain["name"], stage["id"]) in self.home.placements:
            return (yield from self._infer_placed(chain, stage, device, card, stream, k))
        result = yield from self.infer(chain, stage, device, card, stream, k)
        return None if result is None else (*result, None)

    def infer(self, chain, stage, device: str, card, stream, k: int):
        """Run ``card`` on input ``k`` on ``device`` (generator: returns label, score,
        energy, or None when the device went off)."""
        label, score = self.verdicts.verdict(card, stream, k)
        dev = self.home.device(device)
        ok = yield dev.run(card, 1, label, score, chain["priority"])
        if not ok:
            return None
        return label, score, dev.cost(card, 1).energy_j
