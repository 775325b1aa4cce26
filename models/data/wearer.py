"""The wearer's physiology: one day of activity, heart rate and arrhythmia episodes.

Shared by model training and the simulator's health app, so the screener is trained on the
same world the simulation plays. Everything is generated from a ``numpy`` Generator.

Time grid: ``dt_s`` (5 s by default), starting at 00:00 of day one.

Activities (codes in :data:`ACTIVITIES`): ``sleep``, ``rest``, ``commute`` (walking),
``exercise`` (legitimately high heart rate, high wrist motion) and ``stress`` (benign sinus
heart rate of 108-134 bpm at rest, rising and falling gradually: the confounder a fixed
"above 120 bpm at rest" rule falls for).

Rhythms (codes in :data:`RHYTHMS`): ``normal`` (sinus), ``tachycardia`` (paroxysmal: abrupt
onset, 120-180 bpm, very regular), ``bradycardia`` (35-48 bpm, abrupt onset), ``af``
(AF-like: irregular beat-to-beat, 90-150 bpm mean, PPG heart rate jumps between readings).

Two labels exist at a time ``t``:

- :func:`rhythm_at`: the episode truth (0 normal sinus, 1 tachy, 2 brady, 3 af).
- :func:`ecg_label_at`: what a 10 s ECG shows (index into ``models.data.ecg.CLASSES``).
  The ECG verifier classifies rhythm and rate only, so sinus tachycardia during exercise or
  stress *is* ``tachycardia`` on the ECG; dismissing it is the health app's job, from the
  activity context (``accel_g``, ``activity``) and the screener.

Premature beats (:func:`add_ectopy`, off unless asked for): a wearer's own burden, origin
(atrial / ventricular), couplet share, bigeminy runs and PVC pulse deficit, waxing and
waning over the day with the activity (more under stress, fewer during exercise). They show
in every ECG taken in sinus rhythm, and on the watch: PVC pulses are weak, so in ventricular
bigeminy the PPG counts about half the beats, and isolated premature beats make the readings
jumpy.

Screener input (:func:`screening_windows`): ``(N, 3, window_s / dt_s)`` float32, channels
``[(hr_bpm - 80) / 40, accel_g / 0.5, hr_valid]`` over the last ``window_s`` up to ``t``
(oldest first, edge-padded before the start of the day). Default ``(N, 3, 60)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from models.data import ecg

ACTIVITIES = ("sleep", "rest", "commute", "exercise", "stress")
RHYTHMS = ("normal", "tachycardia", "bradycardia", "af")
EPISODE_KINDS = ("tachycardia", "bradycardia", "af")
DAY_S = 86400.0
SCREEN_CHANNELS = ("hr_norm", "accel_norm", "hr_valid", "resting_hr_norm")
# Premature beats rise with catecholamines (stress) and fall at high sinus rates (exercise
# overdrive-suppresses them); relative to rest.
ECTOPY_ACTIVITY_FACTOR = {"sleep": 0.6, "rest": 1.0, "commute": 1.2, "exercise": 0.4, "stress": 1.8}
BIGEMINY_ATRIAL, BIGEMINY_VENTRICULAR = 1, 2


@dataclass(frozen=True)
class ActivityBlock:
    start_s: float
    end_s: float
    activity: str


@dataclass(frozen=True)
class EpisodeSpec:
    start_s: float
    duration_s: float
    kind: str

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class EctopyProfile:
    """A wearer's premature beats (see :func:`add_ectopy`)."""

    burden: float  # mean chance a sinus beat is replaced by an ectopic event, at rest
    pvc_share: float  # chance an event (or a bigeminy run) is ventricular
    couplet_share: float  # chance an event is a couplet
    bigeminy_per_hour: float  # bigeminy runs starting per hour at the mean burden
    pulse_deficit: float  # share of PVC pulses too weak for the PPG
    focus: ecg.EctopicFocus


