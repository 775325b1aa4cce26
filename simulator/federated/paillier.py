"""Additively homomorphic aggregation with Paillier (``phe``), values packed into plaintexts.

A 2048-bit Paillier plaintext holds ~2,047 bits, far more than one 16-bit update value,
and encrypting costs ~8 ms whatever the plaintext (measured: ``bench/federated.py
--calibrate``). So each client packs many quantized values per plaintext: value ``i`` in a
slot of ``slot_bits = value_bits + ⌈log2(max_clients + 1)⌉`` bits, the headroom keeping
the slot's sum from carrying into the next. The server multiplies ciphertexts (adding
plaintexts) without the private key; a key holder that is not the server decrypts only the
encrypted sum. ``ops`` counters record encryptions, decryptions and ciphertext additions
for the device-time model.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from phe import paillier

from simulator.federated.compression import pack_bits, unpack_bits


def slot_bits_for(value_bits: int, max_clients: int) -> int:
    return value_bits + int(np.ceil(np.log2(max_clients + 1)))


def slots_per_plaintext(key_bits: int, slot_bits: int) -> int:
    """Slots in one plaintext (it must stay below ``n``, which has ``key_bits`` bits)."""
    return (key_bits - 1) // slot_bits


def pack(values: np.ndarray, slot_bits: int, slots: int) -> list[int]:
    """Non-negative integers (each below ``2**slot_bits``) as plaintext integers of ``slots`` slots."""
    plaintexts = []
    for start in range(0, values.size, slots):
        chunk = values[start : start + slots]
        plaintexts.append(int.from_bytes(pack_bits(chunk, slot_bits), "little"))
    return plaintexts


def unpack(plaintexts: list[int], count: int, slot_bits: int, slots: int) -> np.ndarray:
    """Inverse of :func:`pack`."""
    out = np.empty(count, np.uint64)
    for i, plaintext in enumerate(plaintexts):
        n = min(slots, count - i * slots)
        blob = plaintext.to_bytes((n * slot_bits + 7) // 8, "little")
        out[i * slots : i * slots + n] = unpack_bits(blob, n, slot_bits)
    return out


class PaillierAggregation:
    """Key pair (held by the key holder), client encryption, server addition, decryption."""

    def __init__(self, key_bits: int, value_bits: int, max_clients: int) -> None:
        self.public_key, self._private_key = paillier.generate_paillier_keypair(n_length=key_bits)
        self.key_bits = key_bits
        self.slot_bits = slot_bits_for(value_bits, max_clients)
        self.slots = slots_per_plaintext(key_bits, self.slot_bits)
        self.ciphertext_bytes = (2 * key_bits + 7) // 8  # an element of Z*_{n^2}
        self.ops: Counter = Counter(keygen=1)

    def ciphertexts_for(self, count: int) -> int:
        return -(-count // self.slots)

    def encrypt(self, values: np.ndarray, ops: Counter) -> list[int]:
        """A client encrypts its quantized values (``ops`` counts its encryptions)."""
        plaintexts = pack(values, self.slot_bits, self.slots)
        ops["paillier_encrypt"] += len(plaintexts)
        return [self.public_key.raw_encrypt(p) for p in plaintexts]

    def add(self, total: list[int] | None, ciphertexts: list[int], ops: Counter) -> list[int]:
        """The server adds one client's ciphertexts into the running total."""
        if total is None:
            return list(ciphertexts)
        nsquare = self.public_key.nsquare
        ops["paillier_add"] += len(ciphertexts)
        return [a * b % nsquare for a, b in zip(total, ciphertexts, strict=True)]

    def decrypt_sum(self, total: list[int], count: int, ops: Counter) -> np.ndarray:
        """The key holder decrypts the sum (and only the sum)."""
        ops["paillier_decrypt"] += len(total)
        plaintexts = [self._private_key.raw_decrypt(c) for c in total]
        return unpack(plaintexts, count, self.slot_bits, self.slots)

    def serialized(self, ciphertexts: list[int]) -> bytes:
        """The ciphertexts as sent: fixed-width little-endian integers."""
        return b"".join(c.to_bytes(self.ciphertext_bytes, "little") for c in ciphertexts)
