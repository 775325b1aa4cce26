"""Encrypted cloud inference: features, the risk model, CKKS round trip, key-size checks."""

import numpy as np
import pytest

from models import encrypted
from models.data import ecg

pytest.importorskip("tenseal")


def _strips(rhythm, ectopy=None, n=3):
    rng = np.random.default_rng(0)
    morph = ecg.random_morphology(np.random.default_rng(1))
    return np.stack(
        [ecg.synth_record(rhythm, 75.0, 10.0, ecg.FS_HZ, rng, morph, ectopy).signal for _ in range(n)]
    )


def _feature(vector, name):
    return vector[encrypted.FEATURES.index(name)]


def test_features_see_rate_irregularity_and_premature_beats():
    sinus = encrypted.rhythm_features(_strips("normal"), 0.05)
    af = encrypted.rhythm_features(_strips("af"), 0.05)
    focus = ecg.random_focus(np.random.default_rng(2))
    bigeminy = encrypted.rhythm_features(_strips("normal", ecg.Ectopy(0.0, 1.0, focus, bigeminy=True)), 0.05)
    assert sinus.shape == (len(encrypted.FEATURES),)
    assert _feature(sinus, "rate_per_100_bpm") == pytest.approx(0.75, abs=0.08)
    assert _feature(af, "rmssd_rel") > 3 * _feature(sinus, "rmssd_rel")
    assert _feature(bigeminy, "short_long_fraction") > 0.3 > _feature(sinus, "short_long_fraction")
    assert _feature(sinus, "wrist_motion_g") == pytest.approx(0.05)


def test_the_risk_model_is_deterministic_and_learns_a_separable_rule():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(encrypted.FEATURES)))
    y = (x[:, 0] - x[:, 3] > 0).astype(np.int64)
    first, second = encrypted.fit_risk_model(x, y), encrypted.fit_risk_model(x, y)
    assert np.array_equal(first.weights, second.weights) and first.bias == second.bias
    assert encrypted.evaluate_model(first, x, y)["accuracy"] > 0.95


def test_only_the_phone_decrypts_and_the_encrypted_risk_equals_the_plain_one():
    rng = np.random.default_rng(3)
    model = encrypted.RiskModel(rng.normal(size=len(encrypted.FEATURES)), -0.3)
    keys = encrypted.PhoneKeys(8192, 40)
    cloud = encrypted.CloudScorer(keys.public_context, model)
    assert not cloud.context.has_secret_key()
    for features in rng.normal(size=(3, len(encrypted.FEATURES))):
        ciphertext = keys.encrypt(features)
        assert len(ciphertext) > 100 * features.nbytes  # CKKS expansion: a polynomial pair per vector
        answer = cloud.score(ciphertext)
        assert keys.decrypt_risk(answer) == pytest.approx(float(model.risk(features)), abs=1e-4)
        with pytest.raises(ValueError):
            import tenseal as ts

            ts.ckks_vector_from(cloud.context, answer).decrypt()


@pytest.mark.parametrize(
    ("degree", "scale", "field"),
    [
        (4096, 40, "poly_modulus_degree"),
        (12345, 40, "poly_modulus_degree"),
        (8192, 20, "scale_bits"),
        (8192, 41, "scale_bits"),
        (8192, True, "scale_bits"),
    ],
)
def test_a_bad_key_size_names_the_field(degree, scale, field):
    problem = encrypted.check_he_config(degree, scale)
    assert problem is not None and problem.startswith(f"{field}:")
    with pytest.raises(ValueError, match=field):
        encrypted.PhoneKeys(degree, scale)


def test_good_key_sizes_pass_and_frames_pad_up():
    assert encrypted.check_he_config(8192, 40) is None and encrypted.check_he_config(16384, 30) is None
    assert encrypted.framed_bytes(1) == encrypted.framed_bytes(4096) == 4096
    assert encrypted.framed_bytes(4097) == 8192


def test_step_cards_charge_equivalent_macs():
    costs = {
        "poly_modulus_degree": 8192,
        "reference": {"host_ms": 2.0, "macs": 1000},
        "steps": {"encrypt": {"host_ms": 4.0, "equivalent_macs": 2000}},
        "public_context_bytes": 10,
        "ciphertext_bytes": {"max": 5},
    }
    card = encrypted.step_card(costs, "encrypt")
    assert card.macs == 2000 and card.precision == "fp32" and card.privacy_level == "encrypted"
