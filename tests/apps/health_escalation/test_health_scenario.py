"""The health escalation scenario end to end (shortened), determinism and the example."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.apps.health_escalation import Episode, Escalation, health_metrics
from simulator.engine import Simulation
from simulator.trace import Inference, Message, Note, PowerState, Trace

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = ROOT / "scenarios" / "health_escalation.yaml"
# Three episodes in a 5-hour morning, one of them while the phone is out of range.
EPISODES = [
    {"start": "01:00", "duration": "25min", "kind": "bradycardia"},
    {"start": "02:30", "duration": "30min", "kind": "af"},
    {"start": "03:20", "duration": "20min", "kind": "tachycardia"},
]
OUTAGE = [
    {"at": "03:15", "type": "link_down", "link": "watch-phone", "until": "04:10", "reason": "out of range"}
]


@pytest.fixture(scope="module")
def short_run():
    sim = Simulation.from_file(
        SCENARIO, seed=11, overrides={"apps.health_escalation.params.episodes": EPISODES}, extra_events=OUTAGE
    )
    sim.run(until=5 * 3600)
    return sim


def test_cascade_detects_injected_episodes(short_run):
    health = short_run.summary()["health"]
    assert health["episodes"] == 3
    assert health["detected"] >= 2
    assert health["escalations"]["watch_flag"] >= health["escalations"]["phone_confirm"] >= 1
    assert health["escalations"]["doctor_alert"] >= 2
    stages = [
        r.stage for r in short_run.trace.records if type(r) is Escalation and r.stage != "baseline_alert"
    ]
    first = {
        stage: stages.index(stage)
        for stage in ("watch_flag", "ecg_capture", "ecg_sent", "phone_confirm", "doctor_alert")
    }
    assert (
        first["watch_flag"]
        < first["ecg_capture"]
        < first["ecg_sent"]
        < first["phone_confirm"]
        < first["doctor_alert"]
    )


def test_out_of_range_ecg_is_queued_then_delivered(short_run):
    records = short_run.trace.records
    queued = [r for r in records if type(r) is Note and r.kind == "queued"]
    assert queued, "an ECG captured during the outage must be queued"
    ecg_sent_after = [
        r for r in records if type(r) is Message and r.msg_kind == "ecg" and r.t >= 4 * 3600 + 600
    ]
    assert ecg_sent_after and ecg_sent_after[0].t == pytest.approx(4 * 3600 + 600, abs=1.0)


def test_watch_runs_real_model_every_minute(short_run):
    inferences = [r for r in short_run.trace.records if type(r) is Inference and r.device == "watch"]
    assert len(inferences) == pytest.approx(5 * 60 - 5, abs=2)
    assert {r.model for r in inferences} == {"hr_screener"}
    scores = [r.score for r in inferences]
    assert min(scores) < 0.1 and max(scores) > 0.9  # real outputs, not a constant
    phone = [r for r in short_run.trace.records if type(r) is Inference and r.device == "phone"]
    assert phone and all(r.model == "ecg_verifier" and r.n_windows == 3 for r in phone)


def test_metrics_from_saved_trace_match_summary(short_run, tmp_path):
    path = short_run.trace.save(tmp_path / "trace.jsonl.gz")
    loaded = Trace.load(path)
    assert loaded.records == short_run.trace.records
    again = health_metrics(loaded, short_run.now)
    summary = short_run.summary()["health"]
    for key in ("episodes", "detected", "false_alarms", "median_time_to_alert_s"):
        assert again[key] == summary[key]
    assert [r for r in loaded.records if type(r) is Episode]


def test_same_seed_identical_different_seed_differs():
    def run(seed):
        sim = Simulation.from_file(SCENARIO, seed=seed)
        sim.run(until=3 * 3600)
        summary = sim.summary()
        summary.pop("wall_s")
        return summary, sim.trace.records

    a_summary, a_trace = run(4)
    b_summary, b_trace = run(4)
    c_summary, c_trace = run(5)
    assert a_summary == b_summary and a_trace == b_trace
    assert c_trace != a_trace


def test_energy_conservation_in_the_health_scenario(short_run):
    """Battery drop = power integrated over the power-state records + inference bursts."""
    records = short_run.trace.records
    for name in ("watch", "phone"):
        rows = [r for r in records if type(r) is PowerState and r.device == name]
        integrated = sum(a.power_w * (b.t - a.t) for a, b in zip(rows, rows[1:], strict=False))
        integrated += rows[-1].power_w * (short_run.now - rows[-1].t)
        integrated += sum(r.energy_j for r in records if type(r) is Inference and r.device == name)
        device = short_run.devices[name]
        assert device.energy_now_j() == pytest.approx(integrated, rel=1e-9)
    watch = short_run.devices["watch"]
    watch._integrate()
    drop_j = (1.0 - watch.battery.state_of_charge) * watch.battery.capacity_j
    assert drop_j == pytest.approx(watch.energy_j, rel=1e-3)


def test_cli_run_writes_summary_and_trace(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "run",
            str(SCENARIO),
            "--seed",
            "3",
            "--until",
            "2h",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    for key in ("scenario", "seed", "sim_time_s", "wall_s", "events", "devices", "health"):
        assert key in summary
    for key in ("battery_start_pct", "battery_end_pct", "energy_j", "inferences"):
        assert key in summary["devices"]["watch"]
    for key in (
        "episodes",
        "detected",
        "sensitivity",
        "false_alarms",
        "false_alarms_per_day",
        "median_time_to_alert_s",
        "escalations",
        "baseline",
    ):
        assert key in summary["health"]
    assert summary["seed"] == 3 and summary["sim_time_s"] == 7200
    assert Trace.load(out / "trace.jsonl.gz").meta["seed"] == 3
    assert "model cascade" in result.stdout and "HR>120 rule" in result.stdout


def test_bad_model_variant_is_a_clear_error(tmp_path):
    from simulator.validate import SpecError

    with pytest.raises(SpecError, match=r"devices\[0\]\.models\.hr_screener: .*int3"):
        Simulation.from_file(SCENARIO, overrides={"devices.watch.models.hr_screener": "int3"})


def test_example_compares_fp32_and_int8():
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "compare_watch_variants.py"), "--until", "3h"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("watch model")
    assert [line.split()[0] for line in lines[1:]] == ["fp32", "int8"]
    fp32_energy, int8_energy = (float(line.split()[2]) for line in lines[1:])
    assert int8_energy != fp32_energy


def test_health_day_advanced_in_slices_matches_one_run():
    whole = Simulation.from_file(SCENARIO, seed=9)
    whole.run(until=4 * 3600)
    sliced = Simulation.from_file(SCENARIO, seed=9)
    t = 0.0
    while t < 4 * 3600:
        t = min(t + 123.0, 4 * 3600)
        sliced.advance(t, budget_s=0.0005)
        while sliced.env.peek() <= t and not sliced.finished:
            sliced.advance(t, budget_s=0.0005)
    assert sliced.trace.records == whole.trace.records


def test_captures_off_the_plan_are_the_same_ecgs(monkeypatch):
    """The ECGs planned and verified in one batch before the day are exactly the ones the
    watch would record (and the phone verify) on demand."""
    planned = Simulation.from_file(SCENARIO, seed=5)
    planned.run(until=8 * 3600)
    app = planned.apps[0]
    assert app.model_s == 0.0  # nothing left to do in the loop: all captures were planned

    from simulator.apps import health_escalation as health

    original = health.App._prepare_captures

    def plan_nothing(self):
        original(self)
        self._ecgs.clear()
        self._verdicts.clear()

    monkeypatch.setattr(health.App, "_prepare_captures", plan_nothing)
    on_demand = Simulation.from_file(SCENARIO, seed=5)
    on_demand.run(until=8 * 3600)
    assert on_demand.apps[0].model_s > 0.0
    escalations = [r for r in planned.trace if isinstance(r, Escalation)]
    assert len(escalations) > 5
    assert on_demand.trace.records == planned.trace.records
