"""Run a sweep: check the grid, skip what the folder already holds, run the rest on a
backend, write each row as it finishes, return the table.

Backends: ``serial`` (this process), ``local`` (a spawn-based process pool, the default)
and ``ray`` (:mod:`simulator.sweep.ray_backend`, imported only when asked). Every backend
runs the same :func:`simulator.sweep.worker.execute_run`, so per-run results are identical.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from simulator.sweep.folder import SweepFolder
from simulator.sweep.grid import RunSpec, check_grid, expand, parse_seeds
from simulator.sweep.plan import SweepPlan, died_row
from simulator.sweep.progress import SweepProgress
from simulator.sweep.table import SweepTable
from simulator.sweep.worker import execute_run, warm
from simulator.validate import SpecError

BACKENDS = ("local", "serial", "ray")
#: a run whose worker process died is tried this many times before it is recorded as failed
MAX_ATTEMPTS = 2


def run_serial(plan: SweepPlan) -> None:
    """Every run in this process, one after the other (models loaded once, here)."""
    warm(plan.models)
    for job in plan.jobs:
        plan.on_result(*execute_run(plan.scenario, job, plan.run_dir(job)))


def _pool_worker(models: list) -> None:
    """A pool worker ignores Ctrl-C (the parent stops the sweep; a run in progress ends
    normally instead of each worker printing a traceback), then loads the models."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm(models)


def run_local(plan: SweepPlan) -> None:
    """A spawn-based process pool of ``workers`` (default: CPU count) processes, each
    loading the models once in its initializer. If a worker process dies (a crash, not an
    exception: those are rows), the pool is rebuilt and its unfinished runs tried again."""
    context = multiprocessing.get_context("spawn")  # no fork after torch/ORT threads exist
    size = max(1, min(plan.workers or os.cpu_count() or 1, len(plan.jobs)))
    attempts: Counter[RunSpec] = Counter()
    pending = list(plan.jobs)
    while pending:
        broken: list[tuple[RunSpec, str]] = []
        pool = ProcessPoolExecutor(
            size, mp_context=context, initializer=_pool_worker, initargs=(plan.models,)
        )
        finished = False
        try:
            futures = {
                pool.submit(execute_run, plan.scenario, job, plan.run_dir(job)): job for job in pending
            }
            for future in as_completed(futures):
                job = futures[future]
                try:
                    row, timing = future.result()
                except BrokenProcessPool as exc:
                    broken.append((job, str(exc) or "broken pool"))
                    continue
                plan.on_result(row, timing)
            finished = True
        finally:
            pool.shutdown(wait=finished, cancel_futures=True)
        pending = []
        for job, why in broken:
            attempts[job] += 1
            if attempts[job] >= MAX_ATTEMPTS:
                plan.on_result(died_row(job, why), {})
            else:
                pending.append(job)


def summarize_timings(timings: list[dict[str, float]], started_at: float) -> dict[str, float]:
    """Where a sweep's time went, from its workers' timing facts: ``setup_s`` until the
    first worker had its models (``all_ready_s``: the last), ``run_s`` the runs' own time
    summed, and ``dispatch_s_per_run`` a worker's time between its runs once ready (handing
    out a run and taking back its row), per run."""
    by_worker: dict[float, list[dict[str, float]]] = {}
    for t in timings:
        by_worker.setdefault(t["pid"], []).append(t)
    # a worker kept from an earlier sweep (this process, a Ray session) was ready before
    ready_at = {pid: max(runs[0]["ready_at"], started_at) for pid, runs in by_worker.items()}
    gaps = 0.0
    for pid, runs in by_worker.items():
        busy = sum(t["ended_at"] - t["started_at"] for t in runs)
        gaps += max(t["ended_at"] for t in runs) - min(ready_at[pid], *(t["started_at"] for t in runs)) - busy
    return {
        "setup_s": min(ready_at.values()) - started_at,
        "all_ready_s": max(ready_at.values()) - started_at,
        "workers": float(len(by_worker)),
        "run_s": sum(t["ended_at"] - t["started_at"] for t in timings),
        "dispatch_s_per_run": gaps / len(timings),
    }


