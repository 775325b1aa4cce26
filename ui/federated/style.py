"""The federated view's colours, labels and clock, shared by its records and its panel."""

from __future__ import annotations

from simulator.federated.records import FederatedPlan
from simulator.federated.routine import clock_hour
from ui import theme

# A client's outcome in a round (Tol's colour-blind-safe palettes); one meaning each in the
# matrix, the log and the topology badges.
STAGE_COLORS: dict[str, str] = {
    "selected": "#66CCEE",  # cyan: working on the round
    "reported": "#228833",  # green: its update made the round
    "straggled": "#EE7733",  # orange: missed the deadline
    "dropped": "#CC3311",  # red: dropped out mid-round
    "offline": "#AA3377",  # purple: update held for later (no network)
    "synced": "#009988",  # teal: a held or late update counted in a later round
    "rejected": "#BBBBBB",  # grey: a late update too stale to count
}
STAGE_LABELS = {
    "selected": "training",
    "reported": "trained",
    "straggled": "straggled",
    "dropped": "dropped",
    "offline": "offline",
    "synced": "synced late",
    "rejected": "rejected",
}
# Short topology badges: a selected watch lights up with its round number.
BADGES = {
    "selected": "R{round}",
    "reported": "R{round} ✓",
    "straggled": "late",
    "dropped": "dropped",
    "offline": "offline",
    "synced": "synced",
    "rejected": "rejected",
}
ROUND_COLOR = "#4477AA"
UP_COLOR = theme.MESSAGE_KIND_COLORS["fl_update"]  # as the fl_update dots
DOWN_COLOR = "#0077BB"  # as the fl_model dots
EPSILON_COLOR = "#AA3377"


def clock(plan: FederatedPlan, t: float) -> str:
    hour = clock_hour(t, plan.day_start_s)
    return f"{int(hour):02d}:{int(hour % 1 * 60):02d}"
