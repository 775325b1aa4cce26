import pytest

from simulator.compute import estimate
from simulator.profiles import load_profile


def test_latency_scales_with_macs_and_precision():
    watch = load_profile("smartwatch")
    small = estimate(watch, macs=1e6, weight_bytes=1e4, precision="fp32")
    big = estimate(watch, macs=1e8, weight_bytes=1e4, precision="fp32")
    int8 = estimate(watch, macs=1e8, weight_bytes=1e4, precision="int8")
    engine = watch.engines["fp32"]
    expected = watch.compute_overhead_s + 1e8 / (engine.peak_macs_per_s * engine.utilization)
    assert big.latency_s == pytest.approx(expected)
    assert big.latency_s > 50 * small.latency_s
    assert int8.latency_s < big.latency_s / 2
    assert big.energy_j == pytest.approx(engine.power_w * big.latency_s)
    assert big.bound == "compute"


def test_memory_bound_and_memory_fit():
    watch = load_profile("smartwatch")
    heavy_weights = estimate(watch, macs=1e3, weight_bytes=5e7, precision="fp32")
    assert heavy_weights.bound == "memory"
    assert heavy_weights.latency_s == pytest.approx(
        watch.compute_overhead_s + 5e7 / watch.memory_bandwidth_bytes_per_s
    )
    assert heavy_weights.fits_memory
    too_big = estimate(watch, macs=1e3, weight_bytes=2e8, precision="fp32")
    assert not too_big.fits_memory
    assert estimate(load_profile("cloud"), macs=1e3, weight_bytes=2e8, precision="fp32").fits_memory


def test_missing_engine_falls_back_to_wider_precision():
    watch = load_profile("smartwatch")  # no fp16 engine
    fp16 = estimate(watch, macs=1e7, weight_bytes=0, precision="fp16")
    assert fp16.engine_precision == "fp32"


def test_bad_arguments_raise():
    watch = load_profile("smartwatch")
    with pytest.raises(ValueError, match="precision"):
        estimate(watch, 1, 1, "int4")
    with pytest.raises(ValueError):
        estimate(watch, -1, 1, "fp32")
