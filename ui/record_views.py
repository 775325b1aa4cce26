"""Display hooks of the core record kinds, and the lookup of every record class's hooks.

Core records (messages, inferences, power, joins, deploys…) are drawn by the hooks here;
an app's records by the ``RECORD_VIEWS`` of its view module (:mod:`ui.apps`); a record class
nobody describes gets a generic view (its fields as text), so it still shows in the log.
"""

from __future__ import annotations

from typing import Any

from simulator.apps import app_class, app_types
from simulator.trace import (
    KIND_OF,
    BatterySample,
    DeviceJoined,
    DeviceLeft,
    DeviceState,
    Inference,
    LinkState,
    Message,
    ModelDeployed,
    ModelRemoved,
    Narration,
    Note,
    PowerState,
)
from ui import theme
from ui.apps import RecordView, view_for

JOIN_COLOR = "#117733"
LEAVE_COLOR = "#882255"


def _message(r: Message) -> str:
    status = "" if r.status == "delivered" else f" — {r.status.upper()}"
    retry = f" (attempt {r.attempt})" if r.attempt and r.attempt > 1 else ""
    return (
        f"{r.msg_kind} {theme.format_bytes(r.size_bytes)} → {r.dst} via {r.link}, "
        f"{theme.format_duration(r.end_t - r.t)}{status}{retry}"
    )


def _inference(r: Inference) -> str:
    return (
        f"{r.model}/{r.variant} ×{r.n_windows} → {r.label} ({r.score:.2f}), "
        f"{theme.format_duration(r.end_t - r.t)}"
    )


def _joined(r: DeviceJoined) -> str:
    power = "mains" if r.capacity_wh is None else f"{r.capacity_wh:g} Wh battery"
    return f"JOINED the home: {r.kind} ({r.profile}, {power}) — {r.reason}"


def _deployed(r: ModelDeployed) -> str:
    app = f", app {r.app}" if r.app else ""
    serves = f", serves {r.serves}" if r.serves else ""
    return (
        f"deployed {r.model}/{r.variant} v{r.version} ({theme.format_bytes(r.size_bytes)}, "
        f"privacy {r.privacy}{app}{serves}) — {r.reason}"
    )


CORE_VIEWS: dict[type, RecordView] = {
    Message: RecordView(
        "message",
        _message,
        color=lambda r: theme.MESSAGE_KIND_COLORS.get(r.msg_kind, theme.UNKNOWN_MESSAGE_COLOR),
    ),
    Inference: RecordView("inference", _inference),
    DeviceState: RecordView(
        "device on/off", lambda r: ("switched ON" if r.on else "switched OFF") + f" ({r.reason})"
    ),
    LinkState: RecordView("link up/down", lambda r: ("link UP" if r.up else "link DOWN") + f" ({r.reason})"),
    PowerState: RecordView(
        "power state",
        lambda r: f"{r.state} · {theme.format_power(r.power_w)}",
        step=False,
        hidden_in_log=True,
    ),
    BatterySample: RecordView("battery sample", lambda r: f"{100 * r.soc:.1f} %", step=False, in_log=False),
    Narration: RecordView("narration", lambda r: r.text, subject=lambda r: ""),
    Note: RecordView("note", lambda r: f"{r.kind}: {r.text}"),
    DeviceJoined: RecordView(
        "device joined",
        _joined,
        color=lambda r: JOIN_COLOR,
        timeline="mark",
        mark_label=lambda r: "joined",
        badge=lambda r: "joined",
    ),
    DeviceLeft: RecordView(
        "device left",
        lambda r: f"LEFT the home — {r.reason}",
        color=lambda r: LEAVE_COLOR,
        timeline="mark",
        mark_label=lambda r: "left",
    ),
    ModelDeployed: RecordView(
        "model deployed",
        _deployed,
        color=lambda r: theme.MESSAGE_KIND_COLORS["deploy"],
        timeline="mark",
        mark_label=lambda r: f"+{r.model}/{r.variant}",
        badge=lambda r: f"+ {r.model}/{r.variant}",
    ),
    ModelRemoved: RecordView(
        "model removed",
        lambda r: f"removed {r.model}/{r.variant} — {r.reason}",
        color=lambda r: LEAVE_COLOR,
        timeline="mark",
        mark_label=lambda r: f"−{r.model}",
        badge=lambda r: f"− {r.model}/{r.variant}",
    ),
}


def generic_view(record_type: type) -> RecordView:
    """A view for a record class nobody describes: its fields (but ``t``) as text."""
    fields = [f for f in getattr(record_type, "_fields", ()) if f != "t"]

    def describe(r: Any) -> str:
        return ", ".join(f"{name}={getattr(r, name)}" for name in fields)

    return RecordView(kind_of_type(record_type), describe)


def _owner_app_type(record_type: type) -> str | None:
    """The type of the app whose ``RECORDS`` include ``record_type`` (apps import lightly)."""
    for app_type in app_types():
        cls = app_class(app_type)
        if cls is not None and record_type in cls.RECORDS.values():
            return app_type
    return None


class RecordViews:
    """The display hooks of every record class: core, then the owning app's view module,
    then a generic one (looked up once per class)."""

    def __init__(self) -> None:
        self._views: dict[type, RecordView] = dict(CORE_VIEWS)

    def __getitem__(self, record_type: type) -> RecordView:
        view = self._views.get(record_type)
        if view is None:
            view = self._views[record_type] = self._resolve(record_type)
        return view

    def _resolve(self, record_type: type) -> RecordView:
        app_type = _owner_app_type(record_type)
        module = view_for(app_type) if app_type else None
        views = getattr(module, "RECORD_VIEWS", None) or {}
        return views.get(record_type) or generic_view(record_type)

    def of_app(self, app_type: str) -> dict[type, RecordView]:
        """The record views an app type's view module registers (empty if none)."""
        module = view_for(app_type)
        views = dict(getattr(module, "RECORD_VIEWS", None) or {})
        self._views.update(views)
        return views


VIEWS = RecordViews()


def kind_of(record: Any) -> str:
    """The record's kind name in the trace (``message``, ``escalation``…)."""
    return kind_of_type(type(record))


def kind_of_type(record_type: type) -> str:
    return KIND_OF.get(record_type, record_type.__name__.lower())
