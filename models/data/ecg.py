"""Synthetic single-lead ECG: our own fast, vectorised generator.

Each beat is a sum of five Gaussians (P, Q, R, S, T) placed around the R-peak time, the
morphology of McSharry et al.'s ECGSYN (IEEE TBME 2003) written directly in time instead of
integrating the ODE. Beat times come from an RR-interval process chosen per rhythm:

- ``normal``: sinus rhythm with respiratory sinus arrhythmia (0.15-0.4 Hz) and Mayer waves
  (~0.1 Hz), sometimes one mildly early sinus beat (a hard negative for AF).
- ``tachycardia``: sinus tachycardia (P waves, low HRV) or SVT (very regular, P wave hidden
  or retrograde).
- ``bradycardia``: sinus bradycardia.
- ``af``: AF-like: independent, irregularly irregular RR intervals, no P waves, fibrillatory
  f-waves at 4-9 Hz.

Ectopic beats (:class:`Ectopy`) can be laid over any rhythm but SVT: premature ventricular
contractions (PVC: no P wave, a wide QRS of 120-200 ms with a discordant T wave, a fully
compensatory pause because the sinus node is not reset) and premature atrial contractions
(PAC: early, with an abnormal P wave, a narrow QRS, a non-compensatory pause because the
sinus node is reset), isolated, in couplets or in bigeminy (every other beat). In AF only
PVCs occur. A subject's ectopic beats share one shape (:class:`EctopicFocus`, unifocal).

The rhythm decides the RR process and the morphology; the *label* of a record
(:func:`record_label`) is AF for AF; otherwise its realised rate decides (clinical cut-offs:
> 100 bpm tachycardia, < 50 bpm bradycardia), and a record at a normal rate with at least one
ectopic beat inside the window is ``ectopy``: premature beats that are not an arrhythmia
episode to escalate.

Recording artefacts: per-subject morphology, lead gain (sometimes inverted), baseline
wander, EMG noise, powerline hum (50/60 Hz), and occasional motion artefacts.
About 0.1 ms of numpy per 10 s record at 125 Hz.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

FS_HZ = 125
WINDOW_S = 10.0
# ``ectopy`` comes last so the codes of the first four stay what they were.
CLASSES = ("normal", "tachycardia", "bradycardia", "af", "ectopy")
RHYTHMS = ("normal", "tachycardia", "bradycardia", "af")
ESCALATED = ("tachycardia", "bradycardia", "af")  # the classes a verifier escalates
TACHY_ABOVE_BPM = 100.0
BRADY_BELOW_BPM = 50.0

# Rate ranges used when a data set draws a rate for a rhythm class.
HR_RANGE_BPM = {
    "normal": (50.0, 100.0),
    "tachycardia": (100.0, 190.0),
    "bradycardia": (30.0, 50.0),
    "af": (55.0, 170.0),
    "ectopy": (55.0, 95.0),  # the sinus rate under the premature beats
}
ECTOPY_BURDEN_RANGE = (0.08, 0.35)

# ECGSYN-like waves: offset from R (s, P and T scale with sqrt(RR)), amplitude (mV), width (s).
_WAVES = ("P", "Q", "R", "S", "T")
_OFFSET_S = np.array([-0.18, -0.035, 0.0, 0.035, 0.30])
_AMPLITUDE_MV = np.array([0.15, -0.12, 1.0, -0.25, 0.30])
_WIDTH_S = np.array([0.025, 0.010, 0.011, 0.012, 0.055])


@dataclass(frozen=True)
class Morphology:
    """One subject's beat shape and recording set-up."""

    offset_s: np.ndarray  # (5,) P, Q, R, S, T offsets from the R peak
    amplitude_mv: np.ndarray  # (5,)
    width_s: np.ndarray  # (5,)
    lead_gain: float  # electrode placement, can be negative (inverted lead)
    noise_level: float  # 0..1 scales EMG, wander and powerline
    powerline_hz: float  # 50 or 60


