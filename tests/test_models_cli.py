"""The model-lab CLI (``cli/models.py``): cards as JSON, predictions on user data,
recommendations, and clear errors.

Artifacts are made in a temp folder from a tiny exported model, so the tests do not depend
on the trained zoo; user errors must exit 2 with one sentence and no traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from cli import main as cli_main
from cli import models as cli_models
from cli.core import UserError
from models import quantize
from models.cards import ModelCard
from simulator.recommend import recommend

INPUT_SHAPE = (1, 32)


def _card(variant: str, artifact: str, runtime: str = "onnxruntime", **changes) -> ModelCard:
    fields = dict(
        model="toy",
        variant=variant,
        task="toy task",
        classes=["a", "b"],
        input_shape=list(INPUT_SHAPE),
        precision="fp32",
        params=100,
        macs=1000,
        bytes=400,
        peak_activation_bytes=128,
        accuracy=0.9,
        latency_ms_b1=0.1,
        latency_ms_b64=1.0,
        recipe="test",
        artifact=artifact,
        runtime=runtime,
    )
    fields.update(changes)
    return ModelCard(**fields)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    root = tmp_path_factory.mktemp("artifacts")
    (root / "toy").mkdir()
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 32, 2)).eval()
    logging.disable(logging.WARNING)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        quantize.export_onnx(net, INPUT_SHAPE, root / "toy" / "fp32.onnx")
    logging.disable(logging.NOTSET)
    _card("fp32", "fp32.onnx").save(root / "toy" / "fp32.card.json")
    _card("int8", "fp32.onnx", precision="int8", accuracy=0.895, bytes=120).save(
        root / "toy" / "int8.card.json"
    )
    return root


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli_main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_models_json_lists_every_card_with_the_required_fields(artifacts, capsys):
    code, out, _ = run(["models", "--json", "--artifacts", str(artifacts)], capsys)
    assert code == 0
    cards = json.loads(out)
    assert {(c["model"], c["variant"]) for c in cards} == {("toy", "fp32"), ("toy", "int8")}
    required = {"model", "variant", "params", "macs", "bytes", "accuracy", "latency_ms_b1", "latency_ms_b64"}
    assert all(required | {"precision", "recipe"} <= set(c) for c in cards)


def test_predict_prints_probabilities_for_each_sample(artifacts, tmp_path, capsys):
    data = np.random.default_rng(0).normal(size=(3, *INPUT_SHAPE)).astype(np.float32)
    np.save(tmp_path / "x.npy", data)
    code, out, _ = run(
        [
            "models",
            "predict",
            "toy:fp32",
            "--input",
            str(tmp_path / "x.npy"),
            "--json",
            "--artifacts",
            str(artifacts),
        ],
        capsys,
    )
    assert code == 0
    rows = json.loads(out)["predictions"]
    assert len(rows) == 3
    for row in rows:
        assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    np.save(tmp_path / "one.npy", data[0])  # a single sample without the batch axis
    code, out, _ = run(
        ["models", "predict", "toy", "--input", str(tmp_path / "one.npy"), "--artifacts", str(artifacts)],
        capsys,
    )
    assert code == 0 and "toy:fp32 on 1 sample" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["models", "predict", "toaster", "--input", "x.npy"], "unknown model 'toaster'"),
        (["models", "predict", "toy:int4", "--input", "x.npy"], "has no variant 'int4'"),
        (["models", "predict", "toy", "--input", "missing.npy"], "--input missing.npy does not exist"),
        (["models", "predict", "toy", "--input", "bad.npy"], "--input has shape (3, 2, 32)"),
        (
            ["models", "predict", "toy", "--input", "x.npy", "--fs", "250"],
            "--fs applies to raw-signal models",
        ),
        (["compress", "toy", "--recipe", "zip"], "unknown recipe 'zip'"),
        (
            ["compress", "toy", "--recipe", "pruned", "--sparsity", "0.5"],
            "--sparsity does not apply to recipe 'pruned'",
        ),
        (["compress", "toaster", "--recipe", "pruned"], "unknown model 'toaster'"),
        (["recommend", "toy", "--device", "toaster"], "unknown --device 'toaster'"),
        (["recommend", "toaster", "--device", "phone"], "unknown model 'toaster'"),
        (
            ["recommend", "toy", "--device", "phone", "--max-latency-ms", "-1"],
            "--max-latency-ms must be positive",
        ),
    ],
)
def test_user_errors_exit_2_with_one_clear_sentence(artifacts, tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", np.zeros((2, *INPUT_SHAPE), np.float32))
    np.save(tmp_path / "bad.npy", np.zeros((3, 2, 32), np.float32))
    code, out, err = run([*argv, "--artifacts", str(artifacts)], capsys)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_argparse_errors_also_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(["compress", "toy"])  # --recipe missing
    assert exc.value.code == 2


def test_raw_ecg_is_resampled_and_cut_into_windows():
    fs = 250.0
    seconds = 25.0
    t = np.arange(int(seconds * fs)) / fs
    raw = np.sin(2 * np.pi * 1.2 * t).astype(np.float32)
    batch = cli_models.prepare_input("ecg_verifier", (1, 1250), raw, fs)
    assert batch.shape == (2, 1, 1250)  # two full 10 s windows at 125 Hz, the rest dropped
    expected = np.sin(2 * np.pi * 1.2 * np.arange(1250) / 125.0)
    assert np.abs(batch[0, 0, 50:-50] - expected[50:-50]).max() < 0.02
    with pytest.raises(UserError, match="needs 10 s"):
        cli_models.prepare_input("ecg_verifier", (1, 1250), raw[:1000], fs)


def test_recommend_picks_the_cheapest_feasible_variant_and_says_why():
    cards = [
        _card("fp32", "a", precision="fp32", macs=2_000_000, bytes=90_000, accuracy=0.991),
        _card("int8", "b", precision="int8", macs=2_000_000, bytes=25_000, accuracy=0.990),
        _card("tiny", "c", precision="int8", macs=200_000, bytes=8_000, accuracy=0.95),
        _card("huge", "d", precision="fp32", macs=10**9, bytes=3 * 10**9, accuracy=0.999),
    ]
    result = recommend(cards, "smartwatch", max_latency_s=None, max_accuracy_loss_pts=1.0)
    rows = {r["variant"]: r for r in result["variants"]}
    assert result["choice"] == "int8"
    assert rows["huge"]["feasible"] is False and "does not fit" in rows["huge"]["reason"]
    assert "pts below" in rows["tiny"]["reason"]
    assert "energy" in rows["fp32"]["reason"]
    tight = recommend(
        cards, "smartwatch", max_latency_s=rows["tiny"]["latency_ms"] * 1.01e-3, max_accuracy_loss_pts=1.0
    )
    assert tight["choice"] == "tiny"
    nothing = recommend(cards, "smartwatch", max_latency_s=1e-12, max_accuracy_loss_pts=1.0)
    assert nothing["choice"] is None


def test_recommend_command_prints_the_choice(artifacts, capsys):
    code, out, _ = run(["recommend", "toy", "--device", "phone", "--artifacts", str(artifacts)], capsys)
    assert code == 0
    assert "recommended: toy:int8" in out
