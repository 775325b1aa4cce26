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


# -- mixed precision: a card is charged what its per-precision split says ----------------


def _expected_mixed_cost(profile, card, batch: int = 1) -> tuple[float, float]:
    """Latency and energy of a mixed card written out from its MAC split, independently of
    ``simulator.compute``: each precision's MACs run on that precision's engine with its share
    of the weights (roofline against memory), the call overhead is paid once."""
    split = card.extra["macs_by_precision"]
    total_macs = sum(split.values())
    latency_s = profile.compute_overhead_s
    energy_j = 0.0
    first_power_w = None
    for precision, macs in split.items():
        engine = profile.engines[precision]
        compute_s = batch * macs / (engine.peak_macs_per_s * engine.utilization)
        weights = card.bytes * macs / total_macs
        memory_s = (weights + 2 * batch * card.peak_activation_bytes) / profile.memory_bandwidth_bytes_per_s
        latency_s += max(compute_s, memory_s)
        energy_j += engine.power_w * max(compute_s, memory_s)
        first_power_w = engine.power_w if first_power_w is None else first_power_w
    return latency_s, energy_j + first_power_w * profile.compute_overhead_s


def test_mixed_card_on_the_watch_costs_its_precision_split():
    from models.cards import find_card
    from simulator.compute import estimate_card

    watch = load_profile("smartwatch")
    card = find_card("hr_screener", "mixed")
    split = card.extra["macs_by_precision"]
    assert card.precision == "mixed" and split["int8"] > 0 and split["fp32"] > 0
    expected_latency_s, expected_energy_j = _expected_mixed_cost(watch, card)
    cost = estimate_card(watch, card)
    assert cost.latency_s == pytest.approx(expected_latency_s, rel=1e-12)
    assert cost.energy_j == pytest.approx(expected_energy_j, rel=1e-12)
    assert cost.precision == "mixed" and cost.fits_memory
    # the old charge (all MACs at fp32) was dearer beyond the fixed call overhead
    all_fp32 = estimate(watch, card.macs, card.bytes, "fp32", card.peak_activation_bytes)
    overhead_s = watch.compute_overhead_s
    assert cost.latency_s - overhead_s < 0.6 * (all_fp32.latency_s - overhead_s)
    assert cost.energy_j < all_fp32.energy_j
    batch = estimate_card(watch, card, batch=8)
    assert batch.latency_s == pytest.approx(_expected_mixed_cost(watch, card, 8)[0], rel=1e-12)


def test_engine_charges_the_mixed_split_on_the_watch():
    from pathlib import Path

    from models.cards import find_card
    from simulator.engine import Simulation
    from simulator.trace import Inference

    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "health_escalation.yaml"
    sim = Simulation.from_file(
        scenario,
        overrides={"duration": "20min", "devices.watch.models": {"hr_screener": "mixed"}},
    )
    sim.run()
    runs = [r for r in sim.trace.records if type(r) is Inference and r.device == "watch"]
    assert len(runs) >= 10 and {(r.model, r.variant, r.n_windows) for r in runs} == {
        ("hr_screener", "mixed", 1)
    }
    latency_s, energy_j = _expected_mixed_cost(load_profile("smartwatch"), find_card("hr_screener", "mixed"))
    for record in runs:
        assert record.energy_j == pytest.approx(energy_j, rel=1e-12)
        assert record.end_t - record.t == pytest.approx(latency_s, rel=1e-9)
