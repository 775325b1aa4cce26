"""The night at home, drawn from the seed: who is home when, what each sensor sees and hears.

Two residents come home in the evening; the first carries the phone and wears the watch.
A courier leaves a package at the door, a friend rings, both residents go out for dinner
(a neighbour looks in on the cat while they are away) and come back; an outdoor cat and
passing headlights wake the doorbell's PIR; indoors the cat walks past and the residents
move about while the lights go on and off. While they are home and awake they talk to the
speaker ("home twin, go" → lights) over the TV's chatter, and wave or twist a wrist at the
watch. They sleep; at the morning alarm they stop it by voice or with a wave.

Everything here is ground truth — what happened — not what any sensor decided. Times are
seconds since the scenario starts (``start_clock`` o'clock). Pure numpy: no models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

DAY_S = 86400.0
# Keywords the residents say after the wake word, and what the hub does for each.
COMMANDS = {"go": "lights on", "stop": "stop (alarm / music)", "yes": "confirm", "no": "cancel"}
CONTROL_GESTURES = {"wave": "dismiss", "twist": "pause music"}
OTHER_GESTURES = ("clap", "raise_wrist")
# Words a TV or a conversation says that are not commands (near misses included).
TV_WORDS = ("home", "twin", "hello", "weather", "music", "okay", "seven", "play", "goal", "top", "low")


@dataclass(frozen=True)
class Sighting:
    """Something a camera sees from ``t`` to ``end_t``: ``label`` is a detector class
    (``person``, ``package``, ``pet``) or ``empty`` (a PIR false trigger); ``pir`` says
    whether it wakes a PIR sensor (warm and moving); ``light`` a brightness change."""

    t: float
    end_t: float
    label: str
    kind: str  # arrival, delivery, package, visitor, leaving, return, neighbour, pet, headlights, resident
    pir: bool
    light: bool = False
    pose_seed: int = 0  # a static object (the package) keeps one pose


@dataclass(frozen=True)
class Sound:
    """Something said or heard near the speaker: the words of 1 s windows, in order
    (``None`` is a non-speech noise window)."""

    t: float
    kind: str  # command, tv, noise
    words: tuple[str | None, ...]
    voice: int  # index into Night.voices
    label: str  # the command word (commands), else "unknown" / "silence"


@dataclass(frozen=True)
class WristMove:
    """What the watch wearer's wrist does from ``t`` (2 s windows until ``end_t``)."""

    t: float
    end_t: float
    label: str  # an imu class: walk, wave, twist, clap, raise_wrist


@dataclass
class Night:
    """The ground truth of one night (see module docstring)."""

    duration_s: float
    away: list[tuple[float, float]]  # nobody home
    asleep: tuple[float, float]
    watch_worn: list[tuple[float, float]]
    phone_away: list[tuple[float, float]]  # the phone is out of the home's Wi-Fi
    lights: list[tuple[float, bool]]  # living-room lights switched (t, on)
    door: list[Sighting]
    indoor: list[Sighting]
    sounds: list[Sound]
    wrist: list[WristMove]
    alarm_t: float
    voices: list[str] = field(default_factory=list)  # "resident A", "resident B", "TV 1"…

    def home_at(self, t_s: float) -> bool:
        return not any(a <= t_s < b for a, b in self.away)

    def lights_on_at(self, t_s: float) -> bool:
        on = False
        for when, state in self.lights:
            if when > t_s:
                break
            on = state
        return on


def clock_s(clock: str | float, start_clock_s: float) -> float:
    """Seconds from the scenario's start (``start_clock_s`` of the day) to ``clock``
    (``"19:00"`` or seconds of the day), wrapping past midnight."""
    if isinstance(clock, str):
        hours, minutes = clock.split(":")
        clock = int(hours) * 3600.0 + int(minutes) * 60.0
    return (float(clock) - start_clock_s) % DAY_S


def _poisson_times(
    rng: np.random.Generator, per_hour: float, spans: list[tuple[float, float]]
) -> list[float]:
    times: list[float] = []
    for a, b in spans:
        if b <= a or per_hour <= 0:
            continue
        n = int(rng.poisson(per_hour * (b - a) / 3600.0))
        times.extend(float(t) for t in np.sort(rng.uniform(a, b, n)))
    return sorted(times)