def random_morphology(rng: np.random.Generator) -> Morphology:
    """Draw a subject: waves jittered around the ECGSYN template, random lead gain."""
    amplitude = _AMPLITUDE_MV * rng.lognormal(0.0, 0.25, 5)
    gain = rng.uniform(0.4, 1.6) * (-1.0 if rng.random() < 0.08 else 1.0)
    return Morphology(
        offset_s=_OFFSET_S * rng.uniform(0.85, 1.15, 5),
        amplitude_mv=amplitude,
        width_s=_WIDTH_S * rng.uniform(0.8, 1.25, 5),
        lead_gain=float(gain),
        noise_level=float(rng.uniform(0.2, 1.0)),
        powerline_hz=float(rng.choice([50.0, 60.0])),
    )


@dataclass(frozen=True)
class EctopicFocus:
    """One subject's ectopic beats: the wide complex of its PVCs, the P wave of its PACs and
    how early each comes (coupling, a fraction of the sinus RR interval)."""

    pvc_offset_s: np.ndarray  # (3,) R', S', T' of the wide complex, from its onset
    pvc_amplitude_mv: np.ndarray  # (3,) the T' is discordant (opposite to the R')
    pvc_width_s: np.ndarray  # (3,)
    pac_p_offset_s: float  # the PAC's P wave before its QRS
    pac_p_amplitude_mv: float  # small, often inverted (an ectopic atrial focus)
    pac_p_width_s: float
    pvc_coupling: float
    pac_coupling: float


@dataclass(frozen=True)
class Ectopy:
    """Premature beats in one record: ``burden`` is the chance a sinus beat is replaced by an
    ectopic event, ``couplet_share`` the chance an event is a couplet rather than a single
    beat, ``bigeminy`` makes every other beat ectopic instead; ``pvc_share`` is the chance
    an event is ventricular (one origin for a whole bigeminy run)."""

    burden: float
    pvc_share: float
    focus: EctopicFocus
    couplet_share: float = 0.0
    bigeminy: bool = False


class Record(NamedTuple):
    """One synthesized record, its realised mean rate and its ectopic beats in the window."""

    signal: np.ndarray
    rate_bpm: float
    ectopic_beats: int


def random_focus(rng: np.random.Generator) -> EctopicFocus:
    """Draw a subject's ectopic focus: PVC axis (sign) and width, PAC P wave, couplings."""
    sign = 1.0 if rng.random() < 0.6 else -1.0
    r_mv = sign * rng.uniform(0.9, 2.0)
    return EctopicFocus(
        pvc_offset_s=np.array([0.0, rng.uniform(0.05, 0.08), rng.uniform(0.26, 0.36)]),
        pvc_amplitude_mv=np.array([r_mv, -rng.uniform(0.2, 0.6) * r_mv, -rng.uniform(0.2, 0.45) * r_mv]),
        # sigma 30-45 ms: a QRS of ~4 sigma = 120-180 ms, against ~45 ms for a sinus beat
        pvc_width_s=np.array([rng.uniform(0.03, 0.045), rng.uniform(0.025, 0.04), rng.uniform(0.06, 0.09)]),
        pac_p_offset_s=float(-rng.uniform(0.11, 0.17)),
        pac_p_amplitude_mv=float((-1.0 if rng.random() < 0.6 else 1.0) * rng.uniform(0.03, 0.12)),
        pac_p_width_s=float(rng.uniform(0.015, 0.03)),
        pvc_coupling=float(rng.uniform(0.5, 0.7)),
        pac_coupling=float(rng.uniform(0.55, 0.72)),
    )


def record_label(rhythm: str, rate_bpm: float, ectopic_beats: int = 0) -> str:
    """Class an ECG shows: AF whatever the rate; otherwise the rate decides, and a normal
    rate with premature beats in the window is ``ectopy``."""
    if rhythm == "af":
        return "af"
    if rate_bpm > TACHY_ABOVE_BPM:
        return "tachycardia"
    if rate_bpm < BRADY_BELOW_BPM:
        return "bradycardia"
    return "ectopy" if ectopic_beats > 0 else "normal"


def rate_label(rhythm: str, rate_bpm: float) -> str:
    """Class an ECG without ectopic beats shows (:func:`record_label` with none)."""
    return record_label(rhythm, rate_bpm, 0)


SINUS, PAC, PVC = 0, 1, 2  # beat kinds


