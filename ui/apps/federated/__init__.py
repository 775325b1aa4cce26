"""View of the federated learning app (``simulator/apps/federated``): its records in the
log, timeline and topology (the selected watches light up with a badge while the model
and their updates travel as dots), the wall clock beside the player's, what-if numbers
(the app's ``summarize``) and its panel (:mod:`.panel`).
"""

from __future__ import annotations

from typing import Any

from simulator.federated.metrics import summarize
from simulator.federated.records import FederatedPlan, FederatedRound
from ui.apps import Metric
from ui.apps.federated.panel import FederatedPanel
from ui.federated import MESSAGE_COLORS, RECORD_VIEWS  # noqa: F401 - the view protocol reads them here
from ui.federated.style import clock

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
