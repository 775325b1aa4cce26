"""Splitting zoo models at layer boundaries: the two halves are the whole, sidecars are current."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from models import partition
from models.cards import ARTIFACTS_DIR, find_card
from models.zoo import ZOO

MODELS = partition.known_models()


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    return {model: partition.load_trained(model) for model in MODELS}


def _inputs(model: str, n: int = 6) -> torch.Tensor:
    # any input: the property holds for every tensor (and needs no data generator here)
    generator = torch.Generator().manual_seed(0)
    return torch.randn(n, *partition.input_shape(model), generator=generator)


def test_there_are_five_zoo_models_with_sidecars():
    assert set(MODELS) >= {"camera_detector", "keyword_spotter", "gesture_imu", "hr_screener", "ecg_verifier"}
    assert set(MODELS) | set(partition.NOT_SPLIT) == set(ZOO)  # every zoo model is one or the other
    for model in MODELS:
        assert partition.sidecar_path(model).exists(), f"run python -m models.partition {model}"


@pytest.mark.parametrize("model", sorted(partition.NOT_SPLIT))
def test_a_model_that_must_stay_on_its_device_is_never_split(model, capsys):
    from simulator.placement import layers

    assert model in ZOO and model not in MODELS
    assert not partition.sidecar_path(model).exists()  # so placement cannot offer a split
    assert model not in layers.models_with_tables()
    with pytest.raises(ValueError, match="not split across devices"):
        partition.load_trained(model)
    with pytest.raises(SystemExit) as exit_info:
        partition.main([model])
    assert exit_info.value.code == 2
    assert "not split across devices" in capsys.readouterr().err  # and nothing was written
    assert not partition.sidecar_path(model).exists()


@pytest.mark.parametrize("model", MODELS)
def test_head_then_tail_equals_the_whole_model_at_every_split(trained, model):
    module = trained[model]
    x = _inputs(model)
    with torch.no_grad():
        whole = module(x)
        n = len(partition.sequential_view(module))
        assert n >= 5
        for k in range(n + 1):
            head, tail = partition.split(module, k)
            h = head(x)
            torch.testing.assert_close(tail(h), whole, rtol=0.0, atol=1e-5)
            if 0 < k < n:  # a real cut: the head stops early, the tail starts from h
                assert h.shape != x.shape or not torch.equal(h, x)


def test_int8_boundary_sends_a_quarter_and_keeps_the_prediction(trained):
    module = trained["camera_detector"]
    x = _inputs("camera_detector", 16)
    head, _ = partition.split(module, 3)
    with torch.no_grad():
        h = head(x)
    restored = partition.quantize_dequantize(h)
    flat = h.flatten(1)
    scale = (flat.max(1).values.clamp(min=0) - flat.min(1).values.clamp(max=0)) / 255.0
    error = (restored - h).abs().flatten(1).max(1).values
    assert bool((error <= scale / 2 + 1e-6).all())  # at most half a step of its own sample's scale
    with torch.no_grad():
        exact = module(x)
        approx = partition.run_split(module, x, 3, boundary="int8")
    assert not torch.equal(exact, approx)  # the boundary really was quantized
    assert (approx - exact).abs().max() < 0.2 * exact.abs().max()
    table = json.loads(partition.sidecar_path("camera_detector").read_text())
    boundary = table["boundaries"][3]
    assert boundary["bytes_int8"] == boundary["bytes_fp32"] // 4 + partition.INT8_HEADER_BYTES


@pytest.mark.parametrize("model", MODELS)
def test_committed_sidecar_matches_the_model(trained, model):
    data = json.loads(partition.sidecar_path(model).read_text())
    stats = partition.layer_stats(trained[model], partition.input_shape(model))
    for key in ("n_layers", "macs_total", "layers", "boundaries", "input_shape"):
        assert data[key] == stats[key], key
    weights = (ARTIFACTS_DIR / model / "fp32.pt").read_bytes()
    assert data["weights_sha1"] == hashlib.sha1(weights).hexdigest()[:12]
    assert data["macs_total"] == find_card(model, "fp32").macs  # the card counts the same MACs
    per_split = data["int8_boundary"]["per_split"]
    assert [r["split"] for r in per_split] == list(range(data["n_layers"]))
    fp32 = data["int8_boundary"]["fp32_accuracy"]
    assert all(abs(r["accuracy"] - fp32) <= 0.01 and r["agreement_with_fp32"] >= 0.99 for r in per_split)


def test_split_index_out_of_range_is_refused(trained):
    with pytest.raises(ValueError, match="between 0 and 9"):
        partition.split(trained["camera_detector"], 10)
    with pytest.raises(ValueError, match="unknown model"):
        partition.input_shape("no_such_model")


def test_boundary_bytes_are_the_real_tensor_sizes(trained):
    data = json.loads(partition.sidecar_path("keyword_spotter").read_text())
    head, _ = partition.split(trained["keyword_spotter"], 2)
    with torch.no_grad():
        h = head(_inputs("keyword_spotter", 1))
    assert data["boundaries"][2]["bytes_fp32"] == h.numpy().astype(np.float32).nbytes
