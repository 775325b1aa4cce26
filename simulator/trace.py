"""The trace: the only interface between the simulation and every view.

The simulation appends typed, time-stamped records in time order; views (GUI, CLI summary,
exports) read them at a time ``t``. Records are ``NamedTuple`` classes, one per kind, so
they are cheap to create, immutable and self-describing. A trace saves to and loads from a
gzipped JSON-lines file (``trace.jsonl.gz``): one header line, then one record per line.
"""

from __future__ import annotations

import bisect
import gzip
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

TRACE_FORMAT = "hometwin-trace/2"
# Version 1 (before the app contract) had the health app's records without an ``app`` field.
_V1_FORMAT = "hometwin-trace/1"
_V1_APP = "health"


class PowerState(NamedTuple):
    """A device entered a power state; it draws ``power_w`` from now on."""

    t: float
    device: str
    state: str
    power_w: float


class BatterySample(NamedTuple):
    """Battery state of charge (0..1) and energy drawn so far, at a power-state change."""

    t: float
    device: str
    soc: float
    energy_j: float


class DeviceState(NamedTuple):
    """A device switched on or off (``reason``: start, depleted, leave, join, charge…)."""

    t: float
    device: str
    on: bool
    reason: str


class LinkState(NamedTuple):
    """A link went up or down (out of range, offline)."""

    t: float
    link: str
    up: bool
    reason: str


class Message(NamedTuple):
    """A message left ``src`` at ``t`` over ``link``; it arrives (or fails) at ``end_t``.

    ``status`` is ``delivered``, ``lost`` (the attempt was lost; a retry may follow) or
    ``failed`` (given up). ``msg_kind`` says what it carries (ecg, alert, hr, deploy…).
    """

    t: float
    src: str
    dst: str
    link: str
    msg_kind: str
    size_bytes: int
    end_t: float
    status: str
    attempt: int
    msg_id: int


class Inference(NamedTuple):
    """A model ran on a device from ``t`` to ``end_t`` (simulated device latency)."""

    t: float
    device: str
    model: str
    variant: str
    n_windows: int
    end_t: float
    energy_j: float
    label: str
    score: float


class DeviceJoined(NamedTuple):
    """A device joined the home (it was not there before): what views need to draw it."""

    t: float
    device: str
    kind: str
    profile: str
    capacity_wh: float | None
    x: float
    y: float
    reason: str


class DeviceLeft(NamedTuple):
    """A device left the home (its links go down; apps re-home or report what it served)."""

    t: float
    device: str
    reason: str


class ModelDeployed(NamedTuple):
    """A model variant is installed on ``device`` and serving from ``t`` (a manifest entry:
    version, privacy level, which app and chains it serves, why this variant)."""

    t: float
    device: str
    model: str
    variant: str
    version: str
    size_bytes: int
    privacy: str
    app: str
    serves: str
    reason: str


class ModelRemoved(NamedTuple):
    """A model variant stopped serving on ``device`` (replaced, device left, switched)."""

    t: float
    device: str
    model: str
    variant: str
    reason: str


class Narration(NamedTuple):
    """A teaching step: text shown (and the player paused) at ``t``."""

    t: float
    text: str


class Note(NamedTuple):
    """A free-form log line from a device or app (queued, retry, fallback…)."""

    t: float
    device: str
    kind: str
    text: str


RECORD_TYPES: dict[str, type] = {
    "power": PowerState,
    "battery": BatterySample,
    "device": DeviceState,
    "link": LinkState,
    "message": Message,
    "inference": Inference,
    "narration": Narration,
    "note": Note,
    "join": DeviceJoined,
    "leave": DeviceLeft,
    "deploy": ModelDeployed,
    "remove": ModelRemoved,
}
KIND_OF: dict[type, str] = {cls: kind for kind, cls in RECORD_TYPES.items()}
CORE_KINDS = tuple(RECORD_TYPES)


def register_records(kinds: dict[str, type]) -> None:
    """Add an app's record kinds (kind name → NamedTuple class) to the trace's registry."""
    for kind, cls in kinds.items():
        known = RECORD_TYPES.get(kind)
        if known is not None and known is not cls:
            raise ValueError(f"record kind {kind!r} registered twice ({known.__name__} and {cls.__name__})")
        RECORD_TYPES[kind] = cls
        KIND_OF[cls] = kind


class TraceError(ValueError):
    """A trace file could not be read."""


