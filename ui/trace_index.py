"""Pre-indexed view of a growing trace, so that drawing at a playhead is bisect + slicing.

The index consumes the trace's records incrementally (a few thousand per GUI tick at most),
building per-device and per-link columns and time-sorted interval lists. It never imports Qt:
views ask it "what is the state at time t" and get answers in O(log n).
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.apps.health import Activity, Episode, Escalation
from simulator.trace import (
    KIND_OF,
    BatterySample,
    DeviceState,
    Inference,
    LinkState,
    Message,
    Narration,
    Note,
    PowerState,
    Trace,
)

# Messages longer than this are kept in a small side list scanned in full (retries, waits),
# so the in-flight query over the common short messages stays a narrow bisect window.
LONG_MESSAGE_S = 120.0
# Record kinds the player's "step" stops at (battery samples and power states are too dense).
STEP_KINDS = ("message", "inference", "escalation", "episode", "device", "link", "narration", "note")


@dataclass
class DeviceColumns:
    """Everything recorded about one device, as parallel time-sorted lists."""

    name: str
    kind: str
    capacity_wh: float | None
    power_t: list[float] = field(default_factory=list)
    power_state: list[str] = field(default_factory=list)
    power_w: list[float] = field(default_factory=list)
    battery_t: list[float] = field(default_factory=list)
    battery_soc: list[float] = field(default_factory=list)
    battery_energy_j: list[float] = field(default_factory=list)
    onoff_t: list[float] = field(default_factory=list)
    onoff_on: list[bool] = field(default_factory=list)
    onoff_reason: list[str] = field(default_factory=list)
    infer_t: list[float] = field(default_factory=list)
    infer_end: list[float] = field(default_factory=list)
    infer_rec: list[Inference] = field(default_factory=list)

    def state_at(self, t: float) -> tuple[str, float]:
        i = bisect.bisect_right(self.power_t, t) - 1
        if i < 0:
            return "off" if not self.is_on(t) else "idle", 0.0
        return self.power_state[i], self.power_w[i]

    def is_on(self, t: float) -> bool:
        i = bisect.bisect_right(self.onoff_t, t) - 1
        return True if i < 0 else self.onoff_on[i]

    def soc_at(self, t: float) -> float | None:
        """State of charge at ``t``: interpolated between samples, extrapolated after the last."""
        if self.capacity_wh is None:
            return None
        bt = self.battery_t
        if not bt:
            return 1.0
        i = bisect.bisect_right(bt, t) - 1
        if i < 0:
            return self.battery_soc[0]
        if i + 1 < len(bt):
            t0, t1 = bt[i], bt[i + 1]
            s0, s1 = self.battery_soc[i], self.battery_soc[i + 1]
            return s0 if t1 <= t0 else s0 + (s1 - s0) * (t - t0) / (t1 - t0)
        _, power_w = self.state_at(t)
        drained = power_w * (t - bt[i]) / (self.capacity_wh * 3600.0) if self.capacity_wh > 0 else 0.0
        return max(0.0, self.battery_soc[i] - drained)

    def energy_at(self, t: float) -> float:
        bt = self.battery_t
        i = bisect.bisect_right(bt, t) - 1
        if i < 0:
            base_t, base_e = 0.0, 0.0
        else:
            base_t, base_e = bt[i], self.battery_energy_j[i]
        if i + 1 < len(bt) and i >= 0:
            t1, e1 = bt[i + 1], self.battery_energy_j[i + 1]
            return base_e if t1 <= base_t else base_e + (e1 - base_e) * (t - base_t) / (t1 - base_t)
        _, power_w = self.state_at(t)
        return base_e + power_w * max(0.0, t - base_t)

    def running_at(self, t: float) -> list[Inference]:
        hi = bisect.bisect_right(self.infer_t, t)
        out = []
        for k in range(hi - 1, max(-1, hi - 64), -1):
            if self.infer_end[k] > t:
                out.append(self.infer_rec[k])
        return out


@dataclass
class LinkColumns:
    name: str
    type: str
    a: str
    b: str
    t: list[float] = field(default_factory=list)
    up: list[bool] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)

    def is_up(self, t: float) -> bool:
        i = bisect.bisect_right(self.t, t) - 1
        return True if i < 0 else self.up[i]


class TraceIndex:
    """Incremental index over a :class:`Trace` (call :meth:`update` as the trace grows)."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.n = 0  # records consumed
        meta = trace.meta or {}
        self.meta = meta
        self.devices: dict[str, DeviceColumns] = {}
        for name, d in (meta.get("devices") or {}).items():
            self._add_device(name, d)
        self.links: dict[str, LinkColumns] = {}
        for name, ln in (meta.get("links") or {}).items():
            self.links[name] = LinkColumns(name, str(ln.get("type", "")), str(ln.get("a")), str(ln.get("b")))
        self.msg_t: list[float] = []
        self.msg_end: list[float] = []
        self.msg_rec: list[Message] = []
        self.long_msgs: list[Message] = []
        self.escalations: list[Escalation] = []
        self.esc_t: list[float] = []
        self.episodes: list[Episode] = []
        self.episode_t: list[float] = []
        self.narrations: list[Narration] = []
        self.narration_t: list[float] = []
        self.activities: list[Activity] = []
        self.activity_t: list[float] = []
        self.inferences: list[Inference] = []
        self.inference_t: list[float] = []
        self.step_t: list[float] = []  # times of events the player steps to
        self.log_rows: list[int] = []  # record indices shown in the event log (not battery)
        self.log_t: list[float] = []
        self.last_t = 0.0
        self.version = 0  # bumps whenever new records were consumed

    @property
    def duration_s(self) -> float:
        return float(self.meta.get("sim_time_s") or self.last_t or 0.0)

    def _add_device(self, name: str, d: dict[str, Any] | None) -> DeviceColumns:
        d = d or {}
        cap = d.get("capacity_wh")
        cols = DeviceColumns(name, str(d.get("kind", "")), None if cap is None else float(cap))
        self.devices[name] = cols
        return cols

    def _device(self, name: str) -> DeviceColumns:
        cols = self.devices.get(name)
        return cols if cols is not None else self._add_device(name, {})

    def update(self, budget_s: float | None = None, max_records: int | None = None) -> bool:
        """Consume new trace records; returns True when fully caught up with the trace."""
        records = self.trace.records
        total = len(records)
        if max_records is not None:
            total = min(total, self.n + max_records)
        deadline = None if budget_s is None else time.perf_counter() + budget_s
        i = self.n
        if i >= total:
            return self.n >= len(records)
        chunk = 2000
        while i < total:
            stop = min(total, i + chunk)
            for j in range(i, stop):
                self._consume(j, records[j])
            i = stop
            if deadline is not None and time.perf_counter() > deadline:
                break
        self.n = i
        self.version += 1
        return self.n >= len(records)

    def _consume(self, idx: int, r: Any) -> None:
        kind = type(r)
        t = r.t
        self.last_t = t
        if kind is BatterySample:
            d = self._device(r.device)
            d.battery_t.append(t)
            d.battery_soc.append(r.soc)
            d.battery_energy_j.append(r.energy_j)
            return
        self.log_rows.append(idx)
        self.log_t.append(t)
        if kind is PowerState:
            d = self._device(r.device)
            d.power_t.append(t)
            d.power_state.append(r.state)
            d.power_w.append(r.power_w)
            return
        self.step_t.append(t)
        if kind is Message:
            if r.end_t - t > LONG_MESSAGE_S:
                self.long_msgs.append(r)
            else:
                self.msg_t.append(t)
                self.msg_end.append(r.end_t)
                self.msg_rec.append(r)
        elif kind is Inference:
            d = self._device(r.device)
            d.infer_t.append(t)
            d.infer_end.append(r.end_t)
            d.infer_rec.append(r)
            self.inferences.append(r)
            self.inference_t.append(t)
        elif kind is Escalation:
            self.escalations.append(r)
            self.esc_t.append(t)
        elif kind is DeviceState:
            d = self._device(r.device)
            d.onoff_t.append(t)
            d.onoff_on.append(bool(r.on))
            d.onoff_reason.append(r.reason)
        elif kind is LinkState:
            ln = self.links.get(r.link)
            if ln is None:
                ln = self.links[r.link] = LinkColumns(r.link, "", "", "")
            ln.t.append(t)
            ln.up.append(bool(r.up))
            ln.reason.append(r.reason)
        elif kind is Episode:
            self.episodes.append(r)
            self.episode_t.append(t)
        elif kind is Narration:
            self.narrations.append(r)
            self.narration_t.append(t)
        elif kind is Activity:
            self.activities.append(r)
            self.activity_t.append(t)
        elif kind is Note:
            pass

    # ---- queries at a time t -------------------------------------------------------------

    def messages_in_flight(self, t: float, limit: int = 400) -> list[Message]:
        """Messages with ``t0 <= t < end_t`` (newest first, at most ``limit``)."""
        hi = bisect.bisect_right(self.msg_t, t)
        lo = bisect.bisect_left(self.msg_t, t - LONG_MESSAGE_S)
        out = []
        ends = self.msg_end
        for k in range(hi - 1, lo - 1, -1):
            if ends[k] > t:
                out.append(self.msg_rec[k])
                if len(out) >= limit:
                    return out
        for m in self.long_msgs:
            if m.t <= t < m.end_t:
                out.append(m)
        return out

    def messages_between(self, t0: float, t1: float, limit: int = 2000) -> list[Message]:
        """Messages that left in ``(t0, t1]`` (short ones only; used for link flashes)."""
        lo = bisect.bisect_right(self.msg_t, t0)
        hi = bisect.bisect_right(self.msg_t, t1)
        if hi - lo > limit:
            lo = hi - limit
        return self.msg_rec[lo:hi]

    def messages_overlapping(self, t0: float, t1: float) -> list[Message]:
        lo = bisect.bisect_left(self.msg_t, t0 - LONG_MESSAGE_S)
        hi = bisect.bisect_right(self.msg_t, t1)
        out = [m for m in self.msg_rec[lo:hi] if m.end_t >= t0]
        out.extend(m for m in self.long_msgs if m.t <= t1 and m.end_t >= t0)
        return out

    def escalations_until(self, t: float) -> list[Escalation]:
        return self.escalations[: bisect.bisect_right(self.esc_t, t)]

    def episodes_until(self, t: float) -> list[Episode]:
        return self.episodes[: bisect.bisect_right(self.episode_t, t)]

    def activity_at(self, t: float) -> str | None:
        i = bisect.bisect_right(self.activity_t, t) - 1
        return None if i < 0 else self.activities[i].activity

    def next_step_time(self, t: float) -> float | None:
        i = bisect.bisect_right(self.step_t, t)
        return self.step_t[i] if i < len(self.step_t) else None

    def prev_step_time(self, t: float) -> float | None:
        i = bisect.bisect_left(self.step_t, t) - 1
        return self.step_t[i] if i >= 0 else None

    def narration_between(self, t0: float, t1: float) -> Narration | None:
        """The first narration with ``t0 < t <= t1``."""
        i = bisect.bisect_right(self.narration_t, t0)
        if i < len(self.narrations) and self.narrations[i].t <= t1:
            return self.narrations[i]
        return None

    def log_count_until(self, t: float) -> int:
        return bisect.bisect_right(self.log_t, t)

    def record_kind(self, idx: int) -> str:
        return KIND_OF[type(self.trace.records[idx])]

    # ---- columns for plots ---------------------------------------------------------------

    def battery_arrays(self, device: str) -> tuple[np.ndarray, np.ndarray]:
        d = self.devices[device]
        return np.asarray(d.battery_t, dtype=float), np.asarray(d.battery_soc, dtype=float)

    def power_arrays(self, device: str) -> tuple[np.ndarray, np.ndarray]:
        d = self.devices[device]
        return np.asarray(d.power_t, dtype=float), np.asarray(d.power_w, dtype=float)