def _insert_ectopy(times: np.ndarray, has_p: np.ndarray, ectopy: Ectopy, rng: np.random.Generator):
    """Replace sinus beats by ectopic events: ``(times, has_p, kind)`` of every beat.

    A PVC leaves the sinus node alone: the sinus beat it replaced is not conducted and the
    next one comes on time (compensatory pause). A PAC resets the sinus node: the next
    sinus beat comes one sinus interval after it (non-compensatory pause)."""
    n = times.size
    rr = np.diff(times, prepend=2 * times[0] - times[1])
    starts = rng.random(n)
    ventricular = rng.random(n) < ectopy.pvc_share
    couplet = rng.random(n) < ectopy.couplet_share
    jitter = rng.normal(0.0, 0.03, n)
    reset = rng.uniform(1.0, 1.12, n)
    run_ventricular = bool(ventricular[0]) or not has_p.any()
    focus = ectopy.focus
    out_t, out_p, out_kind = [times[0]], [bool(has_p[0])], [SINUS]
    shift, k, last_event = 0.0, 1, -2
    while k < n:
        if ectopy.bigeminy:
            event = out_kind[-1] == SINUS
            size, pvc = 1, run_ventricular
        else:
            event = starts[k] < ectopy.burden and k - last_event > 2
            size = 2 if couplet[k] else 1
            pvc = bool(ventricular[k]) or not has_p[k]
        if not event or k + size >= n:
            out_t.append(times[k] + shift)
            out_p.append(bool(has_p[k]))
            out_kind.append(SINUS)
            k += 1
            continue
        coupling = focus.pvc_coupling if pvc else focus.pac_coupling
        t = out_t[-1]
        for j in range(size):
            # the second beat of a couplet follows the first a little later than it came
            t = t + rr[k] * coupling * (1.0 if j == 0 else 1.2) * (1.0 + jitter[k + j])
            out_t.append(t)
            out_p.append(not pvc)
            out_kind.append(PVC if pvc else PAC)
        if not pvc:
            shift = t + rr[k + size] * reset[k] - times[k + size]
        last_event = k + size - 1
        k += size
    return np.asarray(out_t), np.asarray(out_p), np.asarray(out_kind, np.int8)


def _beat_times(rhythm: str, hr_bpm: float, t0: float, t1: float, rng: np.random.Generator):
    """R-peak times covering [t0, t1] and whether each beat has a P wave."""
    rr = 60.0 / hr_bpm
    n = int(np.ceil((t1 - t0) / (rr * 0.6))) + 4
    k = np.arange(n)
    svt = False
    if rhythm == "af":
        cv = rng.uniform(0.10, 0.30)
        shape = 1.0 / cv**2
        intervals = rng.gamma(shape, rr / shape, n)
        intervals = np.maximum(intervals, 0.26)
    else:
        if rhythm == "tachycardia":
            svt = hr_bpm > 130 and rng.random() < 0.5
            rsa = 0.002 if svt else rng.uniform(0.003, 0.02)
            mayer = 0.0 if svt else rng.uniform(0.0, 0.01)
        else:
            rsa = rng.uniform(0.01, 0.07)
            mayer = rng.uniform(0.0, 0.03)
        t_approx = k * rr
        intervals = rr * (
            1.0
            + rsa * np.sin(2 * np.pi * rng.uniform(0.15, 0.4) * t_approx + rng.uniform(0, 2 * np.pi))
            + mayer * np.sin(2 * np.pi * rng.uniform(0.08, 0.12) * t_approx + rng.uniform(0, 2 * np.pi))
            + rng.normal(0.0, 0.004 if svt else 0.01, n)
        )
        if rhythm == "normal" and rng.random() < 0.12:
            i = rng.integers(2, max(3, n - 3))
            early = rng.uniform(0.2, 0.35)
            intervals[i] *= 1.0 - early
            intervals[i + 1] *= 1.0 + early * 0.8
    times = t0 - rng.uniform(0, rr) + np.concatenate([[0.0], np.cumsum(intervals)])
    times = times[times <= t1 + 1.0]
    has_p = np.full(times.shape, rhythm != "af" and not svt)
    return times, has_p


