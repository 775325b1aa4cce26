"""Sweep runs as Ray tasks: the one module that imports ray, loaded only for ``--backend ray``.

Without an address a local Ray instance is started for the sweep (and stopped after it);
with ``address`` the sweep attaches to a running cluster (its nodes need this checkout at
the same path, as they need the scenario file). A Ray session already open in this process
(a notebook's) is used as it is. Each task loads the grid's models into its worker process
once (the runtime's cache keeps them for the worker's next tasks), then runs
:func:`simulator.sweep.worker.execute_run`, the same function every backend runs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import ray

from simulator.sweep.grid import RunSpec
from simulator.sweep.plan import SweepPlan, died_row
from simulator.sweep.worker import execute_run, warm

ROOT = Path(__file__).resolve().parents[2]
#: tasks kept queued per worker, so a worker never waits on the driver between runs
IN_FLIGHT_PER_WORKER = 2


def _run(models: list, scenario: str, job: RunSpec, run_dir: str | None):
    warm(models)  # loads only in a worker's first task; later calls hit the cache
    return execute_run(scenario, job, run_dir)


def run_ray(plan: SweepPlan) -> None:
    """Run the plan's jobs as Ray tasks, ``workers`` at a time (default: the cluster's CPUs)."""
    started_here = False
    if not ray.is_initialized():
        options = dict(
            include_dashboard=False,
            logging_level=logging.WARNING,
            runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
        )
        if plan.address:
            ray.init(address=plan.address, **options)
        else:
            ray.init(address="local", num_cpus=plan.workers or os.cpu_count(), **options)
        started_here = True
    try:
        task = ray.remote(num_cpus=1, max_retries=1)(_run)
        capacity = plan.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        queue = iter(plan.jobs)
        pending: dict = {}

        def submit_next() -> None:
            job = next(queue, None)
            if job is not None:
                pending[task.remote(plan.models, plan.scenario, job, plan.run_dir(job))] = job

        for _ in range(capacity * IN_FLIGHT_PER_WORKER):
            submit_next()
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(ref)
            try:
                row, timing = ray.get(ref)
            except ray.exceptions.RayError as exc:  # the worker died (a run's own errors are rows)
                row, timing = died_row(job, type(exc).__name__), {}
            plan.on_result(row, timing)
            submit_next()
    finally:
        if started_here:
            ray.shutdown()
