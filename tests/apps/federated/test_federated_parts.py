"""The federated app's pure parts, without the engine: strategies, compression, secure
aggregation with dropouts, Paillier packing, DP accounting, the wearers' data and days."""

from collections import Counter

import numpy as np
import pytest

from simulator.apps.federated.partition import N_CLASSES, PartitionSpec, client_data
from simulator.federated import compression, dp, secagg, strategies
from simulator.federated.routine import RoutineSpec, clock_hour, routine


def _updates(rng, count=7, size=257):
    return [
        strategies.Update(rng.normal(0, 0.1, size).astype(np.float32), int(rng.integers(5, 200)))
        for _ in range(count)
    ]


def test_fedavg_aggregate_is_the_plain_weighted_mean():
    rng = np.random.default_rng(0)
    weights = rng.normal(0, 1, 257).astype(np.float32)
    updates = _updates(rng)
    new = strategies.FedAvg().aggregate(weights, updates)
    counts = np.array([u.num_examples for u in updates], float)
    trained = np.stack([weights.astype(np.float64) + u.delta for u in updates])
    plain = (counts[:, None] * trained).sum(axis=0) / counts.sum()
    assert np.max(np.abs(new - plain)) < 1e-6
    # FedProx aggregates as FedAvg does; its proximal term lives in local training.
    prox = strategies.make_strategy("fedprox", prox_mu=0.1)
    assert np.array_equal(prox.aggregate(weights, updates), new)
    assert prox.client_config() == {"prox_mu": 0.1}


def test_stale_updates_shrink_the_step_and_uniform_weights_ignore_counts():
    rng = np.random.default_rng(1)
    weights = np.zeros(10, np.float32)
    delta = np.ones(10, np.float32)
    fresh = strategies.FedAvg().aggregate(weights, [strategies.Update(delta, 10, 0)])
    stale = strategies.FedAvg(staleness_exponent=0.5).aggregate(weights, [strategies.Update(delta, 10, 3)])
    assert np.allclose(fresh, 1.0) and np.allclose(stale, 0.5)  # (1 + 3) ** -0.5
    updates = _updates(rng, count=3, size=10)
    uniform = strategies.FedAvg(uniform_weights=True).aggregate(weights, updates)
    assert np.allclose(uniform, np.mean([u.delta for u in updates], axis=0), atol=1e-7)


def test_fedavgm_keeps_the_direction_rounds_share():
    """Server momentum: v ← β v + Δ, w ← w + η v (Hsu et al. 2019)."""
    momentum = strategies.make_strategy("fedavgm", server_lr=0.5, momentum=0.9)
    weights = np.zeros(3, np.float32)
    deltas = [np.array([1.0, -1.0, 0.0], np.float32), np.array([1.0, 1.0, 0.0], np.float32)]
    velocity = np.zeros(3)
    for delta in deltas:
        weights = momentum.aggregate(weights, [strategies.Update(delta, 10)])
        velocity = 0.9 * velocity + delta
    assert np.allclose(weights, 0.5 * (deltas[0] + 0.9 * deltas[0] + deltas[1]))
    assert np.allclose(momentum.velocity, velocity)
    # the shared direction (first coordinate) has grown, the opposed one (second) faded
    assert weights[0] > 2 * abs(weights[1])


def test_fedadam_is_adam_on_the_mean_delta():
    rng = np.random.default_rng(2)
    weights = rng.normal(0, 1, 50).astype(np.float32)
    updates = _updates(rng, size=50)
    adam = strategies.make_strategy("fedadam", server_lr=0.01, beta1=0.9, beta2=0.99, tau=1e-3)
    new = adam.aggregate(weights, updates)
    mean = strategies.FedAvg().mean_delta(updates)
    m = 0.1 * mean
    v = 0.99 * 1e-6 + 0.01 * mean**2
    assert np.allclose(new, weights + 0.01 * m / (np.sqrt(v) + 1e-3), atol=1e-6)
    with pytest.raises(ValueError, match="unknown strategy"):
        strategies.make_strategy("fedsgd")


