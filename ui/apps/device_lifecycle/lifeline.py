"""The phases of a device's life, read from the app's lifeline records (no Qt).

A phase is what the twin is living through between two marks of its lifeline: born
compressed, drifting unnoticed, drift detected (waiting for the charger), adapted, damaged,
migrating, serving on the new watch. The panel paints them as bands over the days; the
clock label says the one at the playhead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.apps.device_lifecycle.records import LifeEvent

DAY_S = 86400.0

# What each phase is called, in the order a life goes through them, and its colour (Paul
# Tol's pale and light schemes: backgrounds that dark marks and text stay readable on).
PHASES: dict[str, tuple[str, str]] = {
    "born": ("born compressed", "#BBCCEE"),
    "drift": ("drift, unnoticed", "#FFCCCC"),
    "detected": ("drift detected, waits for the charger", "#EEEEBB"),
    "adapted": ("adapted on the device", "#CCDDAA"),
    "damaged": ("damaged weights", "#EE8866"),
    "migrating": ("migrating", "#DDDDDD"),
    "new_device": ("new watch serving", "#99DDFF"),
}

# Colours of the lifeline's marks (Paul Tol's bright and vibrant schemes), one per event.
EVENT_COLORS: dict[str, str] = {
    "deployed": "#4477AA",
    "drift_detected": "#EE7733",
    "fine_tuned": "#009988",
    "recompressed": "#33BBEE",
    "redeployed": "#228833",
    "rolled_back": "#BBBBBB",
    "backed_up": "#77AADD",
    "fault": "#CC3311",
    "detected": "#EE3377",
    "guard_alarm": "#DDAA33",
    "healed": "#44AA99",
    "migrated": "#CC6677",
    "retired": "#555555",
}
OTHER_EVENT_COLOR = "#882255"

EVENT_WORDS: dict[str, str] = {
    "deployed": "deployed",
    "drift_detected": "drift detected",
    "fine_tuned": "fine-tuned",
    "recompressed": "re-compressed",
    "redeployed": "redeployed",
    "rolled_back": "rolled back",
    "backed_up": "backed up to the hub",
    "fault": "fault",
    "detected": "fault detected",
    "guard_alarm": "guard alarm",
    "healed": "healed",
    "migrated": "migrated",
    "retired": "retired",
}


def event_color(event: str) -> str:
    return EVENT_COLORS.get(event, OTHER_EVENT_COLOR)


def event_words(event: str) -> str:
    return EVENT_WORDS.get(event, event.replace("_", " "))


@dataclass(frozen=True)
class Phase:
    """``kind`` (a key of :data:`PHASES`) from ``t0`` to ``t1`` on ``device``, serving
    ``version``; ``note`` is a few words (the drift's kind, the fault's)."""

    t0: float
    t1: float
    kind: str
    device: str
    version: str
    note: str = ""

    @property
    def label(self) -> str:
        words = PHASES[self.kind][0]
        return f"{words} ({self.note})" if self.note else words


def drift_onsets(params: dict[str, Any]) -> list[tuple[float, str, str]]:
    """``(t, device, kind)`` of each drift the scenario schedules, in time order."""
    drifts = params.get("drifts") or []
    return sorted((float(d["day"]) * DAY_S, str(d["device"]), str(d["kind"])) for d in drifts)


def phases(events: list[LifeEvent], onsets: list[tuple[float, str, str]], until_s: float) -> list[Phase]:
    """The life's phases up to ``until_s``, from its lifeline ``events`` (in time order) and
    the scheduled drift ``onsets``. Consecutive equal phases merge."""
    marks: list[tuple[float, int, Any]] = [(e.t, 1, e) for e in events if e.t <= until_s]
    marks += [(t, 0, (device, kind)) for t, device, kind in onsets if t <= until_s]
    marks.sort(key=lambda m: (m[0], m[1]))
    out: list[Phase] = []
    kind, device, version, note, start = "born", "", "v1", "", 0.0
    calm = ("born", "", "v1")  # the phase a healed fault returns to
    damaged_faults = 0

    def close(t: float) -> None:
        # a phase may last no time (a corrupted download rejected at once): it is still drawn
        if out and out[-1].kind == kind and out[-1].device == device and out[-1].note == note:
            last = out.pop()
            out.append(Phase(last.t0, t, kind, device, version, note))
        else:
            out.append(Phase(start, t, kind, device, version, note))

    for t, is_event, mark in marks:
        if not is_event:
            if kind in ("born", "adapted", "new_device", "drift"):
                new = ("drift", device, version, mark[1].replace("_", " "))
            else:
                continue
        else:
            e: LifeEvent = mark
            new = None
            if e.event == "deployed" and not out and start == 0.0 and kind == "born":
                device, version = e.device, e.version
                calm = ("born", device, version)
                continue
            if e.event == "drift_detected":
                new = ("detected", e.device, e.version, note if kind == "drift" else "")
            elif e.event == "redeployed":
                target = "new_device" if kind == "new_device" or calm[0] == "new_device" else "adapted"
                new = (target, e.device, e.version, "")
                calm = (target, e.device, e.version)
            elif e.event == "rolled_back" and kind == "detected":
                new = (calm[0], e.device, e.version, "")
            elif e.event == "fault":
                damaged_faults += 1
                if kind != "damaged":
                    calm = (
                        kind if kind in ("born", "adapted", "new_device") else calm[0],
                        e.device,
                        e.version,
                    )
                new = ("damaged", e.device, e.version, _fault_kind(e.detail))
            elif e.event == "healed":
                damaged_faults = max(0, damaged_faults - 1)
                if kind == "damaged" and damaged_faults == 0:
                    new = (calm[0], e.device, e.version, "")
            elif e.event == "retired" or (
                e.event == "migrated" and kind != "migrating" and e.device == device
            ):
                new = ("migrating", e.device, e.version, "")
            elif e.event == "migrated":
                new = ("new_device", e.device, e.version, "")
                calm = ("new_device", e.device, e.version)
            if new is None:
                continue
        close(t)
        kind, device, version, note = new
        start = t
    close(until_s)
    return out


def _fault_kind(detail: str) -> str:
    head = detail.split(":", 1)[0].split(" ", 1)[0]
    if head.startswith("download"):
        return "corrupt download"
    return head.replace("_", " ")


def phase_at(events: list[LifeEvent], onsets: list[tuple[float, str, str]], t: float) -> Phase | None:
    """The phase the life is in at ``t``."""
    found = phases(events, onsets, t)
    return found[-1] if found else None


__all__ = [
    "EVENT_COLORS",
    "PHASES",
    "Phase",
    "drift_onsets",
    "event_color",
    "event_words",
    "phase_at",
    "phases",
]
