"""The health app's encrypted cloud risk (cloud_risk: encrypted): CKKS through TenSEAL."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models import encrypted
from simulator.apps.health_escalation import encrypted as he_app
from simulator.apps.health_escalation.records import Escalation, HeRisk
from simulator.engine import Simulation
from simulator.runs import summarize_trace
from simulator.trace import Inference, Message, Trace

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = ROOT / "scenarios" / "health_encrypted.yaml"
UNTIL_S = 3 * 3600  # the first two episodes


def _run(seed=7, until=UNTIL_S, overrides=None):
    sim = Simulation.from_file(SCENARIO, seed=seed, overrides=overrides or {})
    sim.run(until=until)
    return sim


@pytest.fixture(scope="module")
def run():
    return _run()


def test_each_confirm_is_scored_on_ciphertexts_and_decrypted_on_the_phone(run):
    records = run.trace.records
    confirms = [r for r in records if type(r) is Escalation and r.stage == "phone_confirm"]
    steps = [r for r in records if type(r) is HeRisk]
    assert confirms and len([r for r in steps if r.step == "encrypt"]) == len(confirms)
    assert {(r.step, r.device) for r in steps} == {
        ("encrypt", "phone"),
        ("evaluate", "cloud"),
        ("decrypt", "phone"),
    }
    messages = [r for r in records if type(r) is Message and r.msg_kind.startswith("he_")]
    keys = [r for r in messages if r.msg_kind == "he_key"]
    assert len(keys) == 1 and keys[0].src == "phone"
    assert keys[0].size_bytes > 10 * 2**20  # galois + relin keys: megabytes, not a stub
    queries = [r for r in messages if r.msg_kind == "he_query" and r.status == "delivered"]
    answers = [r for r in messages if r.msg_kind == "he_answer" and r.status == "delivered"]
    assert len(queries) == len(answers) == len([r for r in steps if r.step == "decrypt"])
    assert all(r.src == "phone" and r.size_bytes > 100_000 for r in queries)  # vs 88 B plaintext
    assert all(r.src == "cloud" and r.size_bytes % encrypted.FRAME_BYTES == 0 for r in answers)
    # the key goes before the first query, every answer after its query
    assert keys[0].t < queries[0].t and all(a.t > q.t for q, a in zip(queries, answers, strict=True))
    # device cost from the cost model on each device's own clock
    he = [r for r in records if type(r) is Inference and r.model == "he_risk"]
    assert {r.device for r in he} == {"phone", "cloud"}
    assert all(r.end_t > r.t and r.energy_j > 0 for r in he)


def test_decrypted_risk_matches_plaintext_and_summary(run):
    decrypts = [r for r in run.trace.records if type(r) is HeRisk and r.step == "decrypt"]
    assert decrypts
    assert all(r.decrypted == round(r.plain, he_app.RISK_DECIMALS) for r in decrypts)
    assert len({round(r.plain, 3) for r in decrypts}) > 1  # real features, not a constant
    summary = run.summary()["health"]["encrypted_risk"]
    assert summary["queries"] >= summary["answers_decrypted"] == len(decrypts)
    assert summary["answers_within_tolerance"] == len(decrypts)
    assert summary["decisions_agree"] == 1.0
    assert summary["phone_compute_mj"] > 0 and summary["cloud_compute_ms"] > 0
    assert summary["ciphertext_bytes_up"] > summary["ciphertext_bytes_down"] > 0


def test_ckks_is_approximate_and_the_phone_shows_a_broken_answer_raw():
    """Real CKKS: the raw decryption differs from the plaintext model by noise (never exact,
    far under the tolerance); a value beyond the tolerance is recorded as decrypted."""
    model, _, costs = encrypted.load_artifacts()
    keys = encrypted.PhoneKeys(8192, costs["8192"]["scale_bits"])
    scorer = encrypted.CloudScorer(keys.public_context, model)
    rng = np.random.default_rng(3)
    w = model.weights
    x = -model.bias * w / (w @ w) + rng.normal(scale=0.02, size=(5, w.shape[0]))  # risks near 0.5
    errors = [abs(keys.decrypt_risk(scorer.score(keys.encrypt(f))) - float(model.risk(f))) for f in x]
    assert 0 < max(errors) < he_app.HE_TOLERANCE
    assert he_app.decrypted_risk(0.61234, 0.6123) == 0.6123
    assert he_app.decrypted_risk(0.7, 0.6123) == 0.7


def test_option_off_changes_nothing_else(run):
    off = _run(overrides={"apps.health_escalation.params.cloud_risk": "off"})
    assert not [r for r in off.trace.records if type(r) is HeRisk]
    assert "encrypted_risk" not in off.summary()["health"]
    on, plain = run.summary()["health"], off.summary()["health"]
    for key in ("episodes", "detected", "false_alarms", "escalations"):
        assert on[key] == plain[key]


def test_same_seed_identical_trace(run):
    assert _run().trace.records == run.trace.records


def test_saved_trace_summary_equals_live(run, tmp_path):
    live = run.summary()  # reads the end gauges into the trace's meta
    rebuilt = summarize_trace(Trace.load(run.trace.save(tmp_path / "trace.jsonl.gz")))

    def strip(summary):
        return {k: v for k, v in summary.items() if not k.startswith("wall_")}

    assert strip(rebuilt) == strip(live)
    assert strip(rebuilt["health"]) == strip(live["health"])
    assert rebuilt["health"]["encrypted_risk"]["answers_decrypted"] > 0


def test_bad_degree_exits_2_naming_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.read_text().replace("he_poly_degree: 8192", "he_poly_degree: 4096"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "run", str(bad), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "apps[0].params.he_poly_degree" in result.stderr and "8192" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_cli_table_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "run",
            str(SCENARIO),
            "--until",
            "2h",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "encrypted cloud risk:" in result.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["health"]["encrypted_risk"]["key_bytes"] > 0


def test_health_panel_shows_the_encrypted_risk_from_the_trace(qtbot, run):
    from ui.apps.health_escalation.panel import HealthPanel
    from ui.session import Session

    panel = HealthPanel()
    qtbot.addWidget(panel)
    session = Session.from_trace(run.trace)
    session.index.update()  # the window feeds the index as it plays
    panel.set_session(session, "health")
    assert panel.encrypted.isHidden()  # nothing encrypted at t = 0
    panel.refresh(UNTIL_S)
    he = run.summary()["health"]["encrypted_risk"]
    text = panel.encrypted.text()
    assert not panel.encrypted.isHidden()
    assert f"{he['answers_decrypted']}/{he['queries']} decrypted" in text
    assert f"keys {he['key_bytes'] / 1e6:.1f} MB" in text