@dataclass
class WearerDay:
    """Per-step arrays on the ``dt_s`` grid plus the wearer's ECG morphology."""

    t_s: np.ndarray  # (T,) float64 seconds since 00:00
    hr_bpm: np.ndarray  # (T,) float32 what the watch's PPG reports (held during dropouts)
    hr_true_bpm: np.ndarray  # (T,) float32 underlying mean heart rate
    hr_valid: np.ndarray  # (T,) bool, False during PPG dropouts
    accel_g: np.ndarray  # (T,) float32 wrist activity intensity
    activity: np.ndarray  # (T,) int8 index into ACTIVITIES
    rhythm: np.ndarray  # (T,) int8 index into RHYTHMS
    dt_s: float
    schedule: list[ActivityBlock]
    episodes: list[EpisodeSpec]
    morphology: ecg.Morphology
    resting_hr_bpm: float
    ectopy: EctopyProfile | None = None
    ectopy_burden: np.ndarray | None = None  # (T,) float32 local burden (0 outside sinus rhythm)
    ectopy_bigeminy: np.ndarray | None = None  # (T,) int8 0 none, 1 atrial, 2 ventricular run

    def index_at(self, t_s: float | np.ndarray) -> np.ndarray:
        """Index of the sample covering time ``t_s`` (clipped to the day)."""
        idx = np.floor(np.asarray(t_s, dtype=np.float64) / self.dt_s).astype(np.int64)
        return np.clip(idx, 0, self.t_s.size - 1)


def default_schedule(rng: np.random.Generator, duration_s: float = DAY_S) -> list[ActivityBlock]:
    """A working day with jitter: sleep ~23:00-07:00, two commutes, desk rest, an exercise
    hour (lunch or evening), one or two stress periods. Longer durations repeat days."""
    minutes = int(np.ceil(duration_s / 60.0))
    n_days = int(np.ceil(minutes / 1440))
    paint = np.full(n_days * 1440, ACTIVITIES.index("rest"), np.int8)

    def fill(start_min: float, end_min: float, activity: str, over_rest_only: bool = False) -> None:
        a, b = int(max(0, start_min)), int(min(paint.size, end_min))
        if b > a:
            where = paint[a:b] == ACTIVITIES.index("rest") if over_rest_only else slice(None)
            paint[a:b][where] = ACTIVITIES.index(activity)

    for d in range(n_days):
        o = d * 1440
        wake = 7 * 60 + rng.normal(0, 25)
        bed = 23 * 60 + rng.normal(0, 30)
        go_out = wake + rng.uniform(45, 80)
        go_home = 17.5 * 60 + rng.normal(0, 30)
        ex = rng.uniform(12 * 60, 12.5 * 60) if rng.random() < 0.4 else rng.uniform(18.5 * 60, 20 * 60)
        fill(o + ex, o + ex + rng.uniform(45, 75), "exercise")
        fill(o + go_out, o + go_out + rng.uniform(25, 50), "commute")
        fill(o + go_home, o + go_home + rng.uniform(25, 50), "commute")
        fill(o, o + wake, "sleep")
        fill(o + bed, o + 1440 + 7 * 60 + rng.normal(0, 25), "sleep")
        for _ in range(rng.integers(1, 3)):  # at the desk, never over exercise or commute
            s = rng.uniform(9.5 * 60, 16.5 * 60)
            fill(o + s, o + s + rng.uniform(20, 60), "stress", over_rest_only=True)
    paint = paint[:minutes]
    change = np.flatnonzero(np.diff(paint)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [paint.size]])
    return [
        ActivityBlock(float(s * 60), float(min(e * 60, duration_s)), ACTIVITIES[paint[s]])
        for s, e in zip(starts, ends, strict=True)
    ]


def random_episodes(
    rng: np.random.Generator,
    n: int,
    schedule: list[ActivityBlock],
    duration_s: float = DAY_S,
    kinds: tuple[str, ...] = EPISODE_KINDS,
) -> list[EpisodeSpec]:
    """``n`` non-overlapping episodes of 10-45 min, mostly during rest, sleep or commute."""
    quiet = [b for b in schedule if b.activity in ("rest", "sleep", "commute")]
    episodes: list[EpisodeSpec] = []
    for _ in range(200 * max(n, 1)):
        if len(episodes) >= n:
            break
        length = rng.uniform(600, 2700)
        if quiet and rng.random() < 0.85:
            block = quiet[rng.integers(len(quiet))]
            start = rng.uniform(block.start_s, max(block.start_s, block.end_s - 300))
        else:
            start = rng.uniform(0, max(0.0, duration_s - length))
        start = float(min(start, duration_s - length))
        if start < 0 or any(start < e.end_s + 600 and e.start_s < start + length + 600 for e in episodes):
            continue
        episodes.append(EpisodeSpec(start, float(length), str(rng.choice(kinds))))
    return sorted(episodes, key=lambda e: e.start_s)


def _lag(target: np.ndarray, tau_up: np.ndarray, tau_down: np.ndarray, dt: float) -> np.ndarray:
    """First-order approach to ``target`` with separate rise and fall time constants."""
    out = np.empty_like(target)
    y = target[0]
    a_up = 1.0 - np.exp(-dt / tau_up)
    a_down = 1.0 - np.exp(-dt / tau_down)
    for i, x in enumerate(target.tolist()):
        y += (a_up[i] if x > y else a_down[i]) * (x - y)
        out[i] = y
    return out


