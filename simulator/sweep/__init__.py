"""Sweeps: one scenario run over a grid of overrides × seeds, on a local process pool (the
default), serially, or on Ray; every run's summary collected into one table, with mean and
95 % confidence interval per metric per grid point.

>>> from simulator.sweep import run_sweep
>>> table = run_sweep("scenarios/health_escalation.yaml",
...                   {"devices.watch.models.hr_screener": ["fp32", "int8"]}, seeds=range(1, 21))
>>> print(table.format_stats(["health.sensitivity", "devices.watch.battery_end_pct"]))

Importing this package is light (no torch, no ray): workers load the models; Ray is
imported only by :mod:`simulator.sweep.ray_backend`, when that backend is asked for.
"""

from __future__ import annotations

from simulator.sweep.grid import RunSpec, expand, parse_grid, parse_seeds
from simulator.sweep.run import BACKENDS, run_sweep
from simulator.sweep.stats import Estimate, estimate, t_quantile
from simulator.sweep.table import SweepTable, comparable, is_wall_time, load_table

__all__ = [
    "BACKENDS",
    "Estimate",
    "RunSpec",
    "SweepTable",
    "comparable",
    "estimate",
    "expand",
    "is_wall_time",
    "load_table",
    "parse_grid",
    "parse_seeds",
    "run_sweep",
    "t_quantile",
]
