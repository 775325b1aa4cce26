"""What a sweep backend is given (:class:`SweepPlan`) and the row of a run whose worker died;
below the backends (``run``'s local pool and serial loop, ``ray_backend``), so none of them
imports another."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator.sweep.grid import RunSpec
from simulator.sweep.worker import base_row


@dataclass
class SweepPlan:
    """What a backend gets: the runs to do, the models its workers load once, and the
    callbacks that name a run's folder (``None``: no traces) and take each finished row
    with its worker timing (in the caller's process, one at a time)."""

    scenario: str
    jobs: list[RunSpec]
    models: list[tuple[str, str]]
    workers: int | None
    address: str | None
    run_dir: Callable[[RunSpec], str | None]
    on_result: Callable[[dict[str, Any], dict[str, float]], None]


def died_row(job: RunSpec, why: str) -> dict[str, Any]:
    row = base_row(job)
    row.update(status="error", error=f"worker process died ({why})")
    return row
