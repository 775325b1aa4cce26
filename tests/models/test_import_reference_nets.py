"""Imported cards of two well-known networks match their published sizes (models.importer.reference).

Both are built by our code and exported once per session with torch's TorchScript exporter,
the old way on purpose: ResNet-18 at opset 11 with its initializers also listed as graph
inputs and a symbolic batch ``N``; MobileNetV2 at opset 13 with a fixed batch of 1. Params
are within 1.5 % (the exporter folds BatchNorm: one bias per channel instead of γ and β);
convolution + Gemm MACs within 1.5 % and all MACs (onnx-tool also counts ReLU, Add, pooling)
within 5 %.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from models.importer.reference import BUILDERS, PUBLISHED


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    from models.importer import import_model

    store = tmp_path_factory.mktemp("store")
    patch = pytest.MonkeyPatch()
    patch.setenv("HOMETWIN_MODEL_STORE", str(store))
    results = {}
    for name, opset, dynamic in (("resnet18", 11, True), ("mobilenet_v2", 13, False)):
        path = tmp_path_factory.mktemp("nets") / f"{name}.onnx"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            torch.onnx.export(
                BUILDERS[name]().eval(),
                (torch.zeros(1, 3, 224, 224),),
                str(path),
                dynamo=False,
                opset_version=opset,
                keep_initializers_as_inputs=name == "resnet18",
                input_names=["data"],
                dynamic_axes={"data": {0: "N"}} if dynamic else None,
            )
        results[name] = import_model(path, name.replace("_", "-"))
    yield results
    patch.undo()


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_card_matches_published_params_and_macs(imported, name):
    card, published = imported[name].card, PUBLISHED[name]
    conv_gemm = card.extra["macs_by_op"]["Conv"] + card.extra["macs_by_op"]["Gemm"]
    assert abs(card.params / published.params - 1) < 0.015
    assert abs(conv_gemm / published.macs - 1) < 0.015
    assert 1.0 <= card.macs / published.macs < 1.05
    assert card.input_shape == [3, 224, 224]
    assert card.bytes > 4 * card.params  # fp32 weights on disk
    assert card.peak_activation_bytes >= 4 * 3 * 224 * 224


def test_old_export_is_cleaned_and_fixed_batch_is_freed(imported):
    assert any("also listed as graph inputs" in note for note in imported["resnet18"].notes)
    for result in imported.values():
        assert result.card.extra["graph"]["batch"] == "dynamic"


def test_every_profile_gets_a_cost_from_the_one_cost_function(imported):
    from simulator.compute import estimate_card
    from simulator.profiles import available_profiles, load_profile

    for result in imported.values():
        costs = {p: estimate_card(load_profile(p), result.card) for p in available_profiles()}
        assert all(c.latency_s > 0 and c.energy_j > 0 for c in costs.values())
        assert not costs["doorbell"].fits_memory  # 1 MB of RAM: neither network fits
        assert costs["cloud"].latency_s < costs["smartwatch"].latency_s
    resnet, mobilenet = (imported[n].card for n in ("resnet18", "mobilenet_v2"))
    phone = load_profile("phone")
    assert estimate_card(phone, resnet).latency_s > estimate_card(phone, mobilenet).latency_s


def test_stored_model_runs_by_name_batched(imported):
    from models import runtime

    x = np.random.default_rng(0).normal(size=(3, 3, 224, 224)).astype(np.float32)
    probs = runtime.load("mobilenet-v2", "fp32").predict_proba(x)
    assert probs.shape == (3, 1000)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-4)