def _shown(path: Path) -> Path:
    """``path`` relative to the working folder where it is inside it (for messages)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _backend(name: str):
    if name == "serial":
        return run_serial
    if name == "local":
        return run_local
    from simulator.sweep.ray_backend import run_ray  # the one place that imports ray

    return run_ray


def run_sweep(
    scenario: str | Path,
    grid: dict[str, Iterable[Any]] | None = None,
    seeds: Iterable[int] | str = (0,),
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    out: str | Path | None = None,
    progress: bool | Callable[[dict[str, Any]], None] | None = None,
    traces: bool = False,
) -> SweepTable:
    """Run ``scenario`` for every combination of ``grid`` values (dotted override paths →
    values) × ``seeds``, and return the table of runs.

    Every grid point is validated first (a ``SpecError`` naming the bad key or value, and
    nothing runs). With ``out`` each row is written to ``out/runs.jsonl`` and
    ``out/runs.csv`` as its run finishes, runs already there are skipped, and with
    ``traces`` each run's summary and trace go to ``out/runs/<run>/``. A failed run is a
    row with ``status: error``; the sweep goes on. ``backend`` is ``"local"`` (process pool
    of ``workers``), ``"serial"`` or ``"ray"`` (``address`` attaches to a running cluster;
    default: a local Ray instance). ``progress``: True for a bar on stderr, or a callable
    taking each finished row.
    """
    if backend not in BACKENDS:
        raise SpecError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if workers is not None and workers < 1:
        raise SpecError(f"--workers: must be ≥ 1, got {workers}")
    if address is not None and backend != "ray":
        raise SpecError("--address: only with --backend ray")
    if traces and out is None:
        raise SpecError("traces: need an output folder (out) to write them to")
    scenario = _shown(Path(scenario))
    if not scenario.is_file():
        raise SpecError(f"{scenario}: scenario file not found")
    grid = {str(k): list(v) for k, v in (grid or {}).items()}
    seed_list = parse_seeds(seeds) if isinstance(seeds, str) else [int(s) for s in seeds]
    models = sorted(check_grid(scenario, grid))  # raises before anything runs or is written
    runs = expand(grid, seed_list)

    folder = SweepFolder(out) if out is not None else None
    done = folder.open(scenario.resolve(), grid, seed_list) if folder else {}
    results = {r.key: done[r.key] for r in runs if done.get(r.key, {}).get("status") == "ok"}
    todo = [r for r in runs if r.key not in results]
    if progress is True:
        progress = SweepProgress(len(runs), skipped=len(results))
    timings: list[dict[str, float]] = []

    last_result = [0.0]

    def on_result(row: dict[str, Any], timing: dict[str, float]) -> None:
        last_result[0] = time.perf_counter()
        if folder:
            folder.append(row)
        results[row["key"]] = row
        if timing:
            timings.append(timing)
        if callable(progress):
            progress(row)

    def run_dir(job: RunSpec) -> str | None:
        return str(folder.run_dir(job.run_id)) if folder and traces else None

    started_at, started = time.time(), time.perf_counter()
    if todo:
        plan = SweepPlan(str(scenario.resolve()), todo, models, workers, address, run_dir, on_result)
        _backend(backend)(plan)
    ended = time.perf_counter()
    timing = {"total_s": ended - started, "runs": float(len(todo))}
    if todo:
        timing["teardown_s"] = ended - max(last_result[0], started)  # e.g. stopping Ray
    if timings:
        timing.update(summarize_timings(timings, started_at))
    rows = [results[r.key] for r in runs if r.key in results]
    table = SweepTable(rows, grid, seed_list, str(scenario), folder.path if folder else None, timing)
    if folder:
        folder.finish([r.key for r in runs], table.stats())
    return table