def _render(times, has_p, rr_local, morph: Morphology, n: int, fs: int, qrs=None) -> np.ndarray:
    """Sum the five Gaussians of every beat onto an n-sample grid (local support only);
    ``qrs`` (when given) masks the Q, R, S and T of beats that are not normally conducted."""
    pad = int(fs * 1.5)
    out = np.zeros(n + 2 * pad)
    scale = np.sqrt(np.clip(rr_local, 0.3, 1.6))
    for w in range(5):
        amp = np.full(times.shape, morph.amplitude_mv[w])
        if w == 0:
            amp = amp * has_p
        elif qrs is not None:
            amp = amp * qrs
        offset = morph.offset_s[w] * (scale if w in (0, 4) else 1.0)
        width = morph.width_s[w] * (scale if w == 4 else 1.0)
        centre = (times + offset) * fs  # fractional sample index
        half = int(np.ceil(4 * np.max(width) * fs))
        grid = np.floor(centre)[:, None] + np.arange(-half, half + 1)[None, :]
        sigma = (np.asarray(width) * fs)[..., None]
        values = amp[:, None] * np.exp(-0.5 * ((grid - centre[:, None]) / sigma) ** 2)
        idx = grid.astype(np.int64) + pad
        keep = (idx >= 0) & (idx < out.size)
        out += np.bincount(idx[keep], weights=values[keep], minlength=out.size)
    return out[pad : pad + n]


def _gaussians(centre_s, amplitude_mv, width_s, n: int, fs: int) -> np.ndarray:
    """Sum of Gaussians (centres, amplitudes, widths: equal-shape arrays) on an n-sample grid."""
    width_s = np.broadcast_to(width_s, np.shape(centre_s)).ravel()
    centre_s, amplitude_mv = np.ravel(centre_s), np.ravel(amplitude_mv)
    pad = int(fs * 1.5)
    out = np.zeros(n + 2 * pad)
    half = int(np.ceil(4 * np.max(width_s, initial=0.0) * fs))
    centre = centre_s * fs
    grid = np.floor(centre)[:, None] + np.arange(-half, half + 1)[None, :]
    values = amplitude_mv[:, None] * np.exp(-0.5 * ((grid - centre[:, None]) / (width_s * fs)[:, None]) ** 2)
    idx = grid.astype(np.int64) + pad
    keep = (idx >= 0) & (idx < out.size)
    out += np.bincount(idx[keep], weights=values[keep], minlength=out.size)
    return out[pad : pad + n]


def _render_ectopic(times, kind, rr_local, morph: Morphology, focus: EctopicFocus, n: int, fs: int):
    """The PVCs' wide complexes and the PACs' abnormal P waves (their QRS-T is the subject's
    own, drawn by :func:`_render`)."""
    out = np.zeros(n)
    pvc = kind == PVC
    if pvc.any():
        t = times[pvc]
        # the T' moves with the preceding interval as a sinus T does (sqrt of RR)
        offset = np.tile(focus.pvc_offset_s, (t.size, 1))
        offset[:, 2] *= np.sqrt(np.clip(rr_local[pvc], 0.3, 1.6)) / np.sqrt(0.6)
        centres = t[:, None] + offset
        out += _gaussians(
            centres,
            np.tile(focus.pvc_amplitude_mv, (t.size, 1)),
            np.tile(focus.pvc_width_s, (t.size, 1)),
            n,
            fs,
        )
    pac = kind == PAC
    if pac.any():
        t = times[pac]
        out += _gaussians(
            t + focus.pac_p_offset_s,
            np.full(t.size, focus.pac_p_amplitude_mv),
            np.full(t.size, focus.pac_p_width_s),
            n,
            fs,
        )
    return out


