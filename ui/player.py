"""The playhead: play, pause, step to the next event, speed, seek, teaching pauses.

``Player.tick(wall_now)`` is called once per frame by the window. It moves the wanted time
by ``speed`` × wall time, asks the session to produce records up to there within a budget,
and sets ``t`` (the displayed time) to what the index already covers: when the simulation
cannot keep up, the view waits at the frontier instead of showing half-known state.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QObject, Signal

from ui.session import Session

SPEEDS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 3000, 6000, 10000]
MIN_SPEED, MAX_SPEED = SPEEDS[0], SPEEDS[-1]


class Player(QObject):
    """Playhead state and its per-frame update (see module docstring)."""

    state_changed = Signal()  # playing / speed / teaching changed
    narration = Signal(object)  # a Narration reached in teaching mode
    seeked = Signal(float)  # a jump (seek, step): views drop incremental state

    def __init__(self, session: Session | None = None, speed: float = 60.0) -> None:
        super().__init__()
        self.session: Session | None = session
        self.t = 0.0
        self.target = 0.0
        self.playing = False
        self.speed = float(speed)
        self.teaching = False
        self.budget_s = 0.006
        self._last_wall: float | None = None
        self._pending_step = 0  # +1 step forward, -1 backward, 0 none
        self._seek_target: float | None = None  # a seek beyond what is simulated yet
        self._shown_narration_t: float | None = None
        self.lagging = False

    # ---- controls ------------------------------------------------------------------------

    def set_session(self, session: Session | None, keep_time: bool = False) -> None:
        self.session = session
        if not keep_time:
            self.t = self.target = 0.0
        self._pending_step = 0
        self._seek_target = None
        self._shown_narration_t = None
        self.seeked.emit(self.t)

    @property
    def duration_s(self) -> float:
        return self.session.duration_s if self.session is not None else 0.0

    def play(self) -> None:
        if self.session is None:
            return
        if self.at_end():
            self.seek(0.0)
        self.playing = True
        self._last_wall = None
        self.state_changed.emit()

    def pause(self) -> None:
        if self.playing:
            self.playing = False
            self.state_changed.emit()

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def set_speed(self, speed: float) -> None:
        speed = min(MAX_SPEED, max(MIN_SPEED, float(speed)))
        if speed != self.speed:
            self.speed = speed
            self.state_changed.emit()

    def faster(self) -> None:
        bigger = [s for s in SPEEDS if s > self.speed * 1.001]
        self.set_speed(bigger[0] if bigger else MAX_SPEED)

    def slower(self) -> None:
        smaller = [s for s in SPEEDS if s < self.speed * 0.999]
        self.set_speed(smaller[-1] if smaller else MIN_SPEED)

    def set_teaching(self, on: bool) -> None:
        self.teaching = bool(on)
        self.state_changed.emit()

    def seek(self, t: float) -> None:
        """Jump to simulated time ``t`` (the view follows once the run has reached it)."""
        t = min(max(0.0, float(t)), self.duration_s)
        self.target = t
        frontier = self.session.frontier() if self.session is not None else 0.0
        self._seek_target = t if t > frontier else None
        self.t = min(t, frontier)
        self._shown_narration_t = self.t
        self._last_wall = None
        self.seeked.emit(self.t)

    def step(self) -> None:
        """Pause and move to the next event after the playhead."""
        self.pause()
        self._pending_step = 1
        self._try_step()

    def step_back(self) -> None:
        self.pause()
        self._pending_step = -1
        self._try_step()

    def at_end(self) -> bool:
        return self.session is not None and self.session.finished and self.t >= self.duration_s - 1e-9

    # ---- per frame -----------------------------------------------------------------------

    def _try_step(self) -> bool:
        if self.session is None or not self._pending_step:
            return False
        index = self.session.index
        if self._pending_step < 0:
            self._pending_step = 0
            prev = index.prev_step_time(self.t)
            self.seek(prev if prev is not None else 0.0)
            return True
        nxt = index.next_step_time(self.t)
        if nxt is not None and nxt <= self.session.frontier():
            self._pending_step = 0
            self.seek(nxt)
            return True
        if self.session.finished and self.session.index.n >= len(self.session.trace.records):
            self._pending_step = 0  # no later event
        return False

    def tick(self, wall_now: float | None = None) -> float:
        """Advance one frame; returns the displayed time."""
        session = self.session
        if session is None:
            return self.t
        wall_now = time.perf_counter() if wall_now is None else wall_now
        dt = 0.0 if self._last_wall is None else min(0.25, max(0.0, wall_now - self._last_wall))
        self._last_wall = wall_now
        duration = self.duration_s
        frontier = session.frontier()
        if self._seek_target is not None and frontier >= self._seek_target:
            self._seek_target = None  # the run has caught up with a far seek
        if self.playing and self._seek_target is None:
            # never run the wanted time away from what the simulation has produced
            base = min(self.target, max(self.t, frontier)) if self.target > frontier else self.target
            self.target = min(duration, base + dt * self.speed)
        lookahead = max(2.0, self.speed * 0.5)
        want = self.target + lookahead
        if self._pending_step > 0:
            want = max(want, self.t + max(60.0, self.speed * 2))
        session.pump(min(want, duration + 1.0), self.budget_s)
        frontier = session.frontier()
        if self._pending_step:
            self._try_step()
            return self.t
        new_t = min(self.target, frontier)
        if self.teaching and new_t > self.t:
            # A step exactly at the playhead (t = 0 when a run starts) is shown once too.
            since = self.t if self._shown_narration_t == self.t else math.nextafter(self.t, -math.inf)
            n = session.index.narration_between(since, new_t)
            if n is not None and n.t != self._shown_narration_t:
                new_t = n.t
                self.target = n.t
                self._shown_narration_t = n.t
                self.t = new_t
                self.pause()
                self.narration.emit(n)
                return self.t
        self.lagging = self.target > frontier + 1e-9
        self.t = max(0.0, new_t) if math.isfinite(new_t) else self.t
        if self.playing and session.finished and self.t >= duration:
            self.t = duration
            self.pause()
        return self.t
