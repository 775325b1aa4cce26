"""A recipe run in a background process, seen from the GUI: progress, result, cancel; and the
event-loop stall probe that shows the window stays responsive meanwhile."""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import shutil
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ui.lab.recipe_process import make_staging, run_recipe

POLL_MS = 50  # how often the GUI reads the process's messages


class RecipeJob(QObject):
    """One recipe run in a spawned process (torch state never shared with the GUI).

    ``progress(fraction, text)``, then exactly one of ``finished(result)``, ``failed(text)``
    or ``cancelled()``."""

    progress = Signal(float, str)
    finished = Signal(dict)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._process: multiprocessing.process.BaseProcess | None = None
        self._queue = None
        self._staging: Path | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self.last_traceback = ""
        # processes that reported and are exiting (torch teardown takes seconds): reaped by
        # the poll timer, never joined while the GUI waits
        self._exiting: list[multiprocessing.process.BaseProcess] = []

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self, model: str, recipe: str, options: dict[str, Any], root: Path) -> None:
        assert not self.running, "one recipe at a time"
        context = multiprocessing.get_context("spawn")  # fork would copy Qt's threads
        self._queue = context.Queue()
        self._staging = make_staging(Path(root), model)
        self._process = context.Process(
            target=run_recipe,
            args=(self._queue, model, recipe, dict(options), str(root), str(self._staging)),
            daemon=True,
            name=f"hometwin-lab-{recipe}",
        )
        self._process.start()
        self._timer.start()

    def cancel(self) -> None:
        """Stop the process now; nothing it staged reaches the artifacts folder."""
        if not self.running:
            return
        self._process.terminate()
        self._process.join(1)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(1)
        self._cleanup()
        self.cancelled.emit()

    def wait(self, timeout_s: float) -> bool:
        """Block (tests, scripts) until the job ends or ``timeout_s`` passes; True when it ended."""
        deadline = time.perf_counter() + timeout_s
        while self.running and time.perf_counter() < deadline:
            self._poll()
            time.sleep(POLL_MS / 1000)
        return not self.running

    def _poll(self) -> None:
        self._exiting = [p for p in self._exiting if p.is_alive() or p.join(0)]
        if not self._exiting and self._process is None:
            self._timer.stop()
        while self._queue is not None:
            try:
                message = self._queue.get_nowait()
            except queue_module.Empty:
                break
            kind = message[0]
            if kind == "progress":
                self.progress.emit(float(message[1]), str(message[2]))
            elif kind == "done":
                self._finish()
                self.finished.emit(message[1])
                return
            else:
                self.last_traceback = message[2] if len(message) > 2 else ""
                self._finish()
                self.failed.emit(str(message[1]))
                return
        if self._process is not None and not self._process.is_alive() and self._queue is not None:
            code = self._process.exitcode
            self._finish()
            self.failed.emit(f"the recipe process stopped unexpectedly (exit code {code})")

    def _finish(self) -> None:
        if self._process is not None:
            self._exiting.append(self._process)
        self._cleanup()

    def _cleanup(self) -> None:
        if not self._exiting:
            self._timer.stop()
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
        self._process, self._queue, self._staging = None, None, None


class StallProbe(QObject):
    """A QTimer that should fire every ``interval_ms``: how late each tick comes is how long
    the event loop was blocked. ``p99_ms()`` over the ticks since ``start``."""

    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.stalls_ms: list[float] = []
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.stalls_ms = []
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.stalls_ms.append(max(0.0, 1000 * (now - self._last) - self.interval_ms))
        self._last = now

    def p99_ms(self) -> float:
        if not self.stalls_ms:
            return 0.0
        ordered = sorted(self.stalls_ms)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]

    def max_ms(self) -> float:
        return max(self.stalls_ms, default=0.0)
