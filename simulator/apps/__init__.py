"""Apps: behaviours installed on devices, one module (or package) per app, registered here
by type. The contract every app implements is :class:`simulator.apps.base.App`.

Importing an app module is light (no torch): the scenario loader imports it to validate
params and the trace loader to learn its record kinds.
"""

from __future__ import annotations

import importlib

from simulator.apps.base import App

APP_MODULES = {
    "health_escalation": "simulator.apps.health",
    "federated": "simulator.apps.federated.app",
    "smart_home": "simulator.apps.smart_home",
}


def app_class(app_type: str) -> type[App] | None:
    """The app class registered under ``app_type`` (``None`` if unknown)."""
    module = APP_MODULES.get(app_type)
    if module is None:
        return None
    return importlib.import_module(module).App


def register_all_records() -> None:
    """Register every known app's record kinds with the trace (to load saved traces)."""
    from simulator.trace import register_records

    for app_type in APP_MODULES:
        register_records(app_class(app_type).RECORDS)


__all__ = ["APP_MODULES", "App", "app_class", "register_all_records"]
