"""Premature beats in the ECG generator and the wearer: timing, morphology, labels, PPG."""

import numpy as np
import pytest

from models.data import ecg, wearer


def _subject() -> tuple[ecg.Morphology, ecg.EctopicFocus]:
    rng = np.random.default_rng(0)
    m = ecg.random_morphology(rng)
    return ecg.Morphology(**{**m.__dict__, "lead_gain": 1.0, "noise_level": 0.0}), ecg.random_focus(rng)


def _sinus_times():
    return ecg._beat_times("normal", 60.0, -1.2, 20.0, np.random.default_rng(1))


def _beats(ectopy: ecg.Ectopy):
    times, has_p = _sinus_times()
    return ecg._insert_ectopy(times, has_p, ectopy, np.random.default_rng(2))


def test_a_pvc_has_no_p_wave_and_a_fully_compensatory_pause():
    _, focus = _subject()
    times, has_p, kind = _beats(ecg.Ectopy(0.2, 1.0, focus))
    pvcs = np.flatnonzero(kind == ecg.PVC)
    assert pvcs.size >= 2 and not has_p[pvcs].any()
    rr = np.diff(times)
    for i in pvcs:
        before, after = rr[i - 1], rr[i]
        assert before < 0.75 and before + after == pytest.approx(2.0, abs=0.15)  # two sinus RR


def test_a_pac_is_early_with_a_p_wave_and_resets_the_sinus_node():
    _, focus = _subject()
    times, has_p, kind = _beats(ecg.Ectopy(0.2, 0.0, focus))
    pacs = np.flatnonzero(kind == ecg.PAC)
    assert pacs.size >= 2 and has_p[pacs].all()
    rr = np.diff(times)
    for i in pacs:
        assert rr[i - 1] < 0.8 and rr[i - 1] + rr[i] < 1.9  # non-compensatory


def test_bigeminy_alternates_and_couplets_come_in_pairs():
    _, focus = _subject()
    _, _, kind = _beats(ecg.Ectopy(0.0, 1.0, focus, bigeminy=True))
    assert np.array_equal(kind[1:-1:2], np.full(kind[1:-1:2].size, ecg.PVC))
    assert (kind[0:-1:2] == ecg.SINUS).all()
    _, _, kind = _beats(ecg.Ectopy(0.25, 1.0, focus, couplet_share=1.0))
    ectopic = (kind != ecg.SINUS).astype(int)
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], ectopic, [0]]))))[::2]
    assert runs.size >= 1 and (runs == 2).all()


def test_a_pvc_is_wide_and_a_sinus_qrs_is_narrow():
    morph, focus = _subject()
    fs = ecg.FS_HZ

    def widest_complex_s(ectopy):
        signal = ecg.synth_record("normal", 60.0, 20.0, fs, np.random.default_rng(3), morph, ectopy).signal
        above = np.abs(signal) > 0.5 * np.abs(signal).max()
        edges = np.diff(np.concatenate([[0], above.astype(int), [0]]))
        return (np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max() / fs

    assert widest_complex_s(ecg.Ectopy(0.0, 1.0, focus, bigeminy=True)) > 2 * widest_complex_s(None)


def test_labels_follow_rhythm_rate_and_premature_beats():
    assert ecg.record_label("normal", 70.0, 2) == "ectopy"
    assert ecg.record_label("normal", 70.0, 0) == "normal"
    assert ecg.record_label("normal", 120.0, 3) == "tachycardia"
    assert ecg.record_label("normal", 45.0, 3) == "bradycardia"
    assert ecg.record_label("af", 70.0, 3) == "af"
    morph, focus = _subject()
    record = ecg.synth_record(
        "normal",
        70.0,
        10.0,
        ecg.FS_HZ,
        np.random.default_rng(4),
        morph,
        ecg.Ectopy(0.0, 0.0, focus, bigeminy=True),
    )
    assert record.ectopic_beats >= 4


def test_without_ectopy_the_record_is_the_one_of_a_generator_without_it():
    morph, focus = _subject()
    plain = ecg.synth_record("normal", 70.0, 10.0, ecg.FS_HZ, np.random.default_rng(5), morph)
    none = ecg.synth_record(
        "normal", 70.0, 10.0, ecg.FS_HZ, np.random.default_rng(5), morph, ecg.Ectopy(0.0, 0.5, focus)
    )
    assert np.array_equal(plain.signal, none.signal) and plain.ectopic_beats == 0


@pytest.fixture(scope="module")
def ectopic_day():
    day = wearer.random_day(11, n_episodes=2)
    return day, wearer.add_ectopy(day, 0.15, 0.8, np.random.default_rng(1))


def test_ectopy_changes_only_the_watch_readings_and_is_deterministic(ectopic_day):
    day, ectopic = ectopic_day
    again = wearer.add_ectopy(day, 0.15, 0.8, np.random.default_rng(1))
    assert np.array_equal(ectopic.hr_bpm, again.hr_bpm)
    assert np.array_equal(ectopic.rhythm, day.rhythm) and np.array_equal(ectopic.hr_true_bpm, day.hr_true_bpm)
    assert day.ectopy is None and ectopic.ectopy is not None
    assert (ectopic.ectopy_burden[day.rhythm != 0] == 0).all()


def test_ventricular_bigeminy_halves_what_the_ppg_counts(ectopic_day):
    day, ectopic = ectopic_day
    run = (ectopic.ectopy_bigeminy == wearer.BIGEMINY_VENTRICULAR) & day.hr_valid
    assert run.sum() > 10
    ratio = np.median(ectopic.hr_bpm[run] / day.hr_true_bpm[run])
    assert 1 - 0.5 * ectopic.ectopy.pulse_deficit - 0.05 < ratio < 0.9


def test_ecgs_of_an_ectopic_day_show_premature_beats_in_sinus_rhythm_only(ectopic_day):
    _, ectopic = ectopic_day
    rng = np.random.default_rng(2)
    sinus_rest = np.flatnonzero((ectopic.rhythm == 0) & (ectopic.activity == 1))
    labels = [
        wearer.capture_ecg(ectopic, ectopic.t_s[i], rng, return_label=True)[1] for i in sinus_rest[::200]
    ]
    assert ecg.CLASSES.index("ectopy") in labels
    episode = ectopic.episodes[0]
    assert wearer.ectopy_at(ectopic, episode.start_s + 60) is None


@pytest.mark.parametrize(("burden", "share"), [(-0.1, 0.5), (0.6, 0.5), (0.1, 1.5)])
def test_bad_ectopy_parameters_are_refused(burden, share):
    with pytest.raises(ValueError, match="burden must be in"):
        wearer.add_ectopy(
            wearer.random_day(1, n_episodes=0, duration_s=3600.0), burden, share, np.random.default_rng(0)
        )
