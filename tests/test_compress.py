"""Each compression technique transforms the model, and its card tells the truth about it.

A tiny Conv-BN-ReLU-Linear classifier on synthetic sine data stands in for the zoo, so the
suite needs no trained artifacts; every recipe runs once (module fixture) into a temp folder.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import fx, nn

from models.cards import ModelCard
from models.compress import calibration, distill, early_exit, onnx_layers, prune, qat
from models.compress.common import Splits, fit, predict_logits, torch_accuracy
from models.compress.lab import ModelSource, Workbench, count_params
from models.compress.loaders import load_variant_module
from models.compress.recipes import RECIPES, compress

torch.set_num_threads(1)
INPUT_SHAPE = (1, 64)


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, 16, 5, padding=2, bias=False),
            nn.BatchNorm1d(16),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(16, 24, 5, padding=2, bias=False),
            nn.BatchNorm1d(24),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(24, 32, 3, padding=1, bias=False),
            nn.BatchNorm1d(32),
            nn.ReLU(),
        )
        self.avg, self.max = nn.AvgPool1d(16), nn.MaxPool1d(16)
        self.classifier = nn.Linear(64, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        return self.classifier(torch.cat([self.avg(h), self.max(h)], dim=1).flatten(1))


def sines(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    t = np.linspace(0, 1, INPUT_SHAPE[1])
    freq = np.array([2.0, 4.0, 7.0])[y] * rng.uniform(0.85, 1.15, n)
    x = np.sin(2 * np.pi * freq[:, None] * t + rng.uniform(0, 6, (n, 1))) + rng.normal(0, 0.8, (n, len(t)))
    return x[:, None, :].astype(np.float32), y.astype(np.int64)


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Workbench:
    splits = Splits(*sines(1200, 0), *sines(400, 1), *sines(600, 2))
    source = ModelSource("tiny", "test task", ("low", "mid", "high"), INPUT_SHAPE, Tiny, lambda: splits)
    model = fit(Tiny(), splits.x_train, splits.y_train, epochs=6, lr=3e-3, val=(splits.x_val, splits.y_val))
    return Workbench(source=source, fp32=model, root=tmp_path_factory.mktemp("artifacts"))


@pytest.fixture(scope="module")
def cards(bench):
    """Every recipe once, with small settings (the output is what the tests inspect)."""
    settings = {
        "ptq-minmax": {"calib_size": 128},
        "ptq-entropy": {"calib_size": 128},
        "ptq-hard": {"calib_size": 128},
        "dynamic": {},
        "mixed": {"calib_size": 128, "fp32_budget": 0.5},
        "qat": {"epochs": 1},
        "sparse": {"sparsity": 0.8, "epochs": 2},
        "pruned": {"amount": 0.5, "epochs": 3},
        "distilled": {"width": 0.5, "epochs": 3},
        "early-exit": {"max_loss": 0.01},
    }
    logging.disable(logging.WARNING)
    made = {}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        for recipe, options in settings.items():
            variant, card = compress(bench, recipe, **options)
            made[variant] = card
    logging.disable(logging.NOTSET)
    return made


# ---------------------------------------------------------------- techniques, unit level


def test_structured_pruning_shrinks_every_dependent_layer(bench):
    pruned, plan = prune.structured_prune(bench.fp32, bench.example_input(), 0.5)
    widths = prune.channel_widths(pruned)
    assert widths["features.0"] == 8 and widths["features.4"] == 12 and widths["features.8"] == 16
    # the classifier sees avg and max pooled copies of the last conv's channels
    assert pruned.classifier.in_features == 32
    assert count_params(pruned) < 0.45 * count_params(bench.fp32)
    assert set(plan) == {"features.0", "features.4", "features.8"}
    rebuilt = prune.resize_to_state_dict(Tiny(), pruned.state_dict())
    x = bench.splits.x_test[:50]
    np.testing.assert_allclose(predict_logits(rebuilt, x), predict_logits(pruned, x), atol=1e-5)


def test_structured_pruning_leaves_residual_joins_whole():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv1d(1, 8, 3, padding=1)
            self.b = nn.Conv1d(8, 8, 3, padding=1)
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            h = self.a(x)
            return self.head((h + self.b(h)).mean(-1))

    groups = prune.find_prunable_groups(Residual(), torch.zeros(1, 1, 16))
    assert groups == []  # both convs feed an add: slicing one would break the other


def test_csr_storage_counts_index_bytes_and_round_trips(bench, tmp_path):
    model = Tiny()
    model.load_state_dict(bench.fp32.state_dict())
    prune.apply_masks(model, prune.magnitude_masks(model, 0.8))
    assert prune.weight_sparsity(model) == pytest.approx(0.8, abs=0.01)
    report = prune.save_csr(model, tmp_path / "w.csr")
    assert report.file_bytes == (tmp_path / "w.csr").stat().st_size
    assert report.index_bytes > 0 and report.file_bytes > report.value_bytes + report.index_bytes
    assert report.file_bytes < 0.5 * report.dense_equivalent_bytes
    restored = Tiny()
    restored.load_state_dict(prune.load_csr_state_dict(tmp_path / "w.csr"))
    for key, value in model.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value), key


def test_qat_wraps_and_unwraps_without_renaming(bench):
    wrapped = qat.prepare_qat(bench.fp32)
    assert sum(isinstance(m, qat.FakeQuantLayer) for m in wrapped.modules()) == 4
    plain = qat.strip_qat(wrapped)
    assert plain.state_dict().keys() == bench.fp32.state_dict().keys()
    x = bench.splits.x_test[:100]
    fake = predict_logits(wrapped.eval(), x)
    assert not np.allclose(fake, predict_logits(bench.fp32, x))  # rounding is really applied
    assert (fake.argmax(1) == predict_logits(bench.fp32, x).argmax(1)).mean() > 0.9


def test_thin_student_is_loadable_and_smaller(bench):
    student = distill.thin_student(bench.fp32, bench.example_input(), 0.5)
    assert count_params(student) < 0.4 * count_params(bench.fp32)
    rebuilt = prune.resize_to_state_dict(Tiny(), student.state_dict())
    assert count_params(rebuilt) == count_params(student)


def test_early_exit_split_is_exact_and_threshold_controls_exits(bench):
    traced = fx.symbolic_trace(bench.fp32)
    cut = early_exit.cut_candidates(traced)[4]
    trunk, tail = early_exit.split_at(traced, cut)
    x = torch.from_numpy(bench.splits.x_test[:64])
    with torch.inference_mode():
        assert torch.allclose(tail(trunk(x)), bench.fp32(x), atol=1e-6)
        head = early_exit.ExitHead(trunk(x).shape[1], 3)
        never = early_exit.EarlyExitModel(trunk, tail, head, threshold=1.01)
        assert torch.allclose(never(x), bench.fp32(x), atol=1e-6) and never.last_exit_rate == 0.0
        always = early_exit.EarlyExitModel(trunk, tail, head, threshold=0.0)
        assert torch.allclose(always(x), head(trunk(x))) and always.last_exit_rate == 1.0


def test_contiguous_threshold_rule_ignores_a_lucky_dip():
    # the head is wrong on the third sample and right where the full model is wrong (the fourth):
    # accuracy falls below the bound at 0.7 and comes back at 0.6
    y = np.zeros(4, np.int64)
    full_logits = np.array([[1.0, 0.0]] * 3 + [[0.0, 1.0]], np.float32)
    confidence = np.array([0.9, 0.8, 0.7, 0.6])
    exit_class = np.array([0, 0, 1, 0])
    probs = np.zeros((4, 2))
    probs[np.arange(4), exit_class] = confidence
    probs[np.arange(4), 1 - exit_class] = 1 - confidence
    assert early_exit.choose_threshold(probs, full_logits, y, 0.0)[:2] == (0.6, 1.0)
    assert early_exit.choose_threshold(probs, full_logits, y, 0.0, "contiguous")[:2] == (0.8, 0.5)
    with pytest.raises(ValueError, match="threshold rule"):
        early_exit.choose_threshold(probs, full_logits, y, 0.0, "best")


def test_per_model_options_are_options_of_their_recipes():
    from models.compress.lab import known_models
    from models.compress.recipes import MODEL_OPTIONS

    for model, by_recipe in MODEL_OPTIONS.items():
        assert model in known_models()
        for recipe, options in by_recipe.items():
            assert set(options) <= set(RECIPES[recipe].options), (model, recipe)
            for name, value in options.items():
                choices = RECIPES[recipe].options[name].choices
                assert isinstance(value, RECIPES[recipe].options[name].kind)
                assert choices is None or value in choices


def test_hard_calibration_set_takes_the_least_certain_samples(bench):
    x, y = bench.splits.x_train, bench.splits.y_train
    logits = predict_logits(bench.fp32, x)
    index = calibration.select_calibration("hard", x, y, 100, fp32_logits=logits)
    assert len(index) == 100 and len(set(index)) == 100
    hardest = np.argsort(calibration.margins(logits))[:50]
    assert set(hardest) <= set(index)
    balanced = calibration.select_calibration("balanced", x, y, 99)
    assert np.bincount(y[balanced]).tolist() == [33, 33, 33]
    with pytest.raises(ValueError, match="calibration set"):
        calibration.select_calibration("best", x, y, 10)


# ---------------------------------------------------------------- recipes: artifacts and cards


def test_every_technique_has_a_recipe_and_made_a_variant(bench, cards):
    techniques = {"ptq-minmax", "ptq-entropy", "ptq-percentile", "ptq-hard", "dynamic", "mixed", "qat"}
    assert techniques | {"sparse", "pruned", "distilled", "early-exit"} <= set(RECIPES)
    made = {"ptq-minmax", "ptq-entropy", "ptq-hard", "dynamic", "mixed", "qat", "sparse80", "pruned50"}
    assert made | {"distilled", "early-exit"} <= set(cards)
    assert (bench.artifact_dir / "student.card.json").exists()


def test_cards_count_the_bytes_on_disk(bench, cards):
    for card in cards.values():
        path = bench.artifact_dir / card.artifact
        assert card.bytes == path.stat().st_size, card.variant
        assert (bench.artifact_dir / f"{card.variant}.card.json").exists()
        assert 0.0 <= card.accuracy <= 1.0 and card.latency_ms_b1 > 0 and card.latency_ms_b64 > 0


def test_static_int8_card_reads_int8_layers_from_the_file(bench, cards):
    card = cards["ptq-minmax"]
    assert card.runtime == "onnxruntime" and card.precision == "int8"
    assert set(card.precision_per_layer) == {"features.0", "features.4", "features.8", "classifier"}
    assert set(card.precision_per_layer.values()) == {"int8"}
    graph = onnx.load(str(bench.artifact_dir / card.artifact)).graph
    int8_weights = sum(len(t.raw_data) for t in graph.initializer if t.data_type == onnx.TensorProto.INT8)
    conv_linear_weights = sum(m.weight.numel() for _, m in prune.prunable_layers(bench.fp32))
    assert int8_weights == conv_linear_weights  # one byte per weight, stored as such
    assert abs(card.accuracy - torch_accuracy(bench.fp32, bench.splits.x_test, bench.splits.y_test)) < 0.03
    assert cards["ptq-entropy"].extra["calibration"]["method"] == "entropy"
    # ORT's own entropy defaults reproduce min/max exactly; ours must not
    minmax_bytes = (bench.artifact_dir / "ptq-minmax.onnx").read_bytes()
    assert (bench.artifact_dir / "ptq-entropy.onnx").read_bytes() != minmax_bytes
    assert cards["ptq-entropy"].extra["test_kl_to_fp32"] != card.extra["test_kl_to_fp32"]
    assert cards["ptq-hard"].extra["calibration"]["set"] == "hard"


def test_mixed_card_names_the_layers_kept_in_fp32(cards):
    card = cards["mixed"]
    kept = card.extra["fp32_layers"]
    assert kept, "the sensitivity analysis kept no layer in FP32"
    assert card.precision == "mixed"
    assert all(card.precision_per_layer[layer] == "fp32" for layer in kept)
    assert sum(p == "int8" for p in card.precision_per_layer.values()) >= 2
    assert len(card.extra["sensitivity"]) == 4


def test_dynamic_card_quantizes_only_the_linear_layers(cards):
    layers = cards["dynamic"].precision_per_layer
    assert layers["classifier"] == "int8"
    assert {layers[name] for name in ("features.0", "features.4", "features.8")} == {"fp32"}


def test_sparse_card_reports_measured_sparsity_and_csr_bytes(cards):
    card = cards["sparse80"]
    assert card.sparsity == pytest.approx(0.8, abs=0.01)
    csr = card.extra["csr"]
    assert csr["file_bytes"] == card.bytes and csr["index_bytes"] > 0
    assert card.runtime == "torch-csr"


def test_pruned_card_has_fewer_params_and_macs(bench, cards):
    card = cards["pruned50"]
    assert card.params < 0.45 * count_params(bench.fp32)
    assert card.macs < 0.5 * cards["ptq-minmax"].macs
    assert card.runtime == "onnxruntime" and card.artifact == "pruned50.onnx"
    state = ModelCard(**{**card.to_dict(), "artifact": card.extra["state_dict"], "runtime": "torch-resized"})
    module = load_variant_module(state, bench.root, build=Tiny)
    assert count_params(module) == card.params
    assert torch_accuracy(module, bench.splits.x_test, bench.splits.y_test) == pytest.approx(
        card.accuracy, abs=0.002
    )


def test_distilled_card_records_the_control_student(bench, cards):
    card = cards["distilled"]
    control = card.extra["student_alone_accuracy"]
    assert 0.0 < control <= 1.0
    assert (bench.artifact_dir / "student.card.json").exists()
    assert card.extra["gain_over_alone_points"] == pytest.approx(100 * (card.accuracy - control), abs=1e-3)
    state = ModelCard(**{**card.to_dict(), "artifact": card.extra["state_dict"], "runtime": "torch-resized"})
    assert count_params(load_variant_module(state, bench.root, build=Tiny)) == card.params


def test_early_exit_card_reports_exit_rate_and_expected_macs(bench, cards):
    card = cards["early-exit"]
    extra = card.extra
    assert 0.0 <= extra["exit_rate"] <= 1.0
    expected = extra["exit_rate"] * (extra["macs_trunk"] + extra["macs_head"]) + (1 - extra["exit_rate"]) * (
        extra["macs_full"] + extra["macs_head"]
    )
    assert card.macs == pytest.approx(expected, rel=1e-3)
    assert card.macs < extra["macs_full"]
    module = load_variant_module(card, bench.root, build=Tiny)
    assert torch_accuracy(module, bench.splits.x_test, bench.splits.y_test) == pytest.approx(card.accuracy)


def test_onnx_precisions_follow_layer_order(bench, cards):
    path = bench.artifact_dir / cards["ptq-minmax"].artifact
    names = ["a", "b", "c", "d"]
    assert list(onnx_layers.layer_precisions(path, names)) == names


def test_unknown_recipe_or_option_is_a_clear_error(bench):
    from models.compress.lab import LabError

    with pytest.raises(LabError, match="unknown recipe 'zip'"):
        compress(bench, "zip")
    with pytest.raises(LabError, match="has no option 'sparsity'"):
        compress(bench, "pruned", sparsity=0.5)


def test_unknown_model_is_a_clear_error():
    from models.compress.lab import LabError, open_workbench

    with pytest.raises(LabError, match="unknown model 'toaster'"):
        open_workbench("toaster", Path("/nonexistent"))