def _artefacts(n: int, fs: int, morph: Morphology, rhythm: str, hr_bpm: float, rng) -> np.ndarray:
    t = np.arange(n) / fs
    level = morph.noise_level
    noise = np.zeros(n)
    if rhythm == "af":  # fibrillatory waves
        for _ in range(rng.integers(1, 4)):
            f = rng.uniform(4.0, 9.0)
            drift = rng.uniform(-0.3, 0.3) * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t)
            amp = rng.uniform(0.015, 0.08) * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t))
            noise += amp * np.sin(2 * np.pi * (f + drift) * t + rng.uniform(0, 2 * np.pi))
    for _ in range(3):  # baseline wander, respiration included
        noise += (
            level
            * rng.uniform(0.02, 0.25)
            * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 2 * np.pi))
        )
    emg = rng.normal(0.0, level * rng.uniform(0.005, 0.06), n)
    noise += 0.5 * (emg + np.roll(emg, 1))  # slightly low-passed muscle noise
    noise += level * rng.uniform(0.0, 0.04) * np.sin(2 * np.pi * morph.powerline_hz * t + rng.uniform(0, 6.3))
    if rng.random() < 0.15:  # motion artefact bursts
        for _ in range(rng.integers(1, 3)):
            centre = rng.uniform(0, n / fs)
            width = rng.uniform(0.1, 0.5)
            burst = np.cumsum(rng.normal(0, 1, n)) * 0.05
            burst -= burst.mean()
            noise += rng.uniform(0.2, 1.0) * np.exp(-0.5 * ((t - centre) / width) ** 2) * np.tanh(burst)
    return noise


def synth_record(
    rhythm: str,
    hr_bpm: float,
    duration_s: float,
    fs: int,
    rng: np.random.Generator,
    morphology: Morphology | None,
    ectopy: Ectopy | None = None,
) -> Record:
    """One record, its realised mean rate (bpm) between the R peaks inside the window and
    its number of ectopic beats inside the window. Without ``ectopy`` the random draws are
    those of a record before ectopy existed (the same seed gives the same record)."""
    if rhythm not in RHYTHMS:
        raise ValueError(f"unknown rhythm {rhythm!r}; expected one of {', '.join(RHYTHMS)}")
    morph = morphology if morphology is not None else random_morphology(rng)
    n = int(round(duration_s * fs))
    times, has_p = _beat_times(rhythm, float(hr_bpm), -1.2, duration_s, rng)
    svt = rhythm == "tachycardia" and not has_p.any()
    kind = None
    if ectopy is not None and (ectopy.burden > 0 or ectopy.bigeminy) and not svt:
        times, has_p, kind = _insert_ectopy(times, has_p, ectopy, rng)
    rr_local = np.diff(times, prepend=times[0] - 60.0 / hr_bpm)
    if kind is None:
        clean = _render(times, has_p, rr_local, morph, n, fs)
    else:
        clean = _render(times, has_p & (kind == SINUS), rr_local, morph, n, fs, qrs=kind != PVC)
        clean += _render_ectopic(times, kind, rr_local, morph, ectopy.focus, n, fs)
    if rhythm == "tachycardia" and not has_p.any() and rng.random() < 0.5:
        # retrograde P wave of AV-nodal re-entry: small, inverted, just after the QRS
        retro = Morphology(
            offset_s=np.array([0.09, 0, 0, 0, 0]),
            amplitude_mv=np.array([-0.08, 0, 0, 0, 0]),
            width_s=np.array([0.02, 0.01, 0.01, 0.01, 0.01]),
            lead_gain=1.0,
            noise_level=0.0,
            powerline_hz=50.0,
        )
        clean += _render(times, np.ones_like(has_p), rr_local, retro, n, fs)
    signal = morph.lead_gain * clean + _artefacts(n, fs, morph, rhythm, hr_bpm, rng)
    inside = (times >= 0) & (times < duration_s)
    rr_inside = np.diff(times[inside])
    rate = 60.0 / rr_inside.mean() if rr_inside.size else float(hr_bpm)
    ectopic = int((kind[inside] != SINUS).sum()) if kind is not None else 0
    return Record(signal.astype(np.float32), float(rate), ectopic)


def synth_ecg(
    rhythm: str,
    hr_bpm: float,
    duration_s: float = WINDOW_S,
    fs: int = FS_HZ,
    rng: np.random.Generator | None = None,
    morphology: Morphology | None = None,
    ectopy: Ectopy | None = None,
) -> np.ndarray:
    """One ECG record (mV, float32, ``duration_s * fs`` samples) of ``rhythm`` at ``hr_bpm``.

    ``morphology`` fixes the subject; a new random subject is drawn when it is None.
    ``ectopy`` lays premature beats over the rhythm (none when it is None).
    """
    rng = rng if rng is not None else np.random.default_rng()
    return synth_record(rhythm, hr_bpm, duration_s, fs, rng, morphology, ectopy)[0]


