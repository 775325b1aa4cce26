"""View of the home-suggestions app (``simulator/apps/home_suggestions``): its records in
the log, timeline and topology (a device that served a suggestion shows a hit or a miss
badge; the federated rounds are the protocol's own views; profile slices travel as teal
dots), what-if numbers (the app's ``summarize``) and its panel (:mod:`.panel`).
"""

from __future__ import annotations

from typing import Any

from simulator.apps.home_suggestions.metrics import summarize
from simulator.apps.home_suggestions.records import SliceSync, Suggestion, SuggestionPlan
from ui import federated as federated_view
from ui.apps import Metric, RecordView
from ui.apps.home_suggestions.panel import SuggestionsPanel, day_clock

HIT_COLOR = "#009988"  # teal (Paul Tol, vibrant)
MISS_COLOR = "#CC3311"  # red
SLICE_COLOR = "#33BBEE"  # cyan
MESSAGE_COLORS = {**federated_view.MESSAGE_COLORS, "profile_slice": "#009988"}


def hit(r: Suggestion, k: int = 10) -> bool:
    return r.served and 0 <= r.rank < k


def _suggestion_text(r: Suggestion) -> str:
    outcome = (
        f"hit (rank {r.rank + 1})"
        if hit(r)
        else ("not in slice" if r.rank < 0 else f"miss (rank {r.rank + 1})")
    )
    wrong = "" if r.context == r.true_context else f" (really {r.true_context})"
    return f"member {r.member}, {r.context}{wrong}: {outcome}, model v{r.version}, {r.why}"


RECORD_VIEWS = {
    **federated_view.RECORD_VIEWS,
    Suggestion: RecordView(
        label="suggestion",
        describe=_suggestion_text,
        color=lambda r: HIT_COLOR if hit(r) else MISS_COLOR,
        badge=lambda r: "✓" if hit(r) else "✗",
        step=False,
    ),
    SliceSync: RecordView(
        label="profile slice",
        describe=lambda r: f"v{r.version} slice, {r.bytes / 1e3:.1f} kB: {r.status}",
        color=lambda r: SLICE_COLOR,
        step=False,
        hidden_in_log=True,
    ),
    SuggestionPlan: RecordView(
        label="suggestion plan",
        describe=lambda r: (
            f"{len(r.members)} members, {len(r.item_names)} items ({r.catalogue}), "
            f"location blurred to {r.blur_m:g} m (context right {r.context_accuracy:.1%})"
        ),
        subject=lambda r: "",
        step=False,
    ),
}

WHATIF_METRICS = (
    Metric("hit_rate", "hit-rate@10", "", higher_is_better=True),
    Metric("ndcg", "NDCG@10", "", higher_is_better=True),
    Metric("popular", "most-popular hit-rate@10", "", higher_is_better=None),
    Metric("rounds", "federated rounds", "", higher_is_better=True),
)


def whatif_metrics(session: Any, app_name: str, t: float) -> dict[str, float | None]:
    """The what-if numbers: the app's summary (:func:`summarize`) at ``t``."""
    m = summarize(session.trace, app_name, t)
    if not m.get("suggestions"):
        return {metric.key: None for metric in WHATIF_METRICS}
    return {
        "hit_rate": m["hit_rate_at_10"],
        "ndcg": m["ndcg_at_10"],
        "popular": m["baseline_popular_hit_rate"],
        "rounds": float(m["rounds"]),
    }


def clock_label(session: Any, app_name: str, t: float) -> str | None:
    """The homes' own clock (the day and time of the held-out week the members live), and
    when the run began on it: the player's clock beside it counts from the run's start."""
    plan = session.index.column(SuggestionPlan, app_name).last_at(t)
    if plan is None:
        return None
    return f"homes' clock {day_clock(plan.data_offset_s + t)} (run began {day_clock(plan.data_offset_s)})"


PANEL = SuggestionsPanel
