"""The device-lifecycle app on a five-day scenario: drift is detected after it starts and
adaptation beats the unadapted model; faults are detected and healed; the twin migrates and
the new watch serves; costs come from the devices' and links' own records; the summary is a
function of the saved trace; same seed, same trace."""

from __future__ import annotations

import bisect

from conftest import short_sim

from simulator.apps.device_lifecycle import App
from simulator.apps.device_lifecycle.records import (
    LifeAdaptation,
    LifeDrift,
    LifeEvent,
    LifeMigration,
    LifeWindow,
)
from simulator.apps.device_lifecycle.table import table
from simulator.apps.tables import generic_table
from simulator.trace import Inference, Message, ModelDeployed, PowerState, Trace

DAY_S = 86400.0


def metrics(sim) -> dict:
    return sim.summary()["device_lifecycle"]


def test_drift_is_detected_after_the_drift_day_and_adaptation_beats_the_unadapted_model(lifecycle_run):
    m = metrics(lifecycle_run)
    drifts = lifecycle_run.trace.of(LifeDrift)
    assert drifts and drifts[0].t > 1.0 * DAY_S  # never before the wearer's data change
    assert 1.0 < m["drift_detected_day"] < 2.0
    assert m["drift_detection_delay_h"] > 0
    assert m["accuracy_before_drift"] > 0.85
    assert m["accuracy_drift_unadapted"] < m["accuracy_before_drift"] - 0.2  # the drift hurts
    assert m["accuracy_adapted"] > m["accuracy_drift_unadapted"] + 0.2  # adaptation wins it back
    assert m["adaptations_deployed"] >= 1


def test_adaptation_runs_on_the_charger_within_its_memory_budget(lifecycle_run):
    trace = lifecycle_run.trace
    (adaptation, *_) = trace.of(LifeAdaptation)
    assert 0 < adaptation.peak_memory_bytes <= adaptation.memory_budget_bytes
    assert adaptation.trainable_params < 1000  # biases and BatchNorm only
    assert adaptation.val_accuracy_after > adaptation.val_accuracy_before
    assert adaptation.size_after_bytes <= adaptation.size_target_bytes < adaptation.fp32_bytes
    states = [r for r in trace.of(PowerState) if r.device == adaptation.device]
    times = [r.t for r in states]
    training = [r for r in trace.of(Inference) if r.label == "fine-tune"]
    assert training
    for run in training:  # every training step ran while the watch charged
        assert "charging" in states[bisect.bisect_right(times, run.t) - 1].state
    m = metrics(lifecycle_run)["adaptations"][0]
    assert m["energy_j"] == round(
        sum(
            r.energy_j
            for r in trace.of(Inference)
            if r.device == "watch" and adaptation.start_t <= r.t <= adaptation.t
        ),
        4,
    )


def test_every_fault_is_detected_and_healed(lifecycle_run):
    m = metrics(lifecycle_run)
    assert m["faults_injected"] == m["faults_detected"] == m["faults_healed"] == 3
    by_kind = {f["kind"]: f for f in m["faults"]}
    assert by_kind["targeted_flips"]["detected_by"] == "guard"  # the attacker rewrote the checksums
    assert by_kind["corrupt_download"]["detected_by"] == "checksum-at-load"
    assert by_kind["corrupt_download"]["served_damaged"] == 0  # rejected before serving
    for fault in m["faults"]:
        assert fault["detect_delay_s"] > 0 and fault["restore_bytes"] > 0 and fault["restore_energy_j"] > 0
    windows = lifecycle_run.trace.of(LifeWindow)
    assert not windows[-1].damaged


def test_the_twin_migrates_and_the_new_watch_serves(lifecycle_run):
    trace = lifecycle_run.trace
    m = metrics(lifecycle_run)
    (migration,) = trace.of(LifeMigration)
    assert migration.digest_before == migration.digest_after and m["twin_digest_equal"]
    assert m["migration_s"] > 0
    deployed = [r for r in trace.of(ModelDeployed) if r.device == "watch2"]
    # installed by the deploy service on arrival, then checksummed before serving
    assert deployed and migration.start_t < deployed[-1].t <= migration.t
    assert any(r.msg_kind == "deploy" and r.dst == "watch2" for r in trace.of(Message))
    served = [w for w in trace.of(LifeWindow) if w.device == "watch2"]
    assert served and served[0].t > migration.t
    assert not [w for w in trace.of(LifeWindow) if w.device == "watch" and w.t > migration.start_t]
    assert m["accuracy_new_watch"] > m["accuracy_new_watch_generic"] + 0.2  # personalization moved
    events = {e.event for e in trace.of(LifeEvent)}
    assert {"deployed", "drift_detected", "fine_tuned", "recompressed", "redeployed", "fault"} <= events
    assert {"detected", "healed", "migrated", "retired"} <= events


def test_bytes_and_energy_come_from_the_message_records(lifecycle_run):
    trace = lifecycle_run.trace
    m = metrics(lifecycle_run)
    (migration,) = trace.of(LifeMigration)
    moved = [
        r
        for r in trace.of(Message)
        if migration.start_t <= r.t <= migration.t
        and r.msg_kind in ("twin", "deploy")
        and r.status == "delivered"
    ]
    assert m["migration_bytes"] == sum(r.size_bytes for r in moved)
    links = {link.name: link for link in lifecycle_run.links.values()}
    energy = sum(r.size_bytes * 8 * (links[r.link].tx_j_per_bit + links[r.link].rx_j_per_bit) for r in moved)
    assert abs(m["migration_energy_j"] - energy) < 1e-5


def test_summary_is_a_function_of_the_saved_trace(lifecycle_run, tmp_path):
    path = lifecycle_run.trace.save(tmp_path / "trace.jsonl.gz")
    loaded = Trace.load(path)
    (entry,) = loaded.meta["apps"]
    assert App.summarize(loaded, entry, lifecycle_run.duration_s) == metrics(lifecycle_run)


def test_table_shows_the_headline_numbers(lifecycle_run):
    m = metrics(lifecycle_run)
    text = "\n".join(table("device_lifecycle", m))
    for label in ("accuracy before drift", "faults detected", "migration: time to service", "targeted_flips"):
        assert label in text
    assert len(table("device_lifecycle", m)) > len(generic_table("x", {"a": 1}))


def test_same_seed_same_trace(lifecycle_run):
    again = short_sim().run()
    assert list(again.trace) == list(lifecycle_run.trace)