def _ar1(rng, n: int, dt: float, tau_s: float, sd: float) -> np.ndarray:
    phi = np.exp(-dt / tau_s)
    e = rng.normal(0.0, sd * np.sqrt(1 - phi**2), n)
    out = np.empty(n)
    y = rng.normal(0.0, sd)
    for i, v in enumerate(e.tolist()):
        y = phi * y + v
        out[i] = y
    return out


def simulate_day(
    schedule: list[ActivityBlock],
    episodes: list[EpisodeSpec],
    duration_s: float,
    rng: np.random.Generator,
    dt_s: float = 5.0,
) -> WearerDay:
    """Heart rate, wrist motion and rhythm on a ``dt_s`` grid for one wearer."""
    t = np.arange(0.0, duration_s, dt_s)
    n = t.size
    activity = np.full(n, ACTIVITIES.index("rest"), np.int8)
    target = np.zeros(n)
    accel_level = np.zeros(n)
    tau_up = np.full(n, 60.0)
    tau_down = np.full(n, 90.0)
    resting = rng.uniform(56, 76)
    for block in schedule:
        sl = slice(int(block.start_s // dt_s), int(np.ceil(block.end_s / dt_s)))
        activity[sl] = ACTIVITIES.index(block.activity)
        m = activity[sl].size
        if block.activity == "sleep":
            target[sl] = resting - rng.uniform(4, 9)
            accel_level[sl] = 0.01
        elif block.activity == "rest":
            target[sl] = resting + rng.uniform(-2, 6)
            accel_level[sl] = 0.04
        elif block.activity == "commute":
            target[sl] = resting + rng.uniform(12, 28)
            accel_level[sl] = rng.uniform(0.2, 0.35)
        elif block.activity == "exercise":
            level = rng.uniform(130, 170)
            intervals = 8 * np.sin(2 * np.pi * np.arange(m) * dt_s / rng.uniform(240, 600))
            target[sl] = level + intervals
            accel_level[sl] = rng.uniform(0.6, 1.1) * (1 + 0.15 * np.sin(np.arange(m) * dt_s / 90))
            tau_up[sl], tau_down[sl] = 30.0, 60.0
        elif block.activity == "stress":
            target[sl] = rng.uniform(108, 134)
            accel_level[sl] = 0.05
            tau_up[sl], tau_down[sl] = rng.uniform(150, 300), 240.0
    target += _ar1(rng, n, dt_s, 600.0, 3.0)  # slow autonomic drift
    hr_true = _lag(target, tau_up, tau_down, dt_s)
    wander = _ar1(rng, n, dt_s, 30.0, 1.0) * np.where(activity == ACTIVITIES.index("stress"), 3.5, 1.5)
    hr_true = hr_true + wander
    measurement_sd = np.full(n, 1.2)

    rhythm = np.zeros(n, np.int8)
    for ep in episodes:
        a, b = int(ep.start_s // dt_s), min(n, int(np.ceil(ep.end_s / dt_s)))
        if b <= a:
            continue
        m = b - a
        ramp = 1.0 - np.exp(-np.arange(m) * dt_s / rng.uniform(5, 15))
        if ep.kind == "tachycardia":
            level = rng.uniform(120, 180) + rng.normal(0, 0.6, m)
            measurement_sd[a:b] = 0.8
        elif ep.kind == "bradycardia":
            level = rng.uniform(35, 48) + rng.normal(0, 0.8, m)
        else:
            level = rng.uniform(90, 150) + rng.normal(0, 1.0, m)
            measurement_sd[a:b] = rng.uniform(7, 16)  # few irregular beats per 5 s reading
        hr_true[a:b] = hr_true[a] + (level - hr_true[a]) * ramp
        rhythm[a:b] = RHYTHMS.index(ep.kind)

    accel = accel_level * rng.lognormal(0.0, 0.35, n)
    fidget = rng.random(n) < np.where(activity == ACTIVITIES.index("sleep"), 0.01, 0.03)
    accel = accel + fidget * rng.uniform(0.05, 0.4, n) + np.abs(rng.normal(0, 0.005, n))
    measurement_sd = measurement_sd + 5.0 * np.minimum(accel, 1.5)
    hr = hr_true + rng.normal(0.0, 1.0, n) * measurement_sd

    dropout_p = 0.002 + 0.02 * np.minimum(accel, 1.0)
    valid = np.ones(n, bool)
    starts = np.flatnonzero(rng.random(n) < dropout_p)
    for s in starts.tolist():
        valid[s : s + int(rng.integers(1, 7))] = False
    last_valid = np.maximum.accumulate(np.where(valid, np.arange(n), 0))
    hr = np.where(valid, hr, hr[last_valid])

    return WearerDay(
        t_s=t,
        hr_bpm=np.clip(hr, 25, 230).astype(np.float32),
        hr_true_bpm=np.clip(hr_true, 25, 230).astype(np.float32),
        hr_valid=valid,
        accel_g=accel.astype(np.float32),
        activity=activity,
        rhythm=rhythm,
        dt_s=dt_s,
        schedule=list(schedule),
        episodes=list(episodes),
        morphology=ecg.random_morphology(rng),
        resting_hr_bpm=float(resting),
    )


def add_ectopy(day: WearerDay, burden: float, pvc_share: float, rng: np.random.Generator) -> WearerDay:
    """The same day with this wearer's premature beats (a new day; ``day`` is unchanged).

    ``burden`` (0-0.5) is the mean chance a sinus beat at rest is replaced by an ectopic
    event, ``pvc_share`` (0-1) the share that are ventricular. Drawn per wearer from ``rng``:
    the ectopic focus, the couplet share (5-30 %), bigeminy runs (1-15 min, 0.2-1.5 an hour
    at a 5 % burden, more with more burden) and the PVC pulse deficit (30-90 %). Only the
    watch's heart-rate readings change (the true rate, rhythm and episodes do not)."""
    if not 0.0 <= burden <= 0.5 or not 0.0 <= pvc_share <= 1.0:
        raise ValueError(f"burden must be in [0, 0.5] and pvc_share in [0, 1], got {burden}, {pvc_share}")
    profile = EctopyProfile(
        burden=float(burden),
        pvc_share=float(pvc_share),
        couplet_share=float(rng.uniform(0.05, 0.3)),
        bigeminy_per_hour=float(rng.uniform(0.2, 1.5) * burden / 0.05),
        pulse_deficit=float(rng.uniform(0.3, 0.9)),
        focus=ecg.random_focus(rng),
    )
    n, dt = day.t_s.size, day.dt_s
    sinus = day.rhythm == RHYTHMS.index("normal")
    factor = np.array([ECTOPY_ACTIVITY_FACTOR[a] for a in ACTIVITIES])[day.activity]
    local = burden * factor * np.exp(_ar1(rng, n, dt, 1800.0, 0.4))  # waxes and wanes over hours
    local = np.where(sinus, np.minimum(local, 0.5), 0.0)
    bigeminy = np.zeros(n, np.int8)
    starts = np.flatnonzero(
        rng.random(n) < profile.bigeminy_per_hour * dt / 3600.0 * local / max(burden, 1e-9)
    )
    for start in starts.tolist():
        length = int(rng.uniform(60.0, 900.0) / dt)
        kind = BIGEMINY_VENTRICULAR if rng.random() < pvc_share else BIGEMINY_ATRIAL
        bigeminy[start : start + length] = kind
    bigeminy[~sinus] = 0
    # What the PPG reads: missed PVC pulses halve the count in ventricular bigeminy (by the
    # pulse deficit); premature beats elsewhere make the beat-to-beat readings jumpy.
    ventricular = bigeminy == BIGEMINY_VENTRICULAR
    jumpy_sd = 40.0 * local * np.where(bigeminy > 0, 0.0, 1.0)
    hr = day.hr_bpm.astype(np.float64) + rng.normal(0.0, 1.0, n) * jumpy_sd
    missed = day.hr_true_bpm * (1.0 - 0.5 * profile.pulse_deficit) + rng.normal(0.0, 2.0, n)
    hr = np.where(ventricular & day.hr_valid, missed, hr)
    return replace(
        day,
        hr_bpm=np.clip(hr, 25, 230).astype(np.float32),
        ectopy=profile,
        ectopy_burden=local.astype(np.float32),
        ectopy_bigeminy=bigeminy,
    )


def ectopy_at(day: WearerDay, t_s: float) -> ecg.Ectopy | None:
    """The premature beats an ECG at ``t_s`` carries (None without ectopy or outside sinus)."""
    if day.ectopy is None:
        return None
    i = day.index_at(t_s)
    run = int(day.ectopy_bigeminy[i])
    burden = float(day.ectopy_burden[i])
    if run == 0 and burden <= 0.0:
        return None
    profile = day.ectopy
    return ecg.Ectopy(
        burden=burden,
        pvc_share=profile.pvc_share if run == 0 else float(run == BIGEMINY_VENTRICULAR),
        focus=profile.focus,
        couplet_share=profile.couplet_share,
        bigeminy=run > 0,
    )


def random_day(seed: int, n_episodes: int | None = None, duration_s: float = DAY_S) -> WearerDay:
    """A complete day for one wearer from one seed (schedule, 0-4 episodes, physiology)."""
    rng = np.random.default_rng(seed)
    schedule = default_schedule(rng, duration_s)
    n = int(rng.integers(0, 5)) if n_episodes is None else n_episodes
    episodes = random_episodes(rng, n, schedule, duration_s)
    return simulate_day(schedule, episodes, duration_s, rng)


def window_index(day: WearerDay, times_s: np.ndarray, window_s: float = 300.0) -> np.ndarray:
    """``(N, window_s / dt_s)`` sample indices of the window ending at each time (oldest first)."""
    length = int(round(window_s / day.dt_s))
    end = day.index_at(np.asarray(times_s, dtype=np.float64))
    return np.clip(end[:, None] - np.arange(length - 1, -1, -1)[None, :], 0, day.t_s.size - 1)


def screening_windows(day: WearerDay, times_s: np.ndarray, window_s: float = 300.0) -> np.ndarray:
    """Screener input at each time: ``(N, 3, window_s / dt_s)`` float32 (see module doc)."""
    idx = window_index(day, times_s, window_s)
    x = np.stack(
        [
            (day.hr_bpm[idx] - 80.0) / 40.0,
            day.accel_g[idx] / 0.5,
            day.hr_valid[idx].astype(np.float32),
            np.full(idx.shape, (day.resting_hr_bpm - 80.0) / 40.0, np.float32),
        ],
        axis=1,
    )
    return x.astype(np.float32)


def screening_labels(
    day: WearerDay, times_s: np.ndarray, window_s: float = 300.0, min_episode_s: float = 60.0
) -> np.ndarray:
    """1 = suspicious (at least ``min_episode_s`` of an episode in the window), 0 = none,
    -1 = ambiguous (a shorter part of an episode; left out of training and scoring)."""
    idx = window_index(day, times_s, window_s)
    episode_s = (day.rhythm[idx] != 0).sum(axis=1) * day.dt_s
    return np.where(episode_s >= min_episode_s, 1, np.where(episode_s > 0, -1, 0)).astype(np.int8)


def rhythm_at(day: WearerDay, t_s: float) -> int:
    """Episode truth at ``t_s``: index into :data:`RHYTHMS`."""
    return int(day.rhythm[day.index_at(t_s)])


def ecg_label_at(day: WearerDay, t_s: float) -> int:
    """What a 10 s ECG at ``t_s`` shows: index into ``ecg.CLASSES`` (rate applied to sinus).

    Judged from the mean heart rate, premature beats left out; :func:`capture_ecg` with
    ``return_label=True`` gives the label of the very record it made (without ectopy they
    differ only within a beat of a rate cut-off).
    """
    i = day.index_at(t_s)
    return ecg.CLASSES.index(ecg.rate_label(RHYTHMS[day.rhythm[i]], float(day.hr_true_bpm[i])))


def capture_ecg(
    day: WearerDay,
    t_s: float,
    rng: np.random.Generator,
    duration_s: float = ecg.WINDOW_S,
    fs: int = ecg.FS_HZ,
    return_label: bool = False,
) -> np.ndarray | tuple[np.ndarray, int]:
    """The ECG the watch records at ``t_s``: ``(duration_s * fs,)`` float32 in mV.

    Rhythm and mean rate come from the day at ``t_s``; morphology and premature beats are
    the wearer's own (:func:`ectopy_at`). Wrist motion during exercise makes the recording
    noisier. The label (``return_label``) is :func:`ecg.record_label` of the very record.
    """
    i = day.index_at(t_s)
    rhythm = RHYTHMS[day.rhythm[i]]
    hr = float(day.hr_true_bpm[i])
    if rhythm == "tachycardia":
        hr = max(hr, 101.0)
    elif rhythm == "bradycardia":
        hr = min(hr, 49.0)
    morph = day.morphology
    if day.accel_g[i] > 0.3:
        morph = ecg.Morphology(**{**morph.__dict__, "noise_level": min(1.0, morph.noise_level + 0.3)})
    signal, rate, ectopic = ecg.synth_record(rhythm, hr, duration_s, fs, rng, morph, ectopy_at(day, t_s))
    if return_label:
        return signal, ecg.CLASSES.index(ecg.record_label(rhythm, rate, ectopic))
    return signal
