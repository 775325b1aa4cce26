"""App views: how the GUI shows an app, one package ``ui/apps/<app TYPE>/`` per app type
(apps found on ``$HOMETWIN_APPS_PATH`` keep theirs in ``<folder>/ui_apps/<TYPE>/``).

The simulator's contract (:class:`simulator.apps.base.App`) says what an app does and
records; a view module says how the GUI shows it. For every app of the scenario
(``trace.meta["apps"]``) the window calls :func:`view_for` with the app's type, which imports
``ui.apps.<type>`` lazily (``None`` when there is none: the app still runs and its records
still show in the event log, as generic text). A new app touches no other ``ui`` file.

A view module defines any of these names (all optional):

``RECORD_VIEWS: dict[type, RecordView]``
    Display hooks for each record class the app owns (its ``App.RECORDS``): the event
    log's text and colour, a mark or a band on the timeline, a badge beside a device in the
    topology, whether the player's step (→ / ←) stops at it. Core records (messages,
    inferences, joins, deploys…) have core hooks in :mod:`ui.record_views`.
``PANEL: type[QWidget]``
    The app's panel, one per app instance, docked on the right in a tab titled by the app's
    name. The window calls ``PANEL(parent)``, then ``panel.set_session(session, app_name)``
    (``session`` is a :class:`ui.session.Session`, or ``None`` to clear) and
    ``panel.refresh(t)`` a few times a second while its tab is shown, and when it is
    shown (recompute only when something new was reached: compare counts of your
    records, as ``ui/apps/health_escalation/panel.py`` does).
``clock_label(session, app_name, t) -> str | None``
    A few words shown beside the clock at time ``t`` (``"wearer: exercise"``).
``WHATIF_METRICS: tuple[Metric, ...]`` and ``whatif_metrics(session, app_name, t) -> dict``
    The app's headline numbers at time ``t`` (``Metric.key`` → number or ``None``), shown
    before → after by a what-if re-run.
``WHATIF_BOX: type[QWidget]``
    The app's own what-if control, shown in the what-if panel (one per app instance): the
    panel calls ``WHATIF_BOX(parent)`` and ``box.set_session(session, app_name)``; the box
    emits ``override(path: str, value)`` (a Qt signal) for each scenario edit it makes — the
    smart home's placement of a chain stage is one (``ui/apps/smart_home/whatif.py``).
``MESSAGE_COLORS: dict[str, str]``
    Colours (``"#RRGGBB"``) of the message kinds the app sends (``Message.msg_kind``), for
    the dots in the topology, the timeline's transfers and the log. A kind keeps the first
    colour it was given (a colour means one thing); pick colours not in
    ``ui.theme.MESSAGE_KIND_COLORS`` (colour-blind safe: Paul Tol's palettes).

Records at time ``t`` come from the session's trace index: ``session.index.column(cls,
app_name)`` holds one app's records of class ``cls`` in time order (lists ``.t`` and
``.records``; ``.count_at(t)``, ``.until(t)``, ``.last_at(t)``, ``.window(t0, t1)``);
``session.index.devices[name]`` has a device's columns (``present_at(t)``,
``manifest_at(t)``, ``soc_at(t)``…). Hooks must be cheap: the log calls ``describe`` for the
rows on screen, the timeline and topology call theirs for what is visible, every frame.

A whole working example, kept outside the tree and plugged in through
``$HOMETWIN_APPS_PATH``: ``tests/apps/counter/plugin/ui_apps/counter/__init__.py`` (the view
of an app that owns one ``Tick`` record: its record view, what-if metric, clock label and a
panel that shows ``Counter.summarize``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from simulator.apps import extra_app_folders

Record = Any  # a trace record (a NamedTuple; the first field is ``t``)


def default_subject(record: Record) -> str:
    """The device (or sender, or link) a record is about; ``""`` if none."""
    for attr in ("device", "src", "link"):
        value = getattr(record, attr, None)
        if value:
            return str(value)
    return ""


@dataclass(frozen=True)
class RecordView:
    """Display hooks for one record class. Only ``label`` and ``describe`` are required.

    ``timeline``: ``None`` (not drawn), ``"mark"`` (a diamond at ``t`` in the lane of
    ``subject(r)``, with ``mark_label(r)`` beside it) or ``"span"`` (a band from ``t`` to
    ``r.end_t`` over all lanes, ``mark_label(r)`` in it). ``badge(r)``: text shown beside
    ``subject(r)`` in the topology for a moment after ``t`` (``None``: no badge). Colours
    are ``"#RRGGBB"`` strings.
    """

    label: str  # the kind's name in the event log's filter
    describe: Callable[[Record], str]  # one line for the event log's "what" column
    subject: Callable[[Record], str] = default_subject  # the log's "device" column; the lane
    color: Callable[[Record], str] | None = None  # log kind cell, timeline mark, badge
    timeline: str | None = None  # None | "mark" | "span"
    mark_label: Callable[[Record], str] | None = None
    badge: Callable[[Record], str | None] | None = None
    step: bool = True  # the player's step (→ / ←) stops at these records
    in_log: bool = True  # listed in the event log
    hidden_in_log: bool = False  # listed only when its kind is chosen in the filter


@dataclass(frozen=True)
class Metric:
    """One what-if number: ``key`` in ``whatif_metrics``'s dict, a label, its unit and
    which way is better (``None``: neither)."""

    key: str
    label: str
    unit: str = ""
    higher_is_better: bool | None = None


_cache: dict[str, ModuleType | None] = {}


def view_for(app_type: str) -> ModuleType | None:
    """The view module ``ui.apps.<app_type>`` (imported once), or ``None`` if there is none."""
    for folder in extra_app_folders("ui_apps"):
        if folder not in __path__:
            __path__.append(folder)
    if app_type not in _cache:
        module = None
        if app_type.isidentifier():
            try:
                module = importlib.import_module(f"{__name__}.{app_type}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}.{app_type}":
                    raise  # the module exists but one of its imports is missing: say so
        _cache[app_type] = module
        if module is not None and getattr(module, "MESSAGE_COLORS", None):
            from ui import theme

            theme.add_message_colors(module.MESSAGE_COLORS)
    return _cache[app_type]


def scenario_apps(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """``(type, name)`` of each app in a trace's meta, in scenario order."""
    apps = []
    for app in meta.get("apps") or []:
        if isinstance(app, dict) and app.get("type"):
            apps.append((str(app["type"]), str(app.get("name") or app["type"])))
    return apps


__all__ = ["Metric", "RecordView", "default_subject", "scenario_apps", "view_for"]
