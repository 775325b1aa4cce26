"""Deployment, the core service that puts models on devices for any app.

For each device an app says what it must serve (:class:`Need`: a model, the latency budget
of its tightest user, the accuracy it may give up, a pinned variant, whether alerts are
re-checked at a higher precision). :func:`plan_need` picks the variant with
:func:`simulator.recommend.recommend` (and, when asked, a more precise backup variant that
fits beside it). A :class:`Deployment` then, for one app and one source device (the hub):

- :meth:`~Deployment.install` sets up the devices present at t = 0 (no transfer: done before);
- :meth:`~Deployment.join` (a SimPy process) answers a device that joins later: it records
  each plan (``DeployPlan``), sends the variant's bytes from the source hop by hop
  (:func:`simulator.network.send`: both radios draw their energy on the devices), and writes
  the device's manifest (:meth:`Device.deploy <simulator.devices.Device.deploy>`) when the
  bytes arrive; the device serves from then on (:meth:`~Deployment.serving`);
- :meth:`~Deployment.leave` forgets what a device that left served; the app re-homes its
  work (e.g. onto a fallback device that serves the model already).

The trace holds everything (``DeployPlan``, ``Message`` of kind ``deploy``, ``ModelDeployed``,
``Note`` ``stored``/``deploy failed``), so metrics read it and keep no ledger of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from models.cards import ModelCard, list_cards
from simulator.compute import card_precision, estimate_card
from simulator.network import send
from simulator.recommend import recommend
from simulator.trace import Note, register_records

if TYPE_CHECKING:
    from simulator.engine import Simulation
    from simulator.profiles import DeviceProfile

PRECISION_RANK = {"int8": 0, "mixed": 1, "fp16": 2, "fp32": 3}
DEPLOY_RETRIES = 5  # a model's bytes are worth waiting for: more retries than a chain's payload


class DeployPlan(NamedTuple):
    """The source chose ``variant`` of ``model`` for ``device`` (``role``: serving or
    emergency) and started sending its bytes; ``reason`` is recommend's, ``options`` the
    other variants with theirs."""

    t: float
    app: str
    device: str
    model: str
    variant: str
    role: str
    size_bytes: int
    serves: str
    reason: str
    options: str


RECORDS = {"deploy_plan": DeployPlan}
register_records(RECORDS)


@dataclass(frozen=True)
class Need:
    """What a device must serve of ``model``: within ``budget_s`` per call and
    ``max_accuracy_loss_pts`` of the most accurate feasible variant, or the pinned
    ``variant``; ``serves`` names its users (shown with the plan); ``backup``: also keep the
    most precise variant that fits beside it, for re-checks."""

    model: str
    budget_s: float
    max_accuracy_loss_pts: float = 1.0
    variant: str | None = None
    serves: str = ""
    backup: bool = False


@dataclass(frozen=True)
class Plan:
    """One variant for one device: ``role`` ``serving`` (it runs the device's calls) or
    ``emergency`` (kept for re-checks, not served), with the reason and the other options."""

    device: str
    model: str
    card: ModelCard
    role: str
    serves: str
    reason: str
    options: str


class NoVariantFits(ValueError):
    """No variant of a model meets a device's budget (the message lists each one's reason)."""


def model_cards(model: str, runtime: str = "onnxruntime") -> list[ModelCard]:
    """The variants of ``model`` a device can be given (cards of ``runtime``)."""
    return [c for c in list_cards() if c.model == model and c.runtime == runtime]


def plan_need(device: str, profile: DeviceProfile, need: Need, cards: list[ModelCard]) -> list[Plan]:
    """The serving plan of ``need`` on ``device`` (pinned, or recommend's choice) and, for a
    ``backup`` need served below FP32, the emergency plan; raises :class:`NoVariantFits`."""
    budget_s, loss_pts = need.budget_s, need.max_accuracy_loss_pts
    advice = recommend(cards, profile, max_latency_s=budget_s, max_accuracy_loss_pts=loss_pts)
    variant = need.variant or advice["choice"]
    rows = {r["variant"]: r for r in advice["variants"]}
    if variant is None:
        raise NoVariantFits(
            f"no variant of {need.model} fits {device!r} within {budget_s * 1e3:g} ms "
            f"({'; '.join(v + ': ' + r['reason'] for v, r in rows.items())})"
        )
    row = rows.get(variant)
    how = (
        f"pinned by the chain (recommend: {advice['choice']})"
        if need.variant
        else f"recommend: best within {loss_pts:g} pt of the most accurate, lowest energy"
    )
    reason = (
        f"{how}; {row['latency_ms']:.2f} ms ≤ {budget_s * 1e3:g} ms, {row['energy_mj']:.3f} mJ, "
        f"accuracy {row['accuracy']:.4f}, {row['bytes'] / 1e3:.0f} kB"
        if row
        else how
    )
    options = "; ".join(f"{v}: {r['reason']}" for v, r in rows.items() if v != variant)
    card = next(c for c in cards if c.variant == variant)
    plans = [Plan(device, need.model, card, "serving", need.serves, reason, options)]
    if need.backup and card_precision(card) != "fp32":
        backup = backup_card(cards, card, profile, budget_s)
        if backup is not None:
            why = (
                f"emergency precision: the most precise variant that fits beside {variant} "
                f"({card_precision(backup)})"
            )
            plans.append(Plan(device, need.model, backup, "emergency", need.serves, why, ""))
    return plans


def backup_card(
    cards: list[ModelCard], serving: ModelCard, profile: DeviceProfile, budget_s: float
) -> ModelCard | None:
    """The variant a device serving ``serving`` re-checks with: of a higher precision, at
    least as accurate, fitting in memory beside it and within the budget; the most accurate
    such (``None`` if there is none)."""
    serving_rank = PRECISION_RANK.get(card_precision(serving), 0)
    fits = []
    for card in cards:
        if PRECISION_RANK.get(card_precision(card), 0) <= serving_rank or card.accuracy < serving.accuracy:
            continue
        cost = estimate_card(profile, card)
        total = card.bytes + card.peak_activation_bytes + serving.bytes + serving.peak_activation_bytes
        if total <= profile.memory_bytes and cost.latency_s <= budget_s:
            fits.append(card)
    return max(fits, key=lambda c: (c.accuracy, -c.bytes)) if fits else None


class Deployment:
    """Which variant each device serves for app ``app``, deployed from device ``source``.

    ``needs(device)`` says what a device must serve (:class:`Need`, in the order to deploy);
    ``notify(event)`` is told ``device_joined``, ``deploy_started`` and ``model_deployed``
    (an app's narration hooks). Plans are made once per device, the same at t = 0 and at a
    join (:meth:`plans`)."""

    def __init__(
        self,
        sim: Simulation,
        app: str,
        source: str,
        needs: Callable[[str], list[Need]],
        notify: Callable[[str], None] | None = None,
        retries: int = DEPLOY_RETRIES,
    ) -> None:
        self.sim = sim
        self.app = app
        self.source = source
        self.retries = retries
        self._needs = needs
        self._notify = notify or (lambda event: None)
        self._plans: dict[str, list[Plan]] = {}
        self._serving: dict[tuple[str, str], ModelCard] = {}
        self._backup: dict[tuple[str, str], ModelCard] = {}

    # -- plans -------------------------------------------------------------------------
    def plans(self, device: str) -> list[Plan]:
        """What ``device`` gets (see :func:`plan_need`); raises :class:`NoVariantFits`."""
        if device not in self._plans:
            profile = self.sim.devices[device].profile
            plans: list[Plan] = []
            for need in self._needs(device):
                plans += plan_need(device, profile, need, model_cards(need.model))
            self._plans[device] = plans
        return self._plans[device]

    def planned(self, device: str, model: str, role: str = "serving") -> ModelCard | None:
        """The card planned for ``device`` as ``role`` (whether or not it has arrived)."""
        return next(
            (p.card for p in self._plans.get(device, ()) if p.model == model and p.role == role), None
        )

    # -- what serves -------------------------------------------------------------------
    def serving(self, device: str, model: str) -> ModelCard | None:
        """The variant of ``model`` that ``device`` serves now (``None`` before its bytes
        arrive or after it left)."""
        return self._serving.get((device, model))

    def backup(self, device: str, model: str) -> ModelCard | None:
        """The more precise variant ``device`` keeps for re-checks of ``model``, if any."""
        return self._backup.get((device, model))

    # -- set-up, join, leave -----------------------------------------------------------
    def install(self, device: str) -> None:
        """Set ``device`` up at t = 0 with its plans, no transfer (a model it already hosts
        in the planned variant is kept); a device not present yet gets its plans only."""
        dev = self.sim.devices[device]
        plans = self.plans(device)
        if not dev.present:
            return
        for plan in plans:
            if plan.role != "serving":
                self._backup[(device, plan.model)] = plan.card
                continue
            hosted = dev.models.get(plan.model)
            if hosted is not None and hosted.variant == plan.card.variant:
                self._serving[(device, plan.model)] = hosted
                continue
            dev.deploy(plan.card, app=self.app, serves=plan.serves, reason=f"set up: {plan.reason}")
            self._serving[(device, plan.model)] = plan.card

    def join(self, device: str, at_s: float) -> Generator[Any, Any, None]:
        """The process answering ``device`` joining at ``at_s``: each plan recorded, its
        bytes sent from the source, the manifest written on arrival (a SimPy process)."""
        env = self.sim.env
        if at_s > env.now:
            yield env.timeout(at_s - env.now)
        dev = self.sim.devices[device]
        while not dev.present:  # the engine's join runs at the same instant
            yield env.timeout(0.0)
        self._notify("device_joined")
        self.sim.trace.append(
            Note(env.now, self.source, "join", f"{device} joined: reading its profile ({dev.profile.name})")
        )
        for plan in self.plans(device):
            yield from self.deliver(plan)

    def deliver(self, plan: Plan) -> Generator[Any, Any, bool]:
        """Send ``plan``'s bytes from the source to its device and install it on arrival
        (a SimPy process generator); returns whether it arrived."""
        env, trace, card = self.sim.env, self.sim.trace, plan.card
        size = int(card.bytes)
        trace.append(
            DeployPlan(
                env.now, self.app, plan.device, plan.model, card.variant, plan.role, size, plan.serves,
                plan.reason, plan.options,
            )
        )  # fmt: skip
        self._notify("deploy_started")
        delivery = yield from send(self.sim, self.source, plan.device, "deploy", size, retries=self.retries)
        if delivery.status != "delivered":
            detail = f"{card.model}:{card.variant} to {plan.device}: {delivery.status}"
            trace.append(Note(env.now, self.source, "deploy failed", detail))
            return False
        if plan.role == "serving":
            self.sim.devices[plan.device].deploy(card, app=self.app, serves=plan.serves, reason=plan.reason)
            self._serving[(plan.device, plan.model)] = card
            self._notify("model_deployed")
        else:
            self._backup[(plan.device, plan.model)] = card
            detail = f"{card.model}:{card.variant} kept for emergency re-checks"
            trace.append(Note(env.now, plan.device, "stored", detail))
        return True

    def leave(self, device: str) -> list[str]:
        """``device`` left: it serves nothing from now on; returns the models it served."""
        gone = [model for (name, model) in self._serving if name == device]
        for model in gone:
            del self._serving[(device, model)]
        return gone
