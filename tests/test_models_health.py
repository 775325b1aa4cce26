"""Health data generators and networks: ECG synthesizer, wearer physiology, model sizes."""

import numpy as np
import pytest

from models.data import ecg, wearer
from models.zoo import health


def _clean_subject() -> ecg.Morphology:
    m = ecg.random_morphology(np.random.default_rng(0))
    return ecg.Morphology(**{**m.__dict__, "lead_gain": 1.0, "noise_level": 0.0})


def _r_peaks(signal: np.ndarray, fs: int = ecg.FS_HZ) -> np.ndarray:
    """Local maxima above half the signal's 99th percentile, at least 0.2 s apart."""
    threshold = 0.5 * np.percentile(signal, 99.5)
    candidates = np.flatnonzero(
        (signal[1:-1] > threshold) & (signal[1:-1] >= signal[:-2]) & (signal[1:-1] > signal[2:])
    )
    peaks: list[int] = []
    for i in candidates + 1:
        if not peaks or i - peaks[-1] > 0.2 * fs:
            peaks.append(int(i))
        elif signal[i] > signal[peaks[-1]]:
            peaks[-1] = int(i)
    return np.array(peaks)


@pytest.mark.parametrize(
    ("rhythm", "hr_bpm"),
    [("normal", 72.0), ("normal", 55.0), ("tachycardia", 150.0), ("bradycardia", 38.0), ("af", 110.0)],
)
def test_synthesized_ecg_has_the_asked_heart_rate(rhythm, hr_bpm):
    rng = np.random.default_rng(1)
    rates = []
    for _ in range(6):
        signal = ecg.synth_ecg(rhythm, hr_bpm, duration_s=30.0, rng=rng, morphology=_clean_subject())
        assert signal.dtype == np.float32 and signal.shape == (30 * ecg.FS_HZ,)
        rates.append(60.0 / np.diff(_r_peaks(signal)).mean() * ecg.FS_HZ)
    assert np.median(rates) == pytest.approx(hr_bpm, rel=0.08)


def test_af_is_irregular_and_sinus_is_not():
    rng = np.random.default_rng(2)

    def rr_variation(rhythm):
        values = []
        for _ in range(8):
            rr = np.diff(_r_peaks(ecg.synth_ecg(rhythm, 90.0, 30.0, rng=rng, morphology=_clean_subject())))
            values.append(np.sqrt(np.mean(np.diff(rr) ** 2)) / rr.mean())  # RMSSD / mean RR
        return np.median(values)

    assert rr_variation("af") > 0.12
    assert rr_variation("normal") < 0.06


def test_ecg_dataset_is_balanced_and_labelled_by_realised_rate():
    x, y, rate = ecg.make_dataset(400, seed=5)
    assert x.shape == (400, 1, 1250) and x.dtype == np.float32
    assert np.bincount(y, minlength=len(ecg.CLASSES)).min() > 50
    sinus = ~np.isin(y, [ecg.CLASSES.index("af"), ecg.CLASSES.index("ectopy")])
    labels = [ecg.CLASSES.index(ecg.rate_label("normal", r)) for r in rate[sinus]]
    assert np.array_equal(labels, y[sinus])
    ectopy = y == ecg.CLASSES.index("ectopy")
    assert np.all((rate[ectopy] >= ecg.BRADY_BELOW_BPM) & (rate[ectopy] <= ecg.TACHY_ABOVE_BPM))


def test_unknown_rhythm_is_refused():
    with pytest.raises(ValueError, match="expected one of"):
        ecg.synth_ecg("flutter", 80.0, rng=np.random.default_rng(0))


@pytest.fixture(scope="module")
def day():
    return wearer.random_day(7, n_episodes=4)


def test_schedule_covers_the_day_in_order():
    schedule = wearer.default_schedule(np.random.default_rng(3))
    assert schedule[0].start_s == 0.0 and schedule[-1].end_s == wearer.DAY_S
    assert all(a.end_s == b.start_s for a, b in zip(schedule, schedule[1:], strict=False))
    at_3am = next(b for b in schedule if b.start_s <= 3 * 3600 < b.end_s)
    assert at_3am.activity == "sleep"
    kinds = {b.activity for b in schedule}
    assert {"sleep", "rest", "commute", "exercise", "stress"} <= kinds


def test_episodes_do_not_overlap_and_last_10_to_45_min():
    rng = np.random.default_rng(4)
    episodes = wearer.random_episodes(rng, 4, wearer.default_schedule(rng))
    assert len(episodes) == 4
    assert all(600 <= e.duration_s <= 2700 and e.kind in wearer.EPISODE_KINDS for e in episodes)
    assert all(a.end_s <= b.start_s for a, b in zip(episodes, episodes[1:], strict=False))


def test_day_follows_the_schedule(day):
    sinus = day.rhythm == 0

    def median_hr(activity):
        return np.median(day.hr_bpm[sinus & (day.activity == wearer.ACTIVITIES.index(activity))])

    assert median_hr("exercise") > 120
    assert median_hr("sleep") < median_hr("rest") < median_hr("commute") < median_hr("exercise")
    assert 95 < median_hr("stress") < 130
    exercise = day.activity == wearer.ACTIVITIES.index("exercise")
    assert np.median(day.accel_g[exercise]) > 5 * np.median(day.accel_g[day.activity == 1])
    assert 0.9 < day.hr_valid.mean() < 1.0  # some PPG dropouts


def test_episodes_are_labelled_with_their_heart_rate(day):
    assert len(day.episodes) == 4
    for episode in day.episodes:
        middle = day.index_at(episode.start_s + episode.duration_s / 2)
        inside = slice(int(day.index_at(episode.start_s + 60)), int(day.index_at(episode.end_s - 5)))
        assert wearer.rhythm_at(day, episode.start_s + episode.duration_s / 2) == wearer.RHYTHMS.index(
            episode.kind
        )
        low, high = {"tachycardia": (115, 185), "bradycardia": (30, 50), "af": (85, 155)}[episode.kind]
        assert low < np.median(day.hr_true_bpm[inside]) < high
        assert wearer.ecg_label_at(day, day.t_s[middle]) == ecg.CLASSES.index(episode.kind)
    assert (day.rhythm != 0).sum() * day.dt_s == pytest.approx(
        sum(e.duration_s for e in day.episodes), abs=60
    )


def test_screening_windows_and_labels(day):
    times = np.arange(300.0, wearer.DAY_S, 60.0)
    x = wearer.screening_windows(day, times)
    assert x.shape == (len(times), *health.SCREENER_INPUT_SHAPE) and x.dtype == np.float32
    labels = wearer.screening_labels(day, times)
    assert set(np.unique(labels)) == {-1, 0, 1}
    first = day.episodes[0]
    assert labels[np.searchsorted(times, first.start_s + 120)] == 1
    assert labels[np.searchsorted(times, first.start_s) - 6] == 0


def test_captured_ecg_matches_the_day(day):
    rng = np.random.default_rng(0)
    episode = day.episodes[0]
    t = episode.start_s + episode.duration_s / 2
    signal, label = wearer.capture_ecg(day, t, rng, return_label=True)
    assert signal.shape == (1250,) and signal.dtype == np.float32
    assert label == ecg.CLASSES.index(episode.kind)


def test_network_sizes():
    from models.measure import count_params

    assert count_params(health.HRScreener()) <= 5000
    assert 50_000 <= count_params(health.ECGVerifier()) <= 100_000