def synth_batch(
    rhythms: Sequence[str],
    hr_bpm: Sequence[float],
    rng: np.random.Generator,
    duration_s: float = WINDOW_S,
    fs: int = FS_HZ,
    morphologies: Sequence[Morphology] | None = None,
    ectopies: Sequence[Ectopy | None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Records for each (rhythm, rate): ``(x (N, L) float32, label (N,) int64, rate (N,))``.

    ``label`` indexes :data:`CLASSES` via :func:`record_label` on the realised rate and the
    ectopic beats inside the window.
    """
    n = int(round(duration_s * fs))
    x = np.empty((len(rhythms), n), np.float32)
    labels = np.empty(len(rhythms), np.int64)
    rates = np.empty(len(rhythms))
    for i, (rhythm, hr) in enumerate(zip(rhythms, hr_bpm, strict=True)):
        morph = morphologies[i] if morphologies is not None else None
        ectopy = ectopies[i] if ectopies is not None else None
        x[i], rates[i], ectopic = synth_record(rhythm, hr, duration_s, fs, rng, morph, ectopy)
        labels[i] = CLASSES.index(record_label(rhythm, rates[i], ectopic))
    return x, labels, rates


def random_ectopy(rng: np.random.Generator, focus: EctopicFocus) -> Ectopy:
    """Premature beats for a training record: isolated (half), couplets or bigeminy, of
    atrial, ventricular or mixed origin, at a burden of 8-35 % of beats."""
    pattern = rng.choice(3, p=[0.5, 0.25, 0.25])
    origin = rng.choice(3)
    return Ectopy(
        burden=float(rng.uniform(*ECTOPY_BURDEN_RANGE)),
        pvc_share=(0.0, 1.0, float(rng.uniform(0.2, 0.8)))[origin],
        focus=focus,
        couplet_share=float(rng.uniform(0.4, 1.0)) if pattern == 1 else 0.0,
        bigeminy=bool(pattern == 2),
    )


def make_dataset(
    n_records: int, seed: int, n_subjects: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Balanced labelled set ``(x (N, 1, 1250), y (N,), rate_bpm (N,))`` from ``n_subjects``.

    Different seeds give different subjects, so a test set from another seed is held out by
    subject. A quarter of the sinus records sit within 8 bpm of a rate cut-off (hard cases).
    ``ectopy`` records are sinus at a normal rate with premature beats (:func:`random_ectopy`);
    a fifth of the tachycardia, bradycardia and AF records carry premature beats too, so the
    rate and the rhythm, not the premature beats, decide them.
    """
    rng = np.random.default_rng(seed)
    n_subjects = n_subjects or max(1, n_records // 20)
    subjects = [(random_morphology(rng), random_focus(rng)) for _ in range(n_subjects)]
    classes = rng.integers(0, len(CLASSES), n_records)
    rhythms, rates, morphs, ectopies = [], [], [], []
    for c in classes:
        name = CLASSES[c]
        rhythm = "normal" if name == "ectopy" else name
        lo, hi = HR_RANGE_BPM[name]
        hr = rng.uniform(lo, hi)
        if name not in ("af", "ectopy") and rng.random() < 0.25:
            cut = {"normal": rng.choice([50.0, 100.0]), "tachycardia": 100.0, "bradycardia": 50.0}[rhythm]
            hr = cut + rng.uniform(-8, 8)
        morph, focus = subjects[rng.integers(n_subjects)]
        with_ectopy = name == "ectopy" or (name != "normal" and rng.random() < 0.2)
        rhythms.append(rhythm)
        rates.append(hr)
        morphs.append(morph)
        ectopies.append(random_ectopy(rng, focus) if with_ectopy else None)
    x, y, realised = synth_batch(rhythms, rates, rng, morphologies=morphs, ectopies=ectopies)
    return x[:, None, :], y, realised