def _minus(spans: list[tuple[float, float]], holes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    for a, b in spans:
        pieces = [(a, b)]
        for h0, h1 in holes:
            pieces = [p for x, y in pieces for p in ((x, min(y, h0)), (max(x, h1), y)) if p[1] > p[0]]
        out.extend(pieces)
    return out


def make_night(
    rng: np.random.Generator, duration_s: float, start_clock_s: float, rates: dict[str, Any]
) -> Night:
    """Draw the night (see module docstring). ``rates`` holds the per-hour rates of the
    app's params (``pets_per_hour``, ``voice_per_hour``…)."""

    def at(clock: str) -> float:
        return clock_s(clock, start_clock_s)

    def u(a: str, b: str) -> float:
        return float(rng.uniform(at(a), at(b)))

    end = duration_s
    arrive_a = u("18:10", "18:50")
    arrive_b = u("19:05", "19:50")
    leave = u("20:40", "21:20")
    back = leave + float(rng.uniform(1.25, 2.25)) * 3600.0
    bedtime = max(u("23:00", "23:59"), back + 900.0)
    alarm = at("07:00") + float(rng.uniform(-600.0, 600.0))
    away = [(0.0, arrive_a), (leave, back)]
    asleep = (bedtime, alarm)
    awake_home = _minus([(arrive_a, end)], [(leave, back), asleep])
    door: list[Sighting] = []
    indoor: list[Sighting] = []

    def visit_door(t: float, seconds: float, kind: str) -> float:
        door.append(Sighting(t, t + seconds, "person", kind, pir=True))
        return t + seconds

    visit_door(arrive_a, rng.uniform(8, 15), "arrival")
    visit_door(arrive_b, rng.uniform(8, 15), "arrival")
    # The courier comes between 19:15 and the outing; the package waits until picked up.
    delivered = float(rng.uniform(at("19:15"), leave - 1200.0))
    courier_gone = visit_door(delivered, rng.uniform(12, 25), "delivery")
    pickup = courier_gone + float(rng.uniform(180.0, 1200.0))
    if pickup >= leave:
        pickup = back + 60.0
    door.append(
        Sighting(courier_gone, pickup, "package", "package", pir=False, pose_seed=int(rng.integers(1 << 30)))
    )
    visit_door(pickup, rng.uniform(6, 10), "pickup")
    visitor = float(rng.uniform(at("19:20"), leave - 600.0))
    visit_door(visitor, rng.uniform(20, 40), "visitor")
    visit_door(leave, rng.uniform(8, 14), "leaving")
    visit_door(back, rng.uniform(8, 14), "return")
    # A neighbour looks in on the cat while the residents are out.
    for _ in range(int(rates["neighbour_visits"])):
        came = leave + float(rng.uniform(0.2, 0.6)) * (back - leave)
        inside = visit_door(came, rng.uniform(8, 14), "neighbour") + 20.0
        stay = float(rng.uniform(120.0, 300.0))
        indoor.append(Sighting(inside, inside + stay, "person", "neighbour", pir=True))
        visit_door(inside + stay + 20.0, rng.uniform(6, 10), "neighbour")
    for t in _poisson_times(rng, rates["pets_at_door_per_hour"], [(0.0, end)]):
        door.append(Sighting(t, t + float(rng.uniform(5, 15)), "pet", "pet", pir=True))
    for t in _poisson_times(rng, rates["pir_false_per_hour"], [(0.0, end)]):
        door.append(Sighting(t, t + 3.0, "empty", "headlights", pir=True, light=True))
    # Indoors: the cat all night, the residents while home and awake.
    for t in _poisson_times(rng, rates["pets_per_hour"], [(0.0, end)]):
        indoor.append(Sighting(t, t + float(rng.uniform(5, 20)), "pet", "pet", pir=True))
    for t in _poisson_times(rng, rates["moves_per_hour"], awake_home):
        indoor.append(Sighting(t, t + float(rng.uniform(10, 60)), "person", "resident", pir=True))
    door.sort(key=lambda s: s.t)
    indoor.sort(key=lambda s: s.t)

    lights = [(arrive_a + 30.0, True), (leave - 60.0, False), (back + 30.0, True), (bedtime, False)]
    lights += [(alarm, True)] if alarm < end else []

    # Voices: the two residents, then TV voices (indexes into voices).
    voices = ["resident A", "resident B", "TV 1", "TV 2", "TV 3"]
    sounds: list[Sound] = []
    for t in _poisson_times(rng, rates["voice_per_hour"], awake_home):
        word = str(rng.choice(list(COMMANDS)))
        sounds.append(Sound(t, "command", ("hometwin", word), int(rng.integers(2)), word))
    if alarm < end:
        sounds.append(
            Sound(alarm + float(rng.uniform(5.0, 40.0)), "command", ("hometwin", "stop"), 0, "stop")
        )
    for t in _poisson_times(rng, rates["tv_per_hour"], awake_home):
        sounds.append(Sound(t, "tv", (str(rng.choice(TV_WORDS)),), int(rng.integers(2, 5)), "unknown"))
    for t in _poisson_times(rng, rates["noise_per_hour"], awake_home):
        sounds.append(Sound(t, "noise", (None,), 0, "silence"))
    sounds.sort(key=lambda s: s.t)

    worn = _minus([(arrive_a, end)], [asleep])  # charged overnight
    wrist: list[WristMove] = []
    for t in _poisson_times(rng, rates["walks_per_hour"], worn):
        wrist.append(WristMove(t, t + 2.0 * int(rng.integers(4, 20)), "walk"))
    for t in _poisson_times(rng, rates["gestures_per_hour"], worn):
        wrist.append(WristMove(t, t + 2.0, str(rng.choice(list(CONTROL_GESTURES)))))
    for t in _poisson_times(rng, rates["other_gestures_per_hour"], worn):
        wrist.append(WristMove(t, t + 2.0, str(rng.choice(OTHER_GESTURES))))
    if alarm + 2.0 < end:
        wrist.append(WristMove(alarm + float(rng.uniform(2.0, 4.0)), alarm + 6.0, "wave"))
    wrist.sort(key=lambda w: w.t)
    wrist = _drop_overlaps(wrist)
    # The phone leaves with resident A.
    phone_away = [(0.0, arrive_a - 60.0), (leave + 60.0, back - 60.0)]
    return Night(
        duration_s=end,
        away=away,
        asleep=asleep,
        watch_worn=worn,
        phone_away=phone_away,
        lights=[(t, on) for t, on in sorted(lights) if t < end],
        door=[s for s in door if s.t < end],
        indoor=[s for s in indoor if s.t < end],
        sounds=[s for s in sounds if s.t + len(s.words) < end],
        wrist=[w for w in wrist if w.end_t < end],
        alarm_t=alarm,
        voices=voices,
    )


def _drop_overlaps(moves: list[WristMove]) -> list[WristMove]:
    """One thing at a time on a wrist: a move that starts before the last one ended is dropped."""
    kept: list[WristMove] = []
    for move in moves:
        if not kept or move.t >= kept[-1].end_t:
            kept.append(move)
    return kept
