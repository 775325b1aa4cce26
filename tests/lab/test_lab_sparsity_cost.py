"""Dynamic sparsity: exact zero-operand MAC counts, and the charge only on zero-skipping engines."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from models.cards import find_card
from models.compress.dynamic_sparsity import measure
from simulator.compute import estimate, estimate_card
from simulator.profiles import load_profile, profile_from_dict
from simulator.validate import SpecError, read_yaml


def _brute_force_conv_macs(x: np.ndarray, layer: nn.Conv1d) -> tuple[int, int]:
    """Dense and non-zero-input MACs of a Conv1d by walking every output and kernel tap."""
    (k,), (stride,), (pad,), (dil,) = layer.kernel_size, layer.stride, layer.padding, layer.dilation
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad)))
    n, c_in, length = padded.shape
    out_len = (length - dil * (k - 1) - 1) // stride + 1
    dense = nonzero = 0
    for b, _out, t in itertools.product(range(n), range(layer.out_channels), range(out_len)):
        for c, j in itertools.product(range(c_in), range(k)):
            dense += 1
            nonzero += padded[b, c, t * stride + j * dil] != 0
    return dense, nonzero


def test_conv_and_linear_counts_match_brute_force():
    torch.manual_seed(0)
    conv = nn.Conv1d(3, 4, kernel_size=3, stride=2, padding=1)
    model = nn.Sequential(nn.ReLU(), conv, nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5, 2))
    x = np.random.default_rng(1).normal(size=(6, 3, 10)).astype(np.float32)
    result = measure(model, x)
    relu_x = np.maximum(x, 0)
    dense, nonzero = _brute_force_conv_macs(relu_x, conv)
    assert result.per_layer["1"] == pytest.approx(1 - nonzero / dense)
    with torch.inference_mode():
        hidden = torch.relu(conv(torch.from_numpy(relu_x))).flatten(1).numpy()
    linear_zero = float((hidden == 0).mean())
    assert result.per_layer["4"] == pytest.approx(linear_zero)
    total_dense = dense + hidden.size * 2
    total_nonzero = nonzero + (hidden != 0).sum() * 2
    assert result.macs_skippable == pytest.approx(1 - total_nonzero / total_dense)
    assert result.per_layer_macs == {"1": dense // 6, "4": 40}


def test_zoo_card_carries_its_measurement():
    card = find_card("hr_screener", "fp32")
    measured = card.extra["dynamic_sparsity"]
    assert 0.2 < measured["macs_skippable"] < 0.6  # ReLU networks: a good share of zeros
    assert set(measured["per_layer"]) == {"features.0.0", "features.1.0", "features.2.0", "classifier"}


def test_charge_only_where_the_engine_skips_zeros():
    skipping, plain = load_profile("phone_exynos"), load_profile("phone")
    fraction = skipping.engines["int8"].zero_skipping_fraction
    assert fraction > 0 and "zero_skipping" in str(skipping.sources)
    assert all(e.zero_skipping_fraction == 0 for e in plain.engines.values())
    macs = 5e9  # compute-bound on both: the overhead and memory terms are small beside it
    dense = estimate(skipping, macs, 1e5, "int8")
    charged = estimate(skipping, macs, 1e5, "int8", macs_skippable=0.4)
    compute_dense = dense.latency_s - skipping.compute_overhead_s
    compute_charged = charged.latency_s - skipping.compute_overhead_s
    assert compute_charged == pytest.approx(compute_dense * (1 - fraction * 0.4))
    assert estimate(plain, macs, 1e5, "int8", macs_skippable=0.4) == estimate(plain, macs, 1e5, "int8")
    assert estimate(skipping, macs, 1e5, "fp32", macs_skippable=0.4) == estimate(skipping, macs, 1e5, "fp32")


def test_estimate_card_reads_the_card():
    card = find_card("camera_detector", "ptq-minmax")
    profile = load_profile("phone_exynos")
    without = replace(card, extra={k: v for k, v in card.extra.items() if k != "dynamic_sparsity"})
    assert estimate_card(profile, card).latency_s < estimate_card(profile, without).latency_s
    assert estimate_card(load_profile("phone"), card) == estimate_card(load_profile("phone"), without)


def test_bad_zero_skipping_field_names_the_path():
    data = read_yaml(load_profile("phone_exynos").path)
    data["compute"]["engines"]["int8"]["zero_skipping"]["fraction_saved"] = 1.5
    with pytest.raises(SpecError, match=r"compute\.engines\.int8\.zero_skipping\.fraction_saved"):
        profile_from_dict(data, "my_phone.yaml")
