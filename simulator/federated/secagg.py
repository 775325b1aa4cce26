"""Secure aggregation (Bonawitz et al., CCS 2017), honest-but-curious version: the server
learns the sum of the survivors' vectors and nothing else, even when clients drop out.

Each client ``u`` has two X25519 key pairs (``c`` to encrypt the secret shares it sends its
peers, ``s`` to agree pairwise mask seeds) and a random self-mask seed ``b_u``. The round:

1. *advertise*: ``u`` sends its public keys; the server forwards the list to everyone (U1).
2. *share*: ``u`` splits ``s_u``'s private key and ``b_u`` into Shamir shares (threshold
   ``t``), encrypts each peer's pair with ChaCha20-Poly1305 under a key derived from
   ``ECDH(c_u, c_v)`` and sends them through the server, which cannot read them.
3. *masked input*: ``y_u = x_u + PRG(b_u) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv)``
   (mod ``2**ring_bits``), the PRG being a ChaCha20 keystream seeded by
   ``s_uv = HKDF(ECDH(s_u, s_v))``. Clients that drop here are U1 ∖ U2.
4. *unmask*: survivors send, for each survivor, its share of ``b``, and for each dropped
   client, its share of ``s``; the server rebuilds ``b_u`` (removing survivors' self masks)
   and ``s_u`` (recomputing and removing the dropped clients' pairwise masks). Pairwise
   masks between survivors cancel in the sum.

Keys come from the caller's seeded RNG so that a simulation replays exactly; a deployment
would draw them from the OS. ``ops`` counters record the work each side did (key
agreements, AEAD messages, PRG bytes, field multiplications) for the device-time model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: Shamir's field: the Mersenne prime 2^521 − 1 holds any 32-byte secret.
FIELD_PRIME = (1 << 521) - 1
SHARE_BYTES = 66
PUBLIC_KEY_BYTES = 32
_NONCE = bytes(12)  # keys are fresh every round, so one nonce per key is safe


class SecAggError(RuntimeError):
    """The round cannot be unmasked (fewer survivors than the threshold)."""


def ring_bits_for(value_bits: int, max_clients: int) -> int:
    """Bits of the ring that holds the sum of ``max_clients`` values of ``value_bits``."""
    return value_bits + int(np.ceil(np.log2(max_clients + 1)))


def prg(seed: bytes, count: int, ring_bits: int) -> np.ndarray:
    """``count`` pseudo-random ring elements (uint32 below ``2**ring_bits``) from a ChaCha20
    keystream keyed by the 32-byte ``seed``."""
    stream = Cipher(algorithms.ChaCha20(seed, bytes(16)), mode=None).encryptor().update(bytes(4 * count))
    values = np.frombuffer(stream, dtype="<u4").copy()
    if ring_bits < 32:
        values &= np.uint32((1 << ring_bits) - 1)
    return values


def _kdf(shared: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


# -- Shamir secret sharing over GF(FIELD_PRIME) -------------------------------------------
def shamir_split(secret: int, threshold: int, xs: Iterable[int], rng: np.random.Generator) -> dict[int, int]:
    """Shares ``{x: f(x)}`` of ``secret`` with a random polynomial of degree ``threshold − 1``."""
    coefficients = [secret] + [
        int.from_bytes(rng.bytes(66), "little") % FIELD_PRIME for _ in range(threshold - 1)
    ]
    shares = {}
    for x in xs:
        value = 0
        for coefficient in reversed(coefficients):  # Horner
            value = (value * x + coefficient) % FIELD_PRIME
        shares[x] = value
    return shares


def shamir_combine(shares: dict[int, int]) -> int:
    """The secret ``f(0)`` from ``threshold`` or more shares (Lagrange interpolation)."""
    secret = 0
    points = list(shares.items())
    for i, (x_i, y_i) in enumerate(points):
        numerator, denominator = 1, 1
        for j, (x_j, _) in enumerate(points):
            if i != j:
                numerator = numerator * (-x_j) % FIELD_PRIME
                denominator = denominator * (x_i - x_j) % FIELD_PRIME
        secret = (secret + y_i * numerator * pow(denominator, -1, FIELD_PRIME)) % FIELD_PRIME
    return secret


def _pair_sign(u: int, v: int) -> int:
    return 1 if v > u else -1


class SecAggClient:
    """One client's side of a secure-aggregation round (ids are small positive ints)."""

    def __init__(self, ident: int, rng: np.random.Generator) -> None:
        assert ident > 0, "Shamir evaluates shares at x = id, so ids start at 1"
        self.id = ident
        self._rng = rng
        self._c = X25519PrivateKey.from_private_bytes(rng.bytes(32))
        self._s_private = rng.bytes(32)
        self._s = X25519PrivateKey.from_private_bytes(self._s_private)
        self._b = rng.bytes(32)
        self._peers: dict[int, tuple[bytes, bytes]] = {}
        self._mask_peers: set[int] = set()  # U2: the clients whose shares arrived
        self._held: dict[int, tuple[int, int]] = {}  # from client → (share of s, share of b)
        self._aead: dict[int, ChaCha20Poly1305] = {}
        self.ops: Counter = Counter(keygen=2)

    def advertise(self) -> tuple[bytes, bytes]:
        """Round 1: the public keys (``c``, ``s``), 32 bytes each."""
        return self._c.public_key().public_bytes_raw(), self._s.public_key().public_bytes_raw()

    def _channel(self, peer: int) -> ChaCha20Poly1305:
        channel = self._aead.get(peer)
        if channel is None:
            shared = self._c.exchange(X25519PublicKey.from_public_bytes(self._peers[peer][0]))
            self.ops["ecdh"] += 1
            lo, hi = sorted((self.id, peer))
            channel = self._aead[peer] = ChaCha20Poly1305(_kdf(shared, b"share %d %d" % (lo, hi)))
        return channel

    def share_keys(self, keys: dict[int, tuple[bytes, bytes]], threshold: int) -> dict[int, bytes]:
        """Round 2: encrypted shares of ``s_u`` and ``b_u`` for every other client of U1
        (``keys``: id → public keys, this client included)."""
        self._peers = dict(keys)
        ids = sorted(keys)
        s_shares = shamir_split(int.from_bytes(self._s_private, "little"), threshold, ids, self._rng)
        b_shares = shamir_split(int.from_bytes(self._b, "little"), threshold, ids, self._rng)
        self.ops["shamir_mult"] += 2 * len(ids) * (threshold - 1)
        self._held[self.id] = (s_shares[self.id], b_shares[self.id])
        out = {}
        for v in ids:
            if v == self.id:
                continue
            payload = (
                self.id.to_bytes(4, "little")
                + v.to_bytes(4, "little")
                + s_shares[v].to_bytes(SHARE_BYTES, "little")
                + b_shares[v].to_bytes(SHARE_BYTES, "little")
            )
            out[v] = self._channel(v).encrypt(_NONCE, payload, None)
            self.ops["aead"] += 1
        return out

    def receive_shares(self, ciphertexts: dict[int, bytes]) -> None:
        """Keep the shares other clients sent this one (``sender id → ciphertext``); those
        senders (U2) are the peers it masks with."""
        self._mask_peers = set(ciphertexts) | {self.id}
        for u, ciphertext in ciphertexts.items():
            payload = self._channel(u).decrypt(_NONCE, ciphertext, None)
            self.ops["aead"] += 1
            assert (
                int.from_bytes(payload[:4], "little") == u
                and int.from_bytes(payload[4:8], "little") == self.id
            )
            s_share = int.from_bytes(payload[8 : 8 + SHARE_BYTES], "little")
            b_share = int.from_bytes(payload[8 + SHARE_BYTES :], "little")
            self._held[u] = (s_share, b_share)

    def masked_input(self, values: np.ndarray, ring_bits: int) -> np.ndarray:
        """Round 3: ``values`` (ring elements) plus the self mask and the pairwise masks."""
        count = values.size
        masked = values.astype(np.uint32) + prg(_kdf(self._b, b"self"), count, ring_bits)
        for v, (_, s_public) in sorted(self._peers.items()):
            if v == self.id or v not in self._mask_peers:
                continue
            seed = _kdf(self._s.exchange(X25519PublicKey.from_public_bytes(s_public)), b"mask")
            self.ops["ecdh"] += 1
            mask = prg(seed, count, ring_bits)
            masked = masked + mask if _pair_sign(self.id, v) > 0 else masked - mask
        self.ops["prg_bytes"] += 4 * count * len(self._mask_peers)
        if ring_bits < 32:
            masked &= np.uint32((1 << ring_bits) - 1)
        return masked

    def unmask_shares(self, survivors: Iterable[int], dropped: Iterable[int]) -> dict[int, tuple[str, int]]:
        """Round 4: for each survivor its share of ``b``; for each dropped client its share
        of ``s`` (never both for one client: that would reveal a survivor's input)."""
        out = {u: ("b", self._held[u][1]) for u in survivors if u in self._held}
        out.update({u: ("s", self._held[u][0]) for u in dropped if u in self._held})
        return out


