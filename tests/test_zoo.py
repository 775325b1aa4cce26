"""The camera, speaker and gesture zoo: generators, registry and truthful fp32 artifacts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from models.cards import ARTIFACTS_DIR, ModelCard
from models.data import audio, images, imu
from models.zoo import ZOO, build, fold_batchnorm, get

ROOT = Path(__file__).resolve().parents[1]
OURS = ("camera_detector", "keyword_spotter", "gesture_imu")
needs_espeak = pytest.mark.skipif(
    not audio.espeak_available(), reason="espeak-ng is not installed (Debian: apt-get install espeak-ng)"
)


# ----------------------------------------------------------------------------- registry
def test_zoo_registers_our_models_with_consistent_specs():
    for name in OURS:
        spec = get(name)
        assert spec.name == name and spec.device_kind in ("camera", "speaker", "watch")
        logits = build(name).eval()(torch.zeros(2, *spec.input_shape))
        assert logits.shape == (2, len(spec.classes))
    with pytest.raises(KeyError, match="camera_detector"):
        get("no_such_model")


def test_folding_batchnorm_keeps_the_outputs():
    torch.manual_seed(0)
    model = build("gesture_imu")
    model.train()(torch.randn(64, *imu.INPUT_SHAPE))  # non-trivial running statistics
    model.eval()
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in folded.modules())
    x = torch.randn(8, *imu.INPUT_SHAPE)
    torch.testing.assert_close(folded(x), model(x), rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- generators
@pytest.mark.parametrize("module", [images, imu], ids=["images", "imu"])
def test_generators_are_balanced_shaped_and_deterministic(module):
    x, y = module.make_dataset("train", 28 if module is imu else 24, seed=5)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.shape == (len(y), *module.INPUT_SHAPE) and np.isfinite(x).all()
    assert np.bincount(y, minlength=len(module.CLASSES)).tolist() == [len(y) // len(module.CLASSES)] * len(
        module.CLASSES
    )
    x2, y2 = module.make_dataset("train", len(y), seed=5)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = module.make_dataset("train", len(y), seed=6)
    x4, _ = module.make_dataset("test", len(y), seed=5)
    assert not np.array_equal(x, x3) and not np.array_equal(x, x4)


def test_images_are_valid_frames_that_differ_by_class():
    x, y = images.make_dataset("val", 40, seed=1)
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert x.std(axis=(1, 2, 3)).min() > 0.005  # never a blank frame


def test_imu_users_differ_and_test_users_are_held_out():
    train, test = imu.users("train"), imu.users("test")
    assert len(train) == imu.USERS_PER_SPLIT["train"] and len(test) == imu.USERS_PER_SPLIT["test"]
    assert {u.user_id for u in train}.isdisjoint({u.user_id for u in test})
    train_biases = {tuple(np.round(u.accel_bias_g, 9)) for u in train}
    assert not train_biases & {tuple(np.round(u.accel_bias_g, 9)) for u in test}
    assert len({round(u.tempo, 9) for u in train}) == len(train)


def test_imu_generate_is_per_user_and_can_be_non_iid():
    rng = np.random.default_rng(0)
    user = imu.make_user(rng, "alice")
    x, y = imu.generate(user, 14, np.random.default_rng(1))
    assert x.shape == (14, *imu.INPUT_SHAPE) and np.bincount(y).tolist() == [2] * 7
    _, skewed = imu.generate(user, 400, np.random.default_rng(2), balanced=False)
    frequencies = np.bincount(skewed, minlength=7) / len(skewed)
    assert np.abs(frequencies - user.activity_mix).max() < 0.08  # follows the wearer's habits
    # still windows read about 1 g; physical units survive user variation
    still = x[y == imu.CLASSES.index("still")]
    assert np.all(np.abs(np.linalg.norm(still[:, :3].mean(axis=2), axis=1) - 1.0) < 0.25)


def test_audio_voices_of_the_test_split_are_never_heard_in_training():
    assert set(audio.TRAIN_VARIANTS).isdisjoint(audio.TEST_VARIANTS)
    assert set(audio.voices("train")).isdisjoint(audio.voices("test"))
    assert audio.voices("train") == audio.voices("val")


def test_log_mel_features_have_the_model_input_shape():
    rng = np.random.default_rng(0)
    tone = np.sin(2 * np.pi * 1000 * np.arange(audio.SAMPLE_RATE) / audio.SAMPLE_RATE).astype(np.float32)
    feats = audio.features(np.stack([tone, 0.01 * rng.normal(size=audio.SAMPLE_RATE).astype(np.float32)]))
    assert feats.shape == (2, *audio.INPUT_SHAPE) and feats.dtype == np.float32
    band = int(np.argmax(feats[0, 0].mean(axis=1)))
    centres = audio._mel_to_hz(np.linspace(audio._hz_to_mel(20), audio._hz_to_mel(8000), audio.N_MELS + 2))[
        1:-1
    ]
    assert abs(centres[band] - 1000) < 150  # a 1 kHz tone lands in the 1 kHz mel band


@needs_espeak
def test_audio_clips_are_balanced_deterministic_and_uncached_equals_cached(tmp_path):
    words = audio.synthesize(audio.Utterance("yes", "en-us+m3", 160, 50))
    assert 0.1 * audio.SAMPLE_RATE < len(words) < audio.SAMPLE_RATE and np.abs(words).max() == 1.0
    fresh = audio.ClipBank("test", cache_dir=None)
    x, y = audio.make_audio("test", 14, seed=3, bank=fresh)
    assert x.shape == (14, audio.SAMPLE_RATE) and np.bincount(y).tolist() == [2] * 7
    cached = audio.ClipBank("test", cache_dir=tmp_path)
    cached.fill(list(_utterances(fresh)))
    cached.save()
    x2, y2 = audio.make_audio("test", 14, seed=3, bank=audio.ClipBank("test", cache_dir=tmp_path))
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    silence = x[y == audio.CLASSES.index("silence")]
    keyword = x[y == audio.CLASSES.index("yes")]
    assert silence.shape[0] == 2 and keyword.shape[0] == 2


def _utterances(bank):
    for key in bank.clips:
        text, voice, speed, pitch = key.split("|")
        yield audio.Utterance(text, voice, int(speed), int(pitch))


# ----------------------------------------------------------------------------- training
def test_training_is_deterministic():
    from models.train_zoo import Recipe, fit

    recipe = Recipe(n_train=140, n_val=70, n_test=70, epochs=2)
    quiet = lambda *_: None  # noqa: E731
    first, _ = fit(get("gesture_imu"), recipe, log=quiet)
    second, _ = fit(get("gesture_imu"), recipe, log=quiet)
    for key, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[key]), key


# ----------------------------------------------------------------------------- artifacts
@pytest.mark.parametrize("name", OURS)
def test_artifact_loads_and_its_card_is_truthful(name):
    from models import runtime

    if name == "keyword_spotter" and not audio.espeak_available():
        pytest.skip(
            "espeak-ng is not installed (Debian: apt-get install espeak-ng): no fresh audio to test on"
        )
    card = ModelCard.load(ARTIFACTS_DIR / name / "fp32.card.json")
    spec = ZOO[name]
    assert card.classes == list(spec.classes) and card.input_shape == list(spec.input_shape)
    assert card.params > 0 and card.macs > 0 and card.bytes > 0 and 0.8 < card.accuracy < 0.99
    state = torch.load(ARTIFACTS_DIR / name / "fp32.pt", weights_only=True)
    spec.build().load_state_dict(state)  # the compression lab rebuilds from the zoo
    predictor = runtime.load(name, "fp32")
    x, y = spec.make_dataset("test", 280, 1234)  # fresh held-out samples, not the card's
    accuracy = float((predictor.predict(x) == y).mean())
    assert abs(accuracy - card.accuracy) < 0.07, (accuracy, card.accuracy)


def test_zoo_modules_import_no_qt():
    code = (
        "import sys, models.zoo, models.train_zoo, models.data.images, models.data.audio, models.data.imu; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]; "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120).returncode == 0


def test_every_card_says_truthfully_which_devices_it_fits():
    from models.cards import list_cards
    from simulator.recommend import devices_that_fit

    cards = list_cards()
    assert len(cards) >= 5 * 13
    for card in cards:
        assert card.devices_fit, f"{card.model}:{card.variant} lists no device"
        assert card.devices_fit == devices_that_fit(card), f"{card.model}:{card.variant}"