def test_int8_updates_are_a_quarter_of_the_bytes_and_round_to_half_a_step():
    rng = np.random.default_rng(3)
    sizes = [100, 30, 7]
    delta = rng.normal(0, 0.05, sum(sizes)).astype(np.float32)
    blob8, blob32 = compression.encode_int8(delta, sizes), compression.encode_float32(delta)
    assert len(blob8) == 12 + 4 * len(sizes) + delta.size and len(blob32) == 12 + 4 * delta.size
    decoded = compression.decode_int8(blob8, sizes)
    bounds = np.cumsum([0, *sizes])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        step = np.abs(delta[lo:hi]).max() / 127
        assert np.max(np.abs(decoded[lo:hi] - delta[lo:hi])) <= step / 2 + 1e-7
    assert np.array_equal(compression.decode_float32(blob32), delta)


@pytest.mark.parametrize("bits", [1, 7, 16, 19, 26, 33])
def test_bit_packing_round_trips(bits):
    rng = np.random.default_rng(bits)
    values = rng.integers(0, 2**bits, 1001, dtype=np.uint64)
    blob = compression.pack_bits(values, bits)
    assert len(blob) == -(-1001 * bits // 8)
    assert np.array_equal(compression.unpack_bits(blob, 1001, bits), values)


@pytest.mark.parametrize("drop_fraction", [0.1, 0.3])
def test_secure_aggregation_sum_equals_plain_sum_when_clients_drop_mid_round(drop_fraction):
    """Clients drop after the key and share exchange, before their masked input: the
    server rebuilds their masks from the survivors' Shamir shares, and sees only the sum."""
    rng = np.random.default_rng(4)
    count, size, bits, clip = 20, 3000, 16, 1.0
    ring = secagg.ring_bits_for(bits, count)
    clients = {i: secagg.SecAggClient(i, np.random.default_rng([5, i])) for i in range(1, count + 1)}
    server = secagg.SecAggServer(threshold=count // 2 + 1, ring_bits=ring)
    keys = server.collect_keys({i: c.advertise() for i, c in clients.items()})
    incoming = server.route_shares({i: c.share_keys(keys, server.threshold) for i, c in clients.items()})
    for i, client in clients.items():
        client.receive_shares(incoming[i])
    deltas = {i: rng.normal(0, 0.02, size) for i in clients}
    dropped = set(rng.choice(sorted(clients), int(drop_fraction * count), replace=False).tolist())
    survivors = sorted(set(clients) - dropped)
    masked = {}
    for i in survivors:
        values = compression.quantize_fixed(deltas[i], clip, bits)
        masked[i] = clients[i].masked_input(values.astype(np.uint32), ring)
        assert not np.array_equal(masked[i], values)  # the server never sees a plain input
    shares = {i: clients[i].unmask_shares(survivors, dropped) for i in survivors}
    total = server.unmask(masked, shares)
    plain = sum(compression.quantize_fixed(deltas[i], clip, bits).astype(np.int64) for i in survivors)
    assert np.array_equal(total.astype(np.int64), plain)
    secure_sum = compression.dequantize_sum(total, len(survivors), clip, bits)
    float_sum = np.sum([deltas[i] for i in survivors], axis=0)
    bound = len(survivors) * compression.fixed_step(clip, bits) / 2
    assert np.max(np.abs(secure_sum - float_sum)) <= bound + 1e-9
    assert server.ops["ecdh"] == len(dropped) * len(survivors)


def test_secure_aggregation_needs_the_threshold_of_survivors():
    clients = {i: secagg.SecAggClient(i, np.random.default_rng([6, i])) for i in range(1, 6)}
    server = secagg.SecAggServer(threshold=4, ring_bits=20)
    keys = server.collect_keys({i: c.advertise() for i, c in clients.items()})
    incoming = server.route_shares({i: c.share_keys(keys, 4) for i, c in clients.items()})
    for i, client in clients.items():
        client.receive_shares(incoming[i])
    survivors = [1, 2, 3]
    masked = {i: clients[i].masked_input(np.zeros(8, np.uint32), 20) for i in survivors}
    shares = {i: clients[i].unmask_shares(survivors, [4, 5]) for i in survivors}
    with pytest.raises(secagg.SecAggError, match="threshold"):
        server.unmask(masked, shares)


def test_paillier_sum_of_packed_values_is_exact():
    from simulator.federated.paillier import PaillierAggregation

    agg = PaillierAggregation(key_bits=1024, value_bits=16, max_clients=4)
    rng = np.random.default_rng(7)
    values = [rng.integers(0, 2**16, 300).astype(np.uint64) for _ in range(4)]
    ops: Counter = Counter()
    total = None
    for v in values:
        total = agg.add(total, agg.encrypt(v, ops), ops)
    assert np.array_equal(agg.decrypt_sum(total, 300, ops), np.sum(values, axis=0))
    per_client = agg.ciphertexts_for(300)
    assert ops == Counter(
        paillier_encrypt=4 * per_client, paillier_add=3 * per_client, paillier_decrypt=per_client
    )
    assert agg.slots == 1023 // 19 and len(agg.serialized(total)) == per_client * 256


def test_dp_noise_multiplier_spends_the_target_epsilon():
    sigma = dp.noise_multiplier_for(epsilon=4.0, delta=1e-5, sample_rate=0.2, rounds=20)
    ledger = dp.PrivacyLedger(1e-5)
    for _ in range(20):
        epsilon = ledger.step(sigma, 0.2)
    assert 3.9 < epsilon <= 4.0 + 1e-6
    assert dp.noise_multiplier_for(1.0, 1e-5, 0.2, 20) > sigma > dp.noise_multiplier_for(8.0, 1e-5, 0.2, 20)
    clipped, norm = dp.clip(np.full(100, 1.0, np.float32), 2.0)
    assert norm == pytest.approx(10.0) and np.linalg.norm(clipped) == pytest.approx(2.0)
    assert dp.effective_noise_multiplier(1.0, 10, 7) == pytest.approx((10 / 7) ** 0.5)


def test_client_data_is_non_iid_and_held_out_wearers_never_train():
    data = client_data(PartitionSpec(n_clients=12, seed=11, samples_median=40, label_skew_alpha=0.3))
    assert data.sizes.min() >= 8 and len(set(data.sizes.tolist())) > 3
    top_share = [np.bincount(data.labels(c), minlength=N_CLASSES).max() / data.sizes[c] for c in range(12)]
    assert np.median(top_share) > 0.4  # label skew: one gesture dominates most wearers
    x, y = data.client(3)
    assert x.shape == (data.sizes[3], 6, 100) and x.dtype == np.float32 and np.array_equal(y, data.labels(3))
    again = client_data(PartitionSpec(n_clients=12, seed=11, samples_median=40, label_skew_alpha=0.3))
    assert again.client(3)[0] is x  # generated once per run seed
    xh, yh = data.heldout
    assert np.bincount(yh).tolist() == [yh.size // N_CLASSES] * N_CLASSES
    assert {u.user_id for u in data.users}.isdisjoint({f"test-{i:03d}" for i in range(20)})


def test_routine_charges_overnight_and_goes_out_by_day():
    changes = routine(30, 86400.0, RoutineSpec(), np.random.default_rng(0))
    starts = [clock_hour(c.t, 18 * 3600) for c in changes if c.action == "charge_start"]
    stops = [clock_hour(c.t, 18 * 3600) for c in changes if c.action == "charge_stop"]
    assert len(starts) == 30 and all(h >= 19 or h < 3 for h in starts)
    assert len(stops) == 30 and all(3 <= h <= 11.5 for h in stops)
    leaves = [c for c in changes if c.action == "leave"]
    assert 10 <= len(leaves) <= 30 and [c.t for c in changes] == sorted(c.t for c in changes)
