"""A session: one run of a scenario (or one saved trace) that the views replay.

It owns the trace and its :class:`TraceIndex`, and produces records on demand:

* a *live* run advances the Simulation in the GUI thread, a slice per tick under a wall-time
  budget (``pump``), slightly ahead of the playhead;
* when the playhead wants time much further than the live run can reach soon (a far seek, a
  high speed on a long scenario), the whole run is simulated in a separate process
  (``python -m ui.sim_worker``) with a progress indication, then its trace file is read a
  slice per tick and replaces the live run (same spec and seed give the same records, so the
  index continues where it was);
* a *recorded* session reads a saved trace file a slice per tick.

No worker thread writes what the GUI reads: the other process only writes a file.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from simulator.runs import SUMMARY_FILE, TRACE_FILE
from simulator.trace import Trace, TraceError
from ui.trace_index import TraceIndex
from ui.trace_loader import IncrementalTraceLoader

REPO_ROOT = Path(__file__).resolve().parents[1]
# A live run lagging the playhead by more than this much wall time goes to a background process.
BACKGROUND_AFTER_WALL_S = 1.5


@dataclass
class RunSpec:
    """What to simulate: a scenario (file or dict) plus the seed and what-if edits (dotted
    overrides, extra scheduled events, extra devices and links)."""

    scenario_file: str | None = None
    scenario: dict[str, Any] | None = None
    seed: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    extra_events: list[dict[str, Any]] = field(default_factory=list)
    extra_devices: list[dict[str, Any]] = field(default_factory=list)
    extra_links: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.scenario_file:
            return Path(self.scenario_file).name
        return str((self.scenario or {}).get("name", "generated scenario"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario_file": self.scenario_file,
            "scenario": self.scenario,
            "seed": self.seed,
            "overrides": self.overrides,
            "extra_events": self.extra_events,
            "extra_devices": self.extra_devices,
            "extra_links": self.extra_links,
        }

    def with_edits(
        self,
        overrides: dict[str, Any],
        extra_events: list[dict[str, Any]],
        extra_devices: list[dict[str, Any]] | None = None,
        extra_links: list[dict[str, Any]] | None = None,
    ) -> RunSpec:
        return RunSpec(
            self.scenario_file,
            self.scenario,
            self.seed,
            dict(overrides),
            list(extra_events),
            list(extra_devices or []),
            list(extra_links or []),
        )


class Session(QObject):
    """One replayable run; see the module docstring."""

    progress = Signal(float, str)  # fraction in 0..1 (or -1 to hide), text
    error = Signal(str)
    replaced = Signal()  # the trace object changed (background run swapped in)

    def __init__(self, trace: Trace, sim: Any = None, spec: RunSpec | None = None, source_path: str = ""):
        super().__init__()
        self.trace = trace
        self.sim = sim
        self.spec = spec
        self.source_path = source_path
        self.index = TraceIndex(trace)
        self.finished = sim is None
        self.loader: IncrementalTraceLoader | None = None
        self.summary_cache: dict[str, Any] | None = None
        self._process: QProcess | None = None
        self._bg_dir: tempfile.TemporaryDirectory | None = None
        self._bg_out: Path | None = None
        self._bg_loader: IncrementalTraceLoader | None = None
        self._sim_wall_s = 1e-6
        self._sim_advanced_s = 0.0
        self._lagging_since: float | None = None
        self.background_enabled = True
        if sim is not None and self.trace.meta.get("sim_time_s") is None:
            self.trace.meta["sim_time_s"] = float(sim.duration_s)

    # ---- construction --------------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: RunSpec, validated: dict[str, Any] | None = None) -> Session:
        """Build a live session (raises SpecError and friends for bad scenarios);
        ``validated``: the scenario :meth:`Simulation.prepare` already validated for it."""
        from simulator.engine import Simulation

        sim = Simulation.from_run(spec.to_dict(), validated)
        return cls(sim.trace, sim=sim, spec=spec, source_path=spec.scenario_file or "")

    @classmethod
    def from_trace_file(cls, path: str | Path) -> Session:
        """A recorded session read a slice per tick (raises TraceError for a bad header)."""
        loader = IncrementalTraceLoader(path)
        session = cls(loader.trace, source_path=str(path))
        session.loader = loader
        session.finished = False
        for candidate in (Path(path).with_name(SUMMARY_FILE),):
            if candidate.is_file():
                try:
                    session.summary_cache = json.loads(candidate.read_text())
                except (OSError, json.JSONDecodeError):
                    pass
                break
        return session

    @classmethod
    def from_trace(cls, trace: Trace) -> Session:
        return cls(trace)

    # ---- state ---------------------------------------------------------------------------

    @property
    def duration_s(self) -> float:
        if self.sim is not None:
            return float(self.sim.duration_s)
        d = self.trace.meta.get("sim_time_s")
        if d is None:
            return max(self.index.last_t, self.trace.times[-1] if self.trace.times else 0.0)
        return float(d)

    def app_entry(self, app: str) -> dict[str, Any]:
        """App ``app``'s entry in the trace's meta (type, name, validated params); ``{}`` if none."""
        for entry in self.trace.meta.get("apps") or []:
            if entry.get("name", entry.get("type")) == app:
                return entry
        return {}

    def summary_at(self, app: str, t: float) -> dict[str, Any]:
        """App ``app``'s summary counting what happened by ``t``: its own ``summarize`` of the
        trace (what ``summary.json`` holds at the end)."""
        from simulator.apps import app_class

        entry = self.app_entry(app)
        cls = app_class(entry.get("type"))
        return {} if cls is None else cls.summarize(self.trace, entry, t)

    @property
    def is_live(self) -> bool:
        return self.sim is not None and not self.finished

    @property
    def background_running(self) -> bool:
        return self._process is not None or self._bg_loader is not None

    def frontier(self) -> float:
        """Time up to which the index holds every record (the views may show up to here)."""
        if self.index.n < len(self.trace.records):
            return self.index.last_t
        if self.loader is not None and not self.loader.done:
            return self.index.last_t
        if self.sim is not None and not self.finished:
            # nothing can happen before the next scheduled event: all records up to it exist
            next_event = float(self.sim.env.peek())
            return max(float(self.sim.now), min(next_event, self.duration_s) - 1e-6)
        return math.inf

    @property
    def sim_rate(self) -> float:
        """Simulated seconds per wall second spent inside ``advance`` (live runs)."""
        return self._sim_advanced_s / self._sim_wall_s

    def summary(self) -> dict[str, Any] | None:
        if self.sim is not None:
            try:
                return self.sim.summary()
            except Exception:  # a summary mid-run may not be supported by every app
                return self.summary_cache
        return self.summary_cache

    # ---- producing records ---------------------------------------------------------------

    def pump(self, want_t: float, budget_s: float) -> None:
        """Produce and index records up to ``want_t`` within about ``budget_s`` of wall time."""
        start = time.perf_counter()
        if self.loader is not None and not self.loader.done:
            try:
                self.loader.step(budget_s * 0.6)
            except TraceError as exc:
                self.loader = None
                self.finished = True
                self.error.emit(str(exc))
            else:
                if self.loader.done:
                    self.finished = True
                    self.loader = None
                    self.progress.emit(-1.0, "")
                else:
                    self.progress.emit(self.loader.fraction, "Reading trace")
        elif self._bg_loader is not None:
            self._step_background_loader(budget_s * 0.6)
        elif self.sim is not None and not self.finished:
            now = float(self.sim.now)
            until = min(self.duration_s, want_t)
            if until > now:
                t0 = time.perf_counter()
                try:
                    self.finished = bool(self.sim.advance(until, budget_s=budget_s * 0.6))
                except Exception as exc:  # a model or app failure ends the run, visibly
                    self.finished = True
                    self.error.emit(f"The simulation stopped at {now:.0f} s: {exc}")
                self._sim_wall_s += time.perf_counter() - t0
                self._sim_advanced_s += float(self.sim.now) - now
                self._check_lag(want_t)
            elif now >= self.duration_s:
                self.finished = bool(self.sim.advance(self.duration_s, budget_s=budget_s * 0.5))
        remaining = budget_s - (time.perf_counter() - start)
        self.index.update(budget_s=max(0.001, remaining))

    def _check_lag(self, want_t: float) -> None:
        if not self.background_enabled or self.spec is None or self.background_running or self.finished:
            return
        lag_sim_s = want_t - float(self.sim.now)
        rate = max(self.sim_rate, 1e-9) * 0.35  # the live run gets about a third of each frame
        if lag_sim_s / rate > BACKGROUND_AFTER_WALL_S:
            if self._lagging_since is None:
                self._lagging_since = time.perf_counter()
            elif time.perf_counter() - self._lagging_since > 0.3:
                self.start_background()
        else:
            self._lagging_since = None

    def start_background(self) -> None:
        """Simulate the whole run in another process; replay its trace when it is done."""
        if self.spec is None or self.background_running or self.finished:
            return
        self._bg_dir = tempfile.TemporaryDirectory(prefix="hometwin-run-")
        spec_path = Path(self._bg_dir.name) / "spec.json"
        spec_path.write_text(json.dumps(self.spec.to_dict(), default=str))
        self._bg_out = Path(self._bg_dir.name) / "run"
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONPATH", str(REPO_ROOT) + ":" + env.value("PYTHONPATH", ""))
        env.insert("OMP_NUM_THREADS", "1")
        proc.setProcessEnvironment(env)
        proc.setWorkingDirectory(str(REPO_ROOT))
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        proc.readyReadStandardOutput.connect(self._on_background_output)
        proc.finished.connect(self._on_background_finished)
        self._process = proc
        self._bg_lines: list[str] = []
        self.progress.emit(0.0, "Simulating in background")
        proc.start(sys.executable, ["-m", "ui.sim_worker", str(spec_path), str(self._bg_out)])

    def _on_background_output(self) -> None:
        if self._process is None:
            return
        text = bytes(self._process.readAllStandardOutput().data()).decode("utf-8", "replace")
        for line in text.splitlines():
            self._bg_lines.append(line)
            parts = line.split()
            if len(parts) == 3 and parts[0] == "progress":
                try:
                    now, total = float(parts[1]), float(parts[2])
                except ValueError:
                    continue
                self.progress.emit(now / total if total > 0 else 0.0, "Simulating in background")

    def _on_background_finished(self, exit_code: int, _status: Any = None) -> None:
        proc, self._process = self._process, None
        if proc is not None:
            self._on_background_output_from(proc)
            proc.deleteLater()
        if self.finished:
            return
        if exit_code != 0 or self._bg_out is None or not (self._bg_out / TRACE_FILE).is_file():
            errors = [ln[6:] for ln in self._bg_lines if ln.startswith("error ")]
            msg = (
                errors[-1] if errors else (self._bg_lines[-1] if self._bg_lines else f"exit code {exit_code}")
            )
            self.progress.emit(-1.0, "")
            self.background_enabled = False
            self.error.emit(f"The background run failed: {msg}. Continuing the live run.")
            return
        try:
            self._bg_loader = IncrementalTraceLoader(self._bg_out / TRACE_FILE)
        except TraceError as exc:
            self.background_enabled = False
            self.error.emit(str(exc))

    def _on_background_output_from(self, proc: QProcess) -> None:
        rest = bytes(proc.readAllStandardOutput().data()).decode("utf-8", "replace")
        self._bg_lines.extend(rest.splitlines())

    def _step_background_loader(self, budget_s: float) -> None:
        loader = self._bg_loader
        try:
            done = loader.step(budget_s)
        except TraceError as exc:
            self._bg_loader = None
            self.background_enabled = False
            self.error.emit(str(exc))
            return
        if not done:
            self.progress.emit(loader.fraction, "Loading background run")
            return
        self._bg_loader = None
        new = loader.trace
        old_n = self.index.n
        same_prefix = len(new.records) >= old_n and (
            old_n == 0 or new.records[old_n - 1] == self.trace.records[old_n - 1]
        )
        new.meta.setdefault("sim_time_s", self.duration_s)
        summary_path = self._bg_out / SUMMARY_FILE if self._bg_out else None
        if summary_path is not None and summary_path.is_file():
            try:
                self.summary_cache = json.loads(summary_path.read_text())
            except (OSError, json.JSONDecodeError):
                self.summary_cache = None
        self.trace = new
        if same_prefix:
            self.index.trace = new
        else:
            self.index = TraceIndex(new)
        self.sim = None
        self.finished = True
        self.progress.emit(-1.0, "")
        self.replaced.emit()

    def close(self) -> None:
        """Stop a background process, if any (the window or a new session replaces this one)."""
        proc, self._process = self._process, None
        if proc is not None:
            proc.finished.disconnect()
            proc.kill()
            proc.waitForFinished(2000)
            proc.deleteLater()
        self._bg_loader = None
        if self._bg_dir is not None:
            self._bg_dir.cleanup()
            self._bg_dir = None
