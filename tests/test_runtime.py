"""Model runtime and cards: the committed health artifacts load, run and tell the truth."""

import subprocess
import sys

import numpy as np
import pytest

from models import measure, runtime
from models.data import ecg
from models.train import screener_dataset
from models.zoo import ZOO
from models.zoo.health import fuse_for_export

HEALTH = ("hr_screener", "ecg_verifier")


@pytest.fixture(scope="module")
def fresh():
    """Newly generated held-out inputs: other subjects and days than training or the cards."""
    x_ecg, y_ecg, _ = ecg.make_dataset(1200, seed=424242)
    x_scr, y_scr, _, _ = screener_dataset(range(5_000_000, 5_000_040))
    return {"ecg_verifier": (x_ecg, y_ecg), "hr_screener": (x_scr, y_scr)}


@pytest.mark.parametrize("model", HEALTH)
@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_variants_load_and_give_probabilities(model, variant, fresh):
    predictor = runtime.load(model, variant)
    assert predictor is runtime.load(model, variant)  # cached
    assert predictor.card.model == model and predictor.card.variant == variant
    x = fresh[model][0][:300]  # more than one chunk
    proba = predictor.predict_proba(x)
    assert proba.shape == (300, len(predictor.card.classes)) and proba.dtype == np.float32
    assert np.all(proba >= 0) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(("model", "max_ratio"), [("ecg_verifier", 1 / 3), ("hr_screener", 2 / 3)])
def test_int8_artifact_is_smaller(model, max_ratio):
    # the 2.5k-parameter screener's file is mostly graph and scales, so it shrinks less
    fp32, int8 = runtime.load(model, "fp32").card, runtime.load(model, "int8").card
    assert int8.bytes < fp32.bytes * max_ratio
    assert int8.precision == "int8" and set(int8.precision_per_layer.values()) == {"int8"}
    assert fp32.precision == "fp32"


@pytest.mark.parametrize("model", HEALTH)
def test_int8_agrees_with_fp32(model, fresh):
    x = fresh[model][0]
    agree = runtime.load(model, "int8").predict(x) == runtime.load(model, "fp32").predict(x)
    assert agree.mean() >= 0.95


@pytest.mark.parametrize("model", HEALTH)
@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_card_accuracy_holds_on_fresh_data(model, variant, fresh):
    predictor = runtime.load(model, variant)
    accuracy, per_class = measure.accuracy(predictor, *fresh[model])
    assert accuracy == pytest.approx(predictor.card.accuracy, abs=0.03)
    assert set(per_class) == set(predictor.card.classes)


@pytest.mark.parametrize("model", HEALTH)
def test_card_counts_match_the_network(model):
    card = runtime.load(model, "fp32").card
    module = fuse_for_export(runtime.load_torch(model))
    assert card.params == measure.count_params(module)
    assert card.macs == measure.count_macs(module, card.input_shape) > card.params
    assert tuple(card.input_shape) == ZOO[model].input_shape


def test_unknown_model_or_variant_is_explained():
    with pytest.raises(ValueError, match="available models and variants:.*ecg_verifier"):
        runtime.load("ecg_verifyer", "int8")
    with pytest.raises(ValueError, match="available variants:.*fp32.*int8"):
        runtime.load("ecg_verifier", "int4")


def test_wrong_input_shape_is_explained():
    with pytest.raises(ValueError, match=r"expects input \(N, 1, 1250\)"):
        runtime.load("ecg_verifier", "fp32").predict_proba(np.zeros((2, 1250), np.float32))


def test_models_package_does_not_import_qt():
    code = (
        "import sys, models.runtime, models.train, models.measure, models.quantize, models.data.wearer; "
        "assert not [m for m in sys.modules if m.startswith('PySide6')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
