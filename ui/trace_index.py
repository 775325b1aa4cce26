"""Pre-indexed view of a growing trace, so that drawing at a playhead is bisect + slicing.

The index consumes the trace's records incrementally (a few thousand per GUI tick at most),
building per-device and per-link columns, one time-sorted column per record class (and per
app, for records with an ``app`` field) and the lists the player and the event log walk.
Which records the log lists, where the player's step stops and which records badge a
device come from each class's display hooks (:mod:`ui.record_views`), never from a list
of record types here. It draws nothing: views ask it "what is the state at time t" and get
answers in O(log n).

The trace grows during a run: devices join and leave, models are deployed and removed.
Every device ever seen has columns; ``present_at(t)`` and ``manifest_at(t)`` answer for
any time, so a view seeking backwards shows the home as it was.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.trace import (
    KIND_OF,
    BatterySample,
    DeviceJoined,
    DeviceLeft,
    DeviceState,
    Inference,
    LinkState,
    Message,
    ModelDeployed,
    ModelRemoved,
    Narration,
    PowerState,
    Trace,
)
from ui.record_views import VIEWS

# Messages longer than this are kept in a small side list scanned in full (retries, waits),
# so the in-flight query over the common short messages stays a narrow bisect window.
LONG_MESSAGE_S = 120.0
# Record classes with columns of their own (dense, or drawn from device columns).
_NO_COLUMN = (BatterySample, PowerState, Message, Inference)


@dataclass
class RecordColumn:
    """Records of one class (and maybe one app) in time order."""

    t: list[float] = field(default_factory=list)
    records: list = field(default_factory=list)

    def count_at(self, t: float) -> int:
        """How many of these records happened by ``t``."""
        return bisect.bisect_right(self.t, t)

    def until(self, t: float) -> list:
        return self.records[: bisect.bisect_right(self.t, t)]

    def last_at(self, t: float) -> Any | None:
        """The latest record at or before ``t``."""
        i = bisect.bisect_right(self.t, t) - 1
        return self.records[i] if i >= 0 else None

    def window(self, t0: float, t1: float) -> list:
        """Records with ``t0 <= t <= t1``."""
        return self.records[bisect.bisect_left(self.t, t0) : bisect.bisect_right(self.t, t1)]


_EMPTY = RecordColumn()


@dataclass
class DeviceColumns:
    """Everything recorded about one device, as parallel time-sorted lists."""

    name: str
    kind: str
    capacity_wh: float | None
    profile: str = ""
    position: tuple[float, float] | None = None
    initially_present: bool = True  # in the home at t = 0 (else it joins later)
    initial_models: list[ModelDeployed] = field(default_factory=list)
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
    presence_t: list[float] = field(default_factory=list)  # joins and leaves
    presence_rec: list[DeviceJoined | DeviceLeft] = field(default_factory=list)
    models_t: list[float] = field(default_factory=list)  # deploys and removals
    models_rec: list[ModelDeployed | ModelRemoved] = field(default_factory=list)
    badge_t: list[float] = field(default_factory=list)  # records with a topology badge
    badge_rec: list = field(default_factory=list)

    def present_at(self, t: float) -> bool:
        """In the home at ``t`` (a device that joins at 19:00 is not there at 18:00)."""
        i = bisect.bisect_right(self.presence_t, t) - 1
        return self.initially_present if i < 0 else type(self.presence_rec[i]) is DeviceJoined

    def present_between(self, t0: float, t1: float) -> bool:
        """In the home at some time in ``[t0, t1]``."""
        if self.present_at(t0):
            return True
        lo = bisect.bisect_right(self.presence_t, t0)
        hi = bisect.bisect_right(self.presence_t, t1)
        return any(type(r) is DeviceJoined for r in self.presence_rec[lo:hi])

    def presence_change_at(self, t: float) -> DeviceJoined | DeviceLeft | None:
        """The latest join or leave at or before ``t``."""
        i = bisect.bisect_right(self.presence_t, t) - 1
        return self.presence_rec[i] if i >= 0 else None

    def manifest_at(self, t: float) -> dict[str, ModelDeployed]:
        """The models deployed on the device at ``t``: model → its deploy record (models
        from the scenario at t = 0 have ``reason`` "in the scenario" and no version yet)."""
        manifest = {m.model: m for m in self.initial_models}
        for r in self.models_rec[: bisect.bisect_right(self.models_t, t)]:
            if type(r) is ModelDeployed:
                manifest[r.model] = r
            elif r.model in manifest and manifest[r.model].variant == r.variant:
                del manifest[r.model]
        return manifest

    def state_at(self, t: float) -> tuple[str, float]:
        i = bisect.bisect_right(self.power_t, t) - 1
        if i < 0:
            return "off" if not self.is_on(t) else "idle", 0.0
        return self.power_state[i], self.power_w[i]

    def is_on(self, t: float) -> bool:
        i = bisect.bisect_right(self.onoff_t, t) - 1
        return self.initially_present if i < 0 else self.onoff_on[i]

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
        self.devices_version = 0  # bumps when a device is seen for the first time
        for name, d in (meta.get("devices") or {}).items():
            self._add_device(name, d or {})
        self.links: dict[str, LinkColumns] = {}
        for name, ln in (meta.get("links") or {}).items():
            self.links[name] = LinkColumns(name, str(ln.get("type", "")), str(ln.get("a")), str(ln.get("b")))
        self.msg_t: list[float] = []
        self.msg_end: list[float] = []
        self.msg_rec: list[Message] = []
        self.long_msgs: list[Message] = []
        self.message_kinds: dict[str, None] = {}  # msg_kind values seen, in order
        self.columns: dict[Any, RecordColumn] = {}  # record class (or (class, app)) → column
        self.step_t: list[float] = []  # times of events the player steps to
        self.log_rows: list[int] = []  # record indices shown in the event log (not battery)
        self.log_t: list[float] = []
        self.last_t = 0.0
        self.version = 0  # bumps whenever new records were consumed
        # per record class: (structural handler, in log, step stops, own column, per-app
        # column, badge)
        self._plans: dict[type, tuple[Callable | None, bool, bool, bool, bool, bool]] = {}
        self._handlers: dict[type, Callable[[Any], None]] = {
            BatterySample: self._on_battery,
            PowerState: self._on_power,
            Message: self._on_message,
            Inference: self._on_inference,
            DeviceState: self._on_device_state,
            LinkState: self._on_link_state,
            DeviceJoined: self._on_joined,
            DeviceLeft: self._on_left,
            ModelDeployed: self._on_models,
            ModelRemoved: self._on_models,
        }

    @property
    def duration_s(self) -> float:
        return float(self.meta.get("sim_time_s") or self.last_t or 0.0)

    def _add_device(self, name: str, d: dict[str, Any], present: bool = True) -> DeviceColumns:
        cap = d.get("capacity_wh")
        pos = d.get("position")
        cols = DeviceColumns(
            name,
            str(d.get("kind", "")),
            None if cap is None else float(cap),
            profile=str(d.get("profile", "")),
            position=(float(pos[0]), float(pos[1]))
            if isinstance(pos, (list, tuple)) and len(pos) >= 2
            else None,
            initially_present=present,
        )
        for m in d.get("models") or []:
            model, variant = str(m.get("model")), str(m.get("variant"))
            cols.initial_models.append(
                ModelDeployed(0.0, name, model, variant, "", 0, "", "", "", "in the scenario")
            )
        self.devices[name] = cols
        self.devices_version += 1
        return cols

    def _device(self, name: str) -> DeviceColumns:
        cols = self.devices.get(name)
        return cols if cols is not None else self._add_device(name, {})

    def column(self, record_type: type, app: str | None = None) -> RecordColumn:
        """The records of ``record_type`` (only app ``app``'s, if given) consumed so far."""
        return self.columns.get(record_type if app is None else (record_type, app), _EMPTY)

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

    def _plan(self, record_type: type) -> tuple[Callable | None, bool, bool, bool, bool, bool]:
        view = VIEWS[record_type]
        fields = getattr(record_type, "_fields", ())
        plan = (
            self._handlers.get(record_type),
            view.in_log,
            view.step,
            record_type not in _NO_COLUMN,
            len(fields) > 1 and fields[1] == "app",  # an app's record (the app contract)
            view.badge is not None,
        )
        self._plans[record_type] = plan
        return plan

    def _consume(self, idx: int, r: Any) -> None:
        record_type = type(r)
        plan = self._plans.get(record_type) or self._plan(record_type)
        handler, in_log, step, own_column, per_app, badge = plan
        t = r.t
        self.last_t = t
        if in_log:
            self.log_rows.append(idx)
            self.log_t.append(t)
        if step:
            self.step_t.append(t)
        if handler is not None:
            handler(r)
        if own_column:
            self._keep(record_type, r)
            if per_app:
                self._keep((record_type, r.app), r)
        if badge:
            subject = self.devices.get(VIEWS[record_type].subject(r))
            if subject is not None:
                subject.badge_t.append(t)
                subject.badge_rec.append(r)

    def _keep(self, key: Any, r: Any) -> None:
        col = self.columns.get(key)
        if col is None:
            col = self.columns[key] = RecordColumn()
        col.t.append(r.t)
        col.records.append(r)

    # ---- structural handlers (core records that shape devices, links and messages) -------

    def _on_battery(self, r: BatterySample) -> None:
        d = self._device(r.device)
        d.battery_t.append(r.t)
        d.battery_soc.append(r.soc)
        d.battery_energy_j.append(r.energy_j)

    def _on_power(self, r: PowerState) -> None:
        d = self._device(r.device)
        d.power_t.append(r.t)
        d.power_state.append(r.state)
        d.power_w.append(r.power_w)

    def _on_message(self, r: Message) -> None:
        if r.msg_kind not in self.message_kinds:
            self.message_kinds[r.msg_kind] = None
        if r.end_t - r.t > LONG_MESSAGE_S:
            self.long_msgs.append(r)
        else:
            self.msg_t.append(r.t)
            self.msg_end.append(r.end_t)
            self.msg_rec.append(r)

    def _on_inference(self, r: Inference) -> None:
        d = self._device(r.device)
        d.infer_t.append(r.t)
        d.infer_end.append(r.end_t)
        d.infer_rec.append(r)

    def _on_device_state(self, r: DeviceState) -> None:
        d = self._device(r.device)
        d.onoff_t.append(r.t)
        d.onoff_on.append(bool(r.on))
        d.onoff_reason.append(r.reason)

    def _on_link_state(self, r: LinkState) -> None:
        ln = self.links.get(r.link)
        if ln is None:
            ln = self.links[r.link] = LinkColumns(r.link, "", "", "")
        ln.t.append(r.t)
        ln.up.append(bool(r.up))
        ln.reason.append(r.reason)

    def _on_joined(self, r: DeviceJoined) -> None:
        d = self.devices.get(r.device)
        if d is None:
            d = self._add_device(
                r.device,
                {"kind": r.kind, "profile": r.profile, "capacity_wh": r.capacity_wh, "position": (r.x, r.y)},
                present=False,
            )
        d.presence_t.append(r.t)
        d.presence_rec.append(r)

    def _on_left(self, r: DeviceLeft) -> None:
        d = self._device(r.device)
        d.presence_t.append(r.t)
        d.presence_rec.append(r)

    def _on_models(self, r: ModelDeployed | ModelRemoved) -> None:
        d = self._device(r.device)
        d.models_t.append(r.t)
        d.models_rec.append(r)

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

    def next_step_time(self, t: float) -> float | None:
        i = bisect.bisect_right(self.step_t, t)
        return self.step_t[i] if i < len(self.step_t) else None

    def prev_step_time(self, t: float) -> float | None:
        i = bisect.bisect_left(self.step_t, t) - 1
        return self.step_t[i] if i >= 0 else None

    def narration_between(self, t0: float, t1: float) -> Narration | None:
        """The first narration with ``t0 < t <= t1``."""
        col = self.column(Narration)
        i = bisect.bisect_right(col.t, t0)
        if i < len(col.records) and col.records[i].t <= t1:
            return col.records[i]
        return None

    def badge_at(self, device: str, t: float, window_s: float) -> Any | None:
        """The latest record with a topology badge for ``device`` in ``(t - window_s, t]``."""
        d = self.devices.get(device)
        if d is None or not d.badge_t:
            return None
        i = bisect.bisect_right(d.badge_t, t) - 1
        if i < 0 or d.badge_t[i] <= t - window_s:
            return None
        return d.badge_rec[i]

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
