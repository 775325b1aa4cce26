"""View of the federated learning app (``simulator/apps/federated``): its records in the
log, timeline and topology (the selected watches light up with a badge while the model
and their updates travel as dots), the wall clock beside the player's, what-if numbers
(the app's ``summarize``) and its panel (:mod:`.panel`).
"""

from __future__ import annotations

from typing import Any

from simulator.federated.metrics import summarize
from simulator.federated.records import ClientUpdate, FederatedPlan, FederatedRound
from ui import theme
from ui.apps import Metric, RecordView
from ui.apps.federated.panel import FederatedPanel
from ui.apps.federated.style import BADGES, ROUND_COLOR, STAGE_COLORS, STAGE_LABELS, clock

MESSAGE_COLORS = {
    "fl_model": "#0077BB",  # the global model going out (cloud → phone → watch)
    "fl_keys": "#EE3377",  # secure aggregation: key exchange and shares (magenta)
    "fl_shares": "#EE3377",
    "fl_unmask": "#EE3377",
    "fl_sum": "#33BBEE",  # Paillier: the encrypted sum to the key holder and back
}


def _client_text(r: ClientUpdate) -> str:
    text = f"round {r.round}: {STAGE_LABELS.get(r.stage, r.stage)} ({r.examples} windows)"
    if r.staleness:
        text += f", {r.staleness} versions late"
    return f"{text}: {r.detail}" if r.detail else text


def _round_text(r: FederatedRound) -> str:
    text = (
        f"round {r.round} aggregated: accuracy {r.accuracy:.3f}, {r.participants} of {r.selected} "
        f"reported ({r.stragglers} straggled, {r.dropped} dropped, {r.offline} offline)"
    )
    if r.epsilon is not None:
        text += f", ε {r.epsilon:.2f}"
    return f"{text}; {r.detail}" if r.detail else text


RECORD_VIEWS = {
    ClientUpdate: RecordView(
        label="fl client",
        describe=_client_text,
        color=lambda r: STAGE_COLORS.get(r.stage, theme.DEFAULT_MARK_COLOR),
        badge=lambda r: BADGES.get(r.stage, r.stage).format(round=r.round),
        step=False,
        hidden_in_log=True,
    ),
    FederatedRound: RecordView(
        label="fl round",
        describe=_round_text,
        subject=lambda r: "",
        color=lambda r: ROUND_COLOR,
        timeline="mark",
        mark_label=lambda r: f"R{r.round} {r.accuracy:.2f}",
    ),
    FederatedPlan: RecordView(
        label="fl plan",
        describe=lambda r: (
            f"{len(r.clients)} clients, {r.rounds} rounds of {r.clients_per_round}, {r.strategy} ({r.mode}), "
            f"privacy: {r.privacy}; model {r.model_params:,} parameters ({r.model_bytes / 1e3:.1f} kB)"
        ),
        subject=lambda r: r.server,
        step=False,
    ),
}


WHATIF_METRICS = (
    Metric("accuracy", "held-out accuracy", "", higher_is_better=True),
    Metric("rounds", "rounds done", "", higher_is_better=True),
    Metric("mb_up", "MB uploaded", "MB", higher_is_better=False),
    Metric("battery_j", "client energy from batteries", "J", higher_is_better=False),
    Metric("epsilon", "ε spent", "", higher_is_better=False),
)


def whatif_metrics(session: Any, app_name: str, t: float) -> dict[str, float | None]:
    """The what-if numbers: the app's summary (:func:`summarize`) at ``t``."""
    metrics = summarize(session.trace, app_name, t)
    if "accuracy" not in metrics:
        return {m.key: None for m in WHATIF_METRICS}
    return {
        "accuracy": metrics["accuracy"],
        "rounds": float(metrics["rounds"]),
        "mb_up": metrics["bytes_up"] / 1e6,
        "battery_j": metrics["battery_energy_j"],
        "epsilon": metrics["epsilon"],
    }


def clock_label(session: Any, app_name: str, t: float) -> str | None:
    """The homes' wall clock and the round in progress."""
    plan = session.index.column(FederatedPlan, app_name).last_at(t)
    if plan is None:
        return None
    last = session.index.column(FederatedRound, app_name).last_at(t)
    done = f", {last.round} rounds done (acc {last.accuracy:.2f})" if last is not None else ""
    return f"{clock(plan, t)}{done}"


PANEL = FederatedPanel