class Trace:
    """Append-only, time-ordered list of records with a time index and per-kind views."""

    def __init__(self, meta: dict[str, Any] | None = None) -> None:
        self.meta: dict[str, Any] = dict(meta or {})
        self.records: list[NamedTuple] = []
        self._times: list[float] = []
        # The simulation appends a record on most events: a bound list.append is a C call.
        self.append = self.records.append

    def append(self, record: NamedTuple) -> None:
        """Add ``record`` (records arrive in time order)."""
        self.records.append(record)

    @property
    def times(self) -> list[float]:
        """Record times, in order (kept in step with ``records`` on demand)."""
        times, records = self._times, self.records
        if len(times) < len(records):
            times.extend([r.t for r in records[len(times) :]])
        return times

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[NamedTuple]:
        return iter(self.records)

    @property
    def end_time(self) -> float:
        return float(self.meta.get("sim_time_s", self.times[-1] if self.times else 0.0))

    def index_at(self, t: float) -> int:
        """Number of records with time ≤ ``t`` (records[:index_at(t)] happened by ``t``)."""
        return bisect.bisect_right(self.times, t)

    def until(self, t: float) -> list[NamedTuple]:
        return self.records[: self.index_at(t)]

    def of(self, record_type: type) -> list:
        return [r for r in self.records if type(r) is record_type]

    def devices(self) -> list[str]:
        return list(self.meta.get("devices", {}))

    def series(self, device: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Battery samples of ``device`` as arrays ``(t, soc, energy_j)``."""
        rows = [
            (r.t, r.soc, r.energy_j) for r in self.records if type(r) is BatterySample and r.device == device
        ]
        if not rows:
            empty = np.zeros(0)
            return empty, empty, empty
        arr = np.asarray(rows, dtype=float)
        return arr[:, 0], arr[:, 1], arr[:, 2]

    def to_dicts(self) -> Iterable[dict[str, Any]]:
        for r in self.records:
            d = r._asdict()
            d["kind_"] = KIND_OF[type(r)]
            yield d

    def save(self, path: str | Path) -> Path:
        """Write the trace to ``path`` (gzipped JSON lines). Returns the path."""
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=5) as f:
            f.write(json.dumps({"format": TRACE_FORMAT, "meta": self.meta}) + "\n")
            for r in self.records:
                f.write(json.dumps([KIND_OF[type(r)], *r]) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path, resolve: Callable[[dict[str, Any]], None] | None = None) -> Trace:
        """Read a trace written by :meth:`save`; a damaged file raises :class:`TraceError`.
        ``resolve(meta)`` is called once the header is read, before any record is parsed
        (``simulator.apps.load_trace`` registers the record kinds of the apps it names)."""
        path = Path(path)
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                header = json.loads(f.readline())
                version = check_format(header, path)
                trace = cls(header.get("meta"))
                upgrade_meta(trace.meta, version)
                if resolve is not None:
                    resolve(trace.meta)
                for lineno, line in enumerate(f, start=2):
                    row = json.loads(line)
                    record = parse_row(row, version)
                    if record is None:
                        kind = row[0] if isinstance(row, list) and row and isinstance(row[0], str) else None
                        if kind is not None and kind not in RECORD_TYPES:
                            raise TraceError(f"{path}, line {lineno}: unknown record kind {kind!r}")
                        raise TraceError(f"{path}, line {lineno}: malformed {kind or 'unnamed'} record")
                    trace.append(record)
        except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TraceError(f"{path}: cannot read trace ({exc})") from None
        return trace


def check_format(header: Any, path: str | Path) -> str:
    """The format of a trace file from its header line; a :class:`TraceError` naming the
    version if this HomeTwin cannot read it."""
    version = header.get("format") if isinstance(header, dict) else None
    if version not in (TRACE_FORMAT, _V1_FORMAT):
        found = f"format {version!r}" if isinstance(version, str) else "no format header"
        raise TraceError(
            f"{path}: not a trace this HomeTwin can read ({found}; expected {TRACE_FORMAT} or {_V1_FORMAT})"
        )
    return version


def parse_row(row: Any, version: str) -> NamedTuple | None:
    """The record of one saved line (``[kind, *fields]``) of a trace in ``version``;
    ``None`` if unknown or malformed."""
    record_type = (
        RECORD_TYPES.get(row[0]) if isinstance(row, list) and row and isinstance(row[0], str) else None
    )
    if record_type is None:
        return None
    if version == _V1_FORMAT and row[0] not in CORE_KINDS:
        row = [row[0], row[1], _V1_APP, *row[2:]]  # v1 app records: t first, no app
    if len(row) - 1 != len(record_type._fields):
        return None
    return record_type(*row[1:])


def upgrade_meta(meta: dict[str, Any], version: str) -> None:
    """Complete the meta of an older trace (v1: the health app was the only app)."""
    if version == _V1_FORMAT:
        meta.setdefault("apps", [{"type": "health_escalation", "name": _V1_APP}])


def device_profile(trace: Trace, device: str) -> str | None:
    """The profile name of ``device``: from the meta (present at t = 0) or its first join."""
    entry = trace.meta.get("devices", {}).get(device)
    if entry:
        return entry.get("profile")
    for record in trace.records:
        if type(record) is DeviceJoined and record.device == device:
            return record.profile
    return None
