"""CLI summary tables of apps: text only, no Qt.

An app may provide ``simulator/apps/<type>/table.py`` with ``table(name: str, metrics: dict)
-> list[str]`` (the lines under the device table of ``python main.py run``); it is imported
only when a run has that app (:func:`simulator.apps.app_table`). Apps without one get
:func:`generic_table` of their scalar metrics.
"""

from __future__ import annotations

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
