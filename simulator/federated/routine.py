"""The wearers' days, as the federated app sees them: when each home's watch and phone sit on
the charger, and when the wearer is out with the phone (off the home Wi-Fi).

Per home, each day: bedtime and wake-up time drawn around the scenario's clock times
(normal, with the given spreads), the watch and the phone charging from bedtime to wake-up;
a share of the wearers leave home in the morning and come back in the evening. Times are
wall-clock times of day; ``day_start_s`` is the clock time at simulated t = 0. The result
is a time-ordered list of :class:`Change` s the app applies to its devices (pure numpy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

DAY_S = 86400.0


class Change(NamedTuple):
    """At simulated time ``t``, home ``home`` does ``action`` (see :data:`ACTIONS`)."""

    t: float
    home: int
    action: str


ACTIONS = ("charge_start", "charge_stop", "leave", "return")


@dataclass(frozen=True)
class RoutineSpec:
    """Clock times (seconds after midnight) and spreads of the wearers' routine."""

    day_start_s: float = 18 * 3600.0
    bedtime_s: float = 23 * 3600.0
    bedtime_spread_s: float = 3600.0
    wake_s: float = 7 * 3600.0
    wake_spread_s: float = 2700.0
    away_fraction: float = 0.7
    leave_s: float = 8.5 * 3600.0
    return_s: float = 17.5 * 3600.0
    away_spread_s: float = 3600.0


def routine(n_homes: int, duration_s: float, spec: RoutineSpec, rng: np.random.Generator) -> list[Change]:
    """Every home's changes over ``[0, duration_s]`` in time order. A home whose charging
    window (or absence) has already begun at t = 0 starts with that change at t = 0."""
    days = int(np.ceil((duration_s + spec.day_start_s) / DAY_S)) + 1
    changes: list[Change] = []
    away = rng.random(n_homes) < spec.away_fraction
    for day in range(-1, days):
        base = day * DAY_S - spec.day_start_s  # simulated time of this day's midnight
        bed = rng.normal(spec.bedtime_s, spec.bedtime_spread_s, n_homes)
        wake = rng.normal(spec.wake_s, spec.wake_spread_s, n_homes)
        leave = rng.normal(spec.leave_s, spec.away_spread_s / 2, n_homes)
        back = rng.normal(spec.return_s, spec.away_spread_s, n_homes)
        # Bed is this evening, wake-up the next morning (a bedtime past midnight stays tonight).
        bed = np.where(bed < 12 * 3600.0, bed + DAY_S, bed)
        wake = np.clip(wake, 3 * 3600.0, 11.5 * 3600.0) + DAY_S
        leave = np.clip(leave, wake - DAY_S + 900.0, 12 * 3600.0)
        back = np.clip(back, leave + 3600.0, bed - 1800.0)
        for home in range(n_homes):
            windows = [(base + bed[home], base + wake[home], "charge_start", "charge_stop")]
            if away[home]:
                windows.append((base + leave[home], base + back[home], "leave", "return"))
            for start, end, on, off in windows:
                if end <= 0.0 or start >= duration_s:
                    continue
                changes.append(Change(max(start, 0.0), home, on))
                if end < duration_s:
                    changes.append(Change(end, home, off))
    changes.sort(key=lambda c: (c.t, c.home, ACTIONS.index(c.action)))
    return [Change(float(c.t), c.home, c.action) for c in changes]


def clock_hour(t_s: float, day_start_s: float) -> float:
    """The wall-clock hour (0–24) at simulated time ``t_s``."""
    return ((t_s + day_start_s) % DAY_S) / 3600.0
