"""The speaker's voice gate (param ``voice_gate``): silero-vad from a scratch model store as the
gate of scenarios/smart_home_vad.yaml on a short busy evening, the loudness rule unchanged by
default, bad values and a model missing from the store refused at load with exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.engine import Simulation
from simulator.trace import PowerState

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = ROOT / "scenarios" / "smart_home_vad.yaml"
# A short evening with many words said near the speaker (18:00-19:00).
SHORT = {
    "duration": "60min",
    "events": [],
    "apps.home.params.voice_per_hour": 12.0,
    "apps.home.params.tv_per_hour": 12.0,
    "apps.home.params.noise_per_hour": 12.0,
}


@pytest.fixture(scope="module", autouse=True)
def scratch(tmp_path_factory):
    """A scratch model store (silero-vad is imported into it on first use) and cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOMETWIN_MODEL_STORE", str(tmp_path_factory.mktemp("store")))
        patch.setenv("HOMETWIN_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def evening(gate: str | None = None, seed: int = 4) -> Simulation:
    overrides = dict(SHORT)
    if gate is not None:
        overrides["apps.home.params.voice_gate"] = gate
    return Simulation.from_file(SCENARIO, seed=seed, overrides=overrides).run()


@pytest.fixture(scope="module")
def silero():
    return evening()


def test_silero_gate_imports_into_the_store_and_runs_on_the_speaker(silero):
    import os

    store = Path(os.environ["HOMETWIN_MODEL_STORE"])
    assert (store / "silero-vad" / "fp32.card.json").exists()
    assert (store / "silero-vad" / "dynamic.card.json").exists()
    home = silero.summary()["home"]
    gate = home["voice_gate"]
    assert gate["gate"] == "silero-vad:dynamic"
    assert gate["gate_w"]["voice_gate"] > 0
    # the always-on load is in the speaker's power states from the start
    at_start = [
        r for r in silero.trace.records if type(r) is PowerState and r.device == "speaker" and r.t == 0
    ]
    assert "voice_gate" in at_start[-1].state.split("+")
    loud = evening("loudness").summary()["home"]
    assert home["chains"]["voice"]["inputs"] == loud["chains"]["voice"]["inputs"] > 10
    assert home["chains"]["voice"]["gated"] != loud["chains"]["voice"]["gated"]
    assert loud["voice_gate"]["gate_energy_j_per_day"] == 0
    # the gate's load shows in the speaker's energy: the summary's figure is the device's meter
    metered = silero.summary()["devices"]["speaker"]["energy_j"]
    per_day = gate["speaker_energy_j_per_day"] * silero.duration_s / 86400
    assert abs(per_day - metered) < 1e-3 * metered
    assert gate["speaker_energy_j_per_day"] > loud["voice_gate"]["speaker_energy_j_per_day"]


def test_the_gate_knows_silero_windows_without_importing_onnx():
    from models.importer import vad
    from simulator.apps.smart_home import voice_gate

    assert (voice_gate.CHUNK, voice_gate.CONTEXT) == (vad.CHUNK, vad.CONTEXT)
    code = (
        "import sys; from simulator.scenario import load_scenario; "
        f"load_scenario({str(SCENARIO)!r}); "
        "print(sorted(m for m in ('torch', 'onnxruntime', 'onnx') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_no_gate_listens_to_every_second(silero):
    none = evening("none").summary()["home"]
    voice = none["chains"]["voice"]
    assert voice["gated"] == voice["inputs"]
    assert none["voice_gate"]["keyword_calls_per_day"] > 86000
    assert none["voice_gate"]["gate_w"]["always_listening"] > 0


def test_same_seed_same_trace_with_the_gate(silero):
    again = evening()
    assert again.trace.records == silero.trace.records
    assert evening(seed=5).trace.records != silero.trace.records


def _run(tmp_path, **params) -> subprocess.CompletedProcess:
    text = SCENARIO.read_text()
    for key, value in params.items():
        old = next(line for line in text.splitlines() if line.strip().startswith(f"{key}:"))
        text = text.replace(old, f"{old.split(':')[0]}: {value}")
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "run", str(path), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_model_missing_from_the_store_exits_2_naming_file_field_and_name(tmp_path):
    done = _run(tmp_path, voice_gate='"my-vad:dynamic"')
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    for text in ("gate.yaml", "apps[0].params.voice_gate", "'my-vad'", "models import", "--name my-vad"):
        assert text in done.stderr, (text, done.stderr)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"vad_threshold": 1.5}, "apps[0].params.vad_threshold"),
        ({"voice_gate": 3}, "apps[0].params.voice_gate"),
        ({"voice_gate": '":dynamic"'}, "apps[0].params.voice_gate"),
        ({"voice_gate": "keyword_spotter"}, "apps[0].params.voice_gate"),
    ],
)
def test_bad_gate_params_exit_2_naming_the_field(tmp_path, params, field):
    done = _run(tmp_path, **params)
    assert done.returncode == 2, done.stderr
    assert field in done.stderr and "Traceback" not in done.stderr
