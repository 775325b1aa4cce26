"""Apps: behaviours installed on devices, each a package ``simulator/apps/<type>/`` found by
its folder name (as Home Assistant finds an integration by its domain). The contract every
app implements is :class:`simulator.apps.base.App`; a new app adds a folder and edits no
shared file.

Importing an app package is light (no torch): the scenario loader imports it to validate
params, the trace loader to learn its record kinds.

Apps outside the source tree (an example in the tests, a user's own) are found on the
folders listed in ``$HOMETWIN_APPS_PATH`` (``os.pathsep``-separated): each folder holds
``simulator_apps/<type>/`` (the app) and optionally ``ui_apps/<type>/`` (its views; see
:mod:`ui.apps`), as ``custom_components/`` does for Home Assistant.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from simulator.apps.base import App
from simulator.apps.tables import Table, generic_table
from simulator.trace import Trace, TraceError, register_records

APPS_PATH_ENV = "HOMETWIN_APPS_PATH"


def extra_app_folders(sub: str) -> list[str]:
    """The ``sub`` folders (``simulator_apps`` or ``ui_apps``) of ``$HOMETWIN_APPS_PATH``."""
    folders = []
    for entry in os.environ.get(APPS_PATH_ENV, "").split(os.pathsep):
        folder = Path(entry) / sub
        if entry and folder.is_dir():
            folders.append(str(folder.resolve()))
    return folders


def _extend_path() -> None:
    for folder in extra_app_folders("simulator_apps"):
        if folder not in __path__:
            __path__.append(folder)


def app_types() -> list[str]:
    """Every app type there is: the packages in this folder (and ``$HOMETWIN_APPS_PATH``)."""
    _extend_path()
    return sorted(
        info.name for info in pkgutil.iter_modules(__path__) if info.ispkg and info.name.isidentifier()
    )


def app_class(app_type: str) -> type[App] | None:
    """The ``App`` class of the package ``simulator.apps.<app_type>`` (``None`` if there is none)."""
    if not isinstance(app_type, str) or not app_type.isidentifier() or app_type not in app_types():
        return None
    module_name = f"{__name__}.{app_type}"
    module = importlib.import_module(module_name)
    cls = getattr(module, "App", None)
    if not (isinstance(cls, type) and issubclass(cls, App)) or cls.TYPE != app_type:
        raise TypeError(f"{module_name} must define App, a simulator.apps.base.App with TYPE {app_type!r}")
    return cls


def app_table(app_type: str) -> Table:
    """The ``table(name, metrics) -> list[str]`` of ``simulator.apps.<type>.table``, else
    :func:`simulator.apps.tables.generic_table`."""
    if app_class(app_type) is None:
        return generic_table
    module_name = f"{__name__}.{app_type}.table"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:  # the table module exists but is broken: say so
            raise
        return generic_table
    return getattr(module, "table", generic_table)


def app_tables(summary: dict, apps: Iterable[Mapping[str, str]]) -> list[str]:
    """The CLI tables of every app in ``apps`` (``{"type", "name"}`` each, as in a scenario's
    ``apps`` or a trace's meta) that has metrics in ``summary``, a blank line before each."""
    lines: list[str] = []
    for app in apps:
        metrics = summary.get(app["name"])
        if isinstance(metrics, dict):
            lines += ["", *app_table(app["type"])(app["name"], metrics)]
    return lines


def register_app_records(meta: dict[str, Any]) -> list[str]:
    """Register the record kinds of every app a trace's ``meta`` names (to parse its rows).
    Unknown types are skipped (and returned): their rows then fail to parse, and the loader says so."""
    unknown = []
    for entry in meta.get("apps") or []:
        cls = app_class(entry.get("type")) if isinstance(entry, dict) else None
        if cls is not None:
            register_records(cls.RECORDS)
        else:
            unknown.append(str(entry.get("type") if isinstance(entry, dict) else entry))
    return unknown


def load_trace(path: str | Path) -> Trace:
    """A saved trace, with the record kinds of the apps it names (``TraceError`` if damaged,
    naming the app types it needs that are not installed)."""
    unknown: list[str] = []
    try:
        return Trace.load(path, lambda meta: unknown.extend(register_app_records(meta)))
    except TraceError as error:
        if unknown and "unknown record kind" in str(error):
            raise TraceError(
                f"{error}: the trace's app type {', '.join(map(repr, unknown))} is not installed here "
                f"(an app is a folder in simulator/apps/ or in ${APPS_PATH_ENV})"
            ) from None
        raise


__all__ = [
    "APPS_PATH_ENV",
    "App",
    "app_class",
    "app_table",
    "app_tables",
    "app_types",
    "extra_app_folders",
    "load_trace",
    "register_app_records",
]
