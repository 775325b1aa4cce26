"""Apps: behaviours installed on devices, one module per app, each a set of SimPy processes.

An app class takes ``(sim, spec)`` where ``spec`` is the scenario's app entry, validates its
``params`` in ``__init__`` (raising ``SpecError`` naming the field), starts its processes in
``start()`` and reports its metrics from the trace in ``metrics(trace)``.
"""

from __future__ import annotations

import importlib

APP_MODULES = {"health_escalation": "simulator.apps.health"}


def app_class(app_type: str):
    """The app class registered under ``app_type`` (``None`` if unknown)."""
    module = APP_MODULES.get(app_type)
    if module is None:
        return None
    return importlib.import_module(module).App