class SecAggServer:
    """The server's side: it routes keys and ciphertexts, sums masked inputs and removes
    the masks it can rebuild from the survivors' shares."""

    def __init__(self, threshold: int, ring_bits: int) -> None:
        self.threshold = threshold
        self.ring_bits = ring_bits
        self.keys: dict[int, tuple[bytes, bytes]] = {}
        self.ops: Counter = Counter()

    def collect_keys(self, keys: dict[int, tuple[bytes, bytes]]) -> dict[int, tuple[bytes, bytes]]:
        """U1 = the clients whose keys arrived; their list goes back to each of them."""
        if len(keys) < self.threshold:
            raise SecAggError(
                f"{len(keys)} clients advertised keys, fewer than the threshold {self.threshold}"
            )
        self.keys = dict(keys)
        return self.keys

    @staticmethod
    def route_shares(outgoing: dict[int, dict[int, bytes]]) -> dict[int, dict[int, bytes]]:
        """Re-address the ciphertexts: ``sender → {recipient: ct}`` to ``recipient → {sender: ct}``."""
        incoming: dict[int, dict[int, bytes]] = {}
        for sender, per_recipient in outgoing.items():
            for recipient, ciphertext in per_recipient.items():
                incoming.setdefault(recipient, {})[sender] = ciphertext
        return incoming

    def unmask(
        self, masked: dict[int, np.ndarray], shares: dict[int, dict[int, tuple[str, int]]]
    ) -> np.ndarray:
        """The sum of the survivors' inputs (mod ``2**ring_bits``). ``masked``: survivor →
        masked input (U2); ``shares``: answering survivor → its :meth:`SecAggClient.unmask_shares`."""
        survivors = sorted(masked)
        dropped = sorted(set(self.keys) - set(masked))
        if len(shares) < self.threshold:
            raise SecAggError(f"{len(shares)} survivors answered, fewer than the threshold {self.threshold}")
        count = next(iter(masked.values())).size
        total = np.zeros(count, np.uint32)
        for u in survivors:
            total = total + masked[u]
        for u in survivors:
            b = self._rebuild(u, "b", shares)
            total = total - prg(_kdf(b.to_bytes(32, "little"), b"self"), count, self.ring_bits)
        for u in dropped:
            s_private = self._rebuild(u, "s", shares).to_bytes(32, "little")
            s_key = X25519PrivateKey.from_private_bytes(s_private)
            for v in survivors:
                seed = _kdf(s_key.exchange(X25519PublicKey.from_public_bytes(self.keys[v][1])), b"mask")
                self.ops["ecdh"] += 1
                mask = prg(seed, count, self.ring_bits)
                # v added sign(v, u)·PRG(s_uv); take it back out.
                total = total - mask if _pair_sign(v, u) > 0 else total + mask
        self.ops["prg_bytes"] += 4 * count * (len(survivors) + len(dropped) * len(survivors))
        if self.ring_bits < 32:
            total &= np.uint32((1 << self.ring_bits) - 1)
        return total

    def _rebuild(self, u: int, kind: str, shares: dict[int, dict[int, tuple[str, int]]]) -> int:
        points = {}
        for holder, held in shares.items():
            entry = held.get(u)
            if entry is not None and entry[0] == kind:
                points[holder] = entry[1]
            if len(points) == self.threshold:
                break
        if len(points) < self.threshold:
            raise SecAggError(f"only {len(points)} shares of client {u}'s {kind}, threshold {self.threshold}")
        self.ops["shamir_mult"] += self.threshold * self.threshold
        return shamir_combine(points)


def share_ciphertext_bytes() -> int:
    """Bytes of one encrypted share pair (two ids, two shares, the Poly1305 tag)."""
    return 8 + 2 * SHARE_BYTES + 16
