"""CLI summary tables per app: text only, no Qt.

An app type may provide ``ui/tables/<app type>.py`` with ``table(name: str, metrics: dict)
-> list[str]`` (the lines under the device table of ``python main.py run``); it is imported
only when a run has that app. Apps without one get :func:`generic_table` of their scalar
metrics.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Table = Callable[[str, dict], list[str]]


def fmt(value: Any, digits: int = 2) -> str:
    """A metric as table text: ``—`` for missing, floats with ``digits`` decimals."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _scalars(metrics: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            yield from _scalars(value, f"{prefix}{key}.")
        elif value is None or isinstance(value, bool | int | float | str):
            yield f"{prefix}{key}", value


def generic_table(name: str, metrics: dict) -> list[str]:
    """Every scalar metric of app ``name``, nested dicts flattened to dotted keys."""
    rows = list(_scalars(metrics))
    if not rows:
        return [f"  {name}: no metrics"]
    width = max(len(name), *(len(key) for key, _ in rows))
    return [f"  {name:<{width}}"] + [f"  {key:<{width}} {fmt(value):>12}" for key, value in rows]


def table_for(app_type: str) -> Table:
    """The ``table`` function of ``ui.tables.<app_type>``, else :func:`generic_table`."""
    module_name = f"{__name__}.{app_type}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:  # the table module exists but is broken: say so
            raise
        return generic_table
    return getattr(module, "table", generic_table)


def app_tables(summary: dict, apps: Iterable[Mapping[str, str]]) -> list[str]:
    """The tables of every app in ``apps`` (``{"type", "name"}`` each, as in a scenario's
    ``apps``) that has metrics in ``summary``, a blank line before each."""
    lines: list[str] = []
    for app in apps:
        metrics = summary.get(app["name"])
        if isinstance(metrics, dict):
            lines += ["", *table_for(app["type"])(app["name"], metrics)]
    return lines


def print_app_tables(summary: dict, apps: Iterable[Mapping[str, str]]) -> None:
    """Print :func:`app_tables`."""
    for line in app_tables(summary, apps):
        print(line)
