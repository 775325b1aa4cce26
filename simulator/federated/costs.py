"""Device time and energy of the privacy layers' cryptography, from counted operations.

The protocols count what each party does (``ops``: key agreements, AEAD messages, PRG
bytes, Shamir field multiplications, Paillier encryptions, decryptions, additions). Each
operation's host time was measured once on this machine (``python bench/federated.py
--calibrate`` writes ``crypto_costs.yaml``, with the date and the host's own float32
GEMM rate), so a run's device times are a deterministic function of its op counts: the
same seed gives the same trace, which host timing inside the run would not.

Host → device: the arithmetic runs on the device's CPU, so a host second is scaled by
``host float32 GEMM MAC/s (one thread, measured) ÷ the profile's fp32 peak MAC/s``: the
only CPU throughput the profiles carry, and both sides near peak (a 512³ GEMM reaches it;
measured 92 G MAC/s here with AVX-512). That makes the watch 8.2× slower than this host,
the phone 0.83× and the hub 3.8×. Crypto is
single-threaded big-integer work while the profiles' peaks count every core (watch 2,
phone 2 performance cores, hub 4), so read device crypto times as lower bounds, good to
±2×. A ``cloud`` server is a server-class CPU like the host: ratio 1, and its energy is its
active − idle power. Elsewhere the energy is the device time × the fp32 engine's power.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from simulator.profiles import DeviceProfile
from simulator.validate import read_yaml

COSTS_FILE = Path(__file__).resolve().parent / "crypto_costs.yaml"
OPS = (
    "keygen",
    "ecdh",
    "aead",
    "prg_bytes",
    "shamir_mult",
    "paillier_keygen",
    "paillier_encrypt",
    "paillier_decrypt",
    "paillier_add",
)


@cache
def host_costs() -> dict[str, Any]:
    """The calibrated host seconds per operation (``crypto_costs.yaml``)."""
    return read_yaml(COSTS_FILE)


def host_seconds(ops: Counter, key_bits: int = 2048) -> float:
    """Host seconds for the counted ``ops`` (Paillier ops at ``key_bits``)."""
    costs = host_costs()
    per_op = costs["seconds_per_op"]
    paillier = costs["paillier_seconds_per_op"][int(key_bits)]
    total = 0.0
    for op, count in ops.items():
        if not count:
            continue
        cost = paillier[op.removeprefix("paillier_")] if op.startswith("paillier_") else per_op[op]
        total += count * cost
    return total


def device_ratio(profile: DeviceProfile) -> float:
    """Device seconds per host second for CPU-bound crypto on ``profile``."""
    if profile.kind == "cloud":
        return 1.0
    return host_costs()["host_gemm_macs_per_s"] / profile.engines["fp32"].peak_macs_per_s


def crypto_power_w(profile: DeviceProfile) -> float:
    """Power drawn while the device's CPU does the crypto."""
    if profile.kind == "cloud":
        states = profile.power_states_w
        return max(states["active"] - states["idle"], 0.0)
    return profile.engines["fp32"].power_w


def device_cost(profile: DeviceProfile, ops: Counter, key_bits: int = 2048) -> tuple[float, float]:
    """``(device seconds, joules)`` of ``ops`` on ``profile``."""
    seconds = host_seconds(ops, key_bits) * device_ratio(profile)
    return seconds, seconds * crypto_power_w(profile)


# -- calibration (bench/federated.py --calibrate) ------------------------------------------
def _per_call(fn, repeat: int) -> float:
    fn()
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return float(best)


def calibrate(key_sizes: tuple[int, ...] = (1024, 2048, 3072)) -> dict[str, Any]:
    """Measure every operation's host time on this machine (best of 3)."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    from phe import paillier

    from simulator.federated import secagg

    rng = np.random.default_rng(0)
    a, b = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    b_public = b.public_key()
    aead = ChaCha20Poly1305(bytes(32))
    message = bytes(secagg.share_ciphertext_bytes() - 16)
    prg_bytes = 1 << 20
    secret = int.from_bytes(rng.bytes(32), "little")
    threshold, shares = 50, 100
    import torch

    torch.set_num_threads(1)
    a_mat = torch.randn(512, 512)
    per_op = {
        "keygen": _per_call(X25519PrivateKey.generate, 200),
        "ecdh": _per_call(lambda: secagg._kdf(a.exchange(b_public), b"mask"), 200),
        "aead": _per_call(lambda: aead.encrypt(bytes(12), message, None), 2000),
        "prg_bytes": _per_call(lambda: secagg.prg(bytes(32), prg_bytes // 4, 32), 5) / prg_bytes,
        "shamir_mult": _per_call(lambda: secagg.shamir_split(secret, threshold, range(1, shares + 1), rng), 5)
        / (shares * (threshold - 1)),
    }
    gemm_s = _per_call(lambda: a_mat @ a_mat, 10)
    per_key: dict[int, dict[str, float]] = {}
    for bits in key_sizes:
        public, private = paillier.generate_paillier_keypair(n_length=bits)
        plaintext = int.from_bytes(rng.bytes(bits // 8 - 1), "little")
        ciphertext = public.raw_encrypt(plaintext)
        per_key[bits] = {
            "keygen": _per_call(lambda bits=bits: paillier.generate_paillier_keypair(n_length=bits), 2),
            "encrypt": _per_call(
                lambda public=public, plaintext=plaintext: public.raw_encrypt(plaintext), 10
            ),
            "decrypt": _per_call(lambda private=private, c=ciphertext: private.raw_decrypt(c), 10),
            "add": _per_call(lambda c=ciphertext, n2=public.nsquare: c * c % n2, 2000),
        }
    return {
        "source": (
            f"measured by `python bench/federated.py --calibrate` on {dt.date.today().isoformat()}: "
            "best of 3, one thread; cryptography (X25519, ChaCha20, ChaCha20-Poly1305), our Shamir "
            "over GF(2^521-1), phe + gmpy2 raw Paillier"
        ),
        "host_gemm_macs_per_s": float(512**3 / gemm_s),
        "seconds_per_op": per_op,
        "paillier_seconds_per_op": per_key,
    }


def write_calibration(path: Path = COSTS_FILE) -> dict[str, Any]:
    """Calibrate and write the YAML file the app reads."""
    import yaml

    data = calibrate()
    header = "# Host seconds per crypto operation; see simulator/federated/costs.py.\n"
    path.write_text(header + yaml.safe_dump(data, sort_keys=False))
    host_costs.cache_clear()
    return data
