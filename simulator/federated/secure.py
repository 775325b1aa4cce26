"""Secure aggregation layers: each *wraps* the aggregation, so the server only ever sees
their output (a sum), never an individual update.

A layer has the same steps whatever it does; the server and the clients call them at
fixed points of the round and never branch on which layer it is:

- ``open_round(rnd)`` → the round's state; ``key_phases(rnd)`` (server, before waiting
  for uploads) and ``client_setup(client, rnd)`` (client, after the download);
- ``encode(client, rnd, update, plain_bytes)`` on the client's phone → (bytes on the wire,
  what the server keeps), ``receive(rnd, client, payload)`` at the server;
- ``leave(rnd, client)`` when a client drops or straggles;
- ``unmask(rnd)`` at the round's close → (mean delta or ``None``, detail).

:class:`PlainUpdates` sends the compressed update itself (``unmask`` is never called:
the server aggregates the updates); :class:`SecAggLayer` is Bonawitz et al.'s pairwise
masks with Shamir recovery (:mod:`.secagg`); :class:`PaillierLayer` packed Paillier
encryption decrypted by a key holder that is not the server (:mod:`.paillier`).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import simpy

from simulator.federated import compression
from simulator.federated.state import CONTROL_BYTES, DROP_STEPS, DROP_STEPS_SECAGG, Barrier

if TYPE_CHECKING:
    from simulator.federated.server import FederatedServer
    from simulator.federated.state import Client, Round
    from simulator.federated.strategies import Update


class PlainUpdates:
    """No secure aggregation: the server receives each (compressed) update."""

    name: ClassVar[str] = "none"
    drop_steps: ClassVar[tuple[str, ...]] = DROP_STEPS
    download_extra_bytes = 0

    def __init__(self, server: FederatedServer) -> None:
        self.server = server

    def open_round(self, rnd: Round) -> Any:
        return None

    def key_phases(self, rnd: Round):
        return
        yield

    def client_setup(self, client: Client, rnd: Round):
        return None
        yield

    def encode(self, client: Client, rnd: Round, update: Update, plain_bytes: int):
        return plain_bytes, None
        yield

    def receive(self, rnd: Round, client: Client, payload: Any) -> None:
        pass

    def leave(self, rnd: Round, client: Client) -> None:
        pass

    def _quantize(self, update: Update) -> np.ndarray:
        params = self.server.params
        return compression.quantize_fixed(update.delta, params["clip_norm"], params["secure_bits"])

    def _timed(self, work, *args):
        started = time.perf_counter()
        try:
            return work(*args)
        finally:
            self.server.host_s["crypto"] += time.perf_counter() - started


@dataclass(eq=False)
class SecAggState:
    """Secure aggregation of one round: both sides' protocol objects and phase barriers."""

    server: Any
    clients: dict  # client index → SecAggClient
    ids: dict  # client index → protocol id (1-based)
    keys: Barrier
    shares: Barrier
    keys_ready: simpy.Event
    shares_ready: simpy.Event
    advertised: dict = field(default_factory=dict)
    outgoing: dict = field(default_factory=dict)
    incoming: dict = field(default_factory=dict)
    masked: dict = field(default_factory=dict)
    plain: dict = field(default_factory=dict)  # id → quantized ints (the simulator's oracle)
    u1: set = field(default_factory=set)


class SecAggLayer(PlainUpdates):
    """Bonawitz et al. (CCS 2017): pairwise masks that cancel in the sum, Shamir shares to
    remove a dropped client's masks. The phone does its wearer's crypto."""

    name: ClassVar[str] = "secagg"
    drop_steps: ClassVar[tuple[str, ...]] = DROP_STEPS_SECAGG

    def open_round(self, rnd: Round) -> SecAggState:
        from simulator.federated.secagg import SecAggServer, ring_bits_for

        params = self.server.params
        k = len(rnd.selected)
        threshold = max(2, math.ceil(params["secagg_threshold"] * k))
        server = SecAggServer(threshold, ring_bits_for(params["secure_bits"], params["clients_per_round"]))
        ids = {client.index: i + 1 for i, client in enumerate(rnd.selected)}
        expected = {client.index for client in rnd.selected}
        env = self.server.env
        return SecAggState(
            server=server,
            clients={},
            ids=ids,
            keys=Barrier(env, set(expected)),
            shares=Barrier(env, set(expected)),
            keys_ready=env.event(),
            shares_ready=env.event(),
        )

    def leave(self, rnd: Round, client: Client) -> None:
        rnd.secure.keys.leave(client.index)
        rnd.secure.shares.leave(client.index)

    def key_phases(self, rnd: Round):
        """Server side of rounds 1–2: collect keys (U1), broadcast them, collect and route
        the encrypted shares; each phase waits for everyone or ``phase_timeout``."""
        from simulator.federated.secagg import SecAggError

        state: SecAggState = rnd.secure
        env = self.server.env
        timeout = self.server.params["phase_timeout"]
        yield state.keys.event | env.timeout(timeout)
        try:
            keys = state.server.collect_keys(dict(state.advertised))
        except SecAggError:
            keys = {}
        state.u1 = set(keys)
        state.shares.expected &= {index for index, i in state.ids.items() if i in state.u1}
        state.shares.check()
        state.keys_ready.succeed(keys)
        if not keys:
            return
        yield state.shares.event | env.timeout(timeout)
        senders = {i: out for i, out in state.outgoing.items()}
        state.incoming = state.server.route_shares(senders)
        state.server.keys = {i: keys[i] for i in senders}
        state.shares_ready.succeed(set(senders))

    def client_setup(self, client: Client, rnd: Round):
        """Client side of rounds 1–2 (on the phone): advertise keys, receive U1's, send
        encrypted shares, receive the peers'. Returns a final stage, or ``None`` to go on."""
        from simulator.federated.client import gone
        from simulator.federated.secagg import PUBLIC_KEY_BYTES, SecAggClient, share_ciphertext_bytes

        fl = self.server
        state: SecAggState = rnd.secure
        ident = state.ids[client.index]
        device = client.sender
        protocol = SecAggClient(ident, np.random.default_rng([fl.protocol_seed, 2, rnd.number, client.index]))
        state.clients[client.index] = protocol
        yield from fl.crypto(device, Counter(keygen=2))
        link = fl.transport.server_link(client)
        if link is None:
            return "dropped", "no network for the key exchange"
        send = fl.transport.send
        ok = yield from send(link, device, "fl_keys", 2 * PUBLIC_KEY_BYTES + CONTROL_BYTES)
        if not ok:
            return "dropped", "key advertisement failed"
        if state.keys_ready.triggered:
            return "straggled", "missed the key exchange"
        state.advertised[ident] = protocol.advertise()
        state.keys.arrive(client.index)
        keys = yield state.keys_ready
        if ident not in keys:
            return "dropped", "too few clients advertised keys"
        ok = yield from send(link, fl.device, "fl_keys", len(keys) * 2 * PUBLIC_KEY_BYTES + CONTROL_BYTES)
        if not ok:
            return "dropped", "key list download failed"
        why = gone(fl, client, rnd, "after_keys")
        if why:
            return "dropped", why
        before = Counter(protocol.ops)
        outgoing = protocol.share_keys(keys, state.server.threshold)
        yield from fl.crypto(device, protocol.ops - before)
        size = len(outgoing) * share_ciphertext_bytes() + CONTROL_BYTES
        ok = yield from send(link, device, "fl_shares", size)
        if not ok:
            return "dropped", "share upload failed"
        if state.shares_ready.triggered:
            return "straggled", "missed the share exchange"
        state.outgoing[ident] = outgoing
        state.shares.arrive(client.index)
        senders = yield state.shares_ready
        if ident not in senders:
            return "straggled", "missed the share exchange"
        incoming = state.incoming.get(ident, {})
        size = len(incoming) * share_ciphertext_bytes() + CONTROL_BYTES
        ok = yield from send(link, fl.device, "fl_shares", size)
        if not ok:
            return "dropped", "share download failed"
        before = Counter(protocol.ops)
        protocol.receive_shares(incoming)
        yield from fl.crypto(device, protocol.ops - before)
        return None if not (why := gone(fl, client, rnd, "after_shares")) else ("dropped", why)

    def encode(self, client: Client, rnd: Round, update: Update, plain_bytes: int):
        """The masked update (``None`` when the round closed meanwhile)."""
        values = self._quantize(update)
        state: SecAggState = rnd.secure
        protocol = state.clients[client.index]
        before = Counter(protocol.ops)
        masked = self._timed(protocol.masked_input, values.astype(np.uint32), state.server.ring_bits)
        state.plain[state.ids[client.index]] = values
        yield from self.server.crypto(client.sender, protocol.ops - before)
        if rnd.closed:
            return None
        return len(compression.pack_bits(masked, state.server.ring_bits)) + CONTROL_BYTES, masked

    def receive(self, rnd: Round, client: Client, payload: Any) -> None:
        rnd.secure.masked[rnd.secure.ids[client.index]] = payload

    def unmask(self, rnd: Round):
        """Round 4: survivors send their shares; the server removes the masks and gets the
        sum. Returns the mean delta (or ``None`` if the round could not be unmasked)."""
        from simulator.federated.secagg import SHARE_BYTES, SecAggError

        fl = self.server
        state: SecAggState = rnd.secure
        params = fl.params
        survivors = sorted(state.masked)
        dropped = sorted(set(state.server.keys) - set(survivors))
        if not survivors:
            return None, "no masked input arrived"
        by_id = {state.ids[c.index]: c for c in rnd.selected}
        answers: dict[int, dict] = {}
        barrier = Barrier(fl.env, set(survivors))

        def answer(ident: int):
            client = by_id[ident]
            link = fl.transport.server_link(client)
            if link is None:
                barrier.leave(ident)
                return
            ok = yield from fl.transport.send(
                link, fl.device, "fl_unmask", 4 * len(survivors) + CONTROL_BYTES
            )
            shares = state.clients[client.index].unmask_shares(survivors, dropped)
            if ok:
                size = len(shares) * (SHARE_BYTES + 4) + CONTROL_BYTES
                ok = yield from fl.transport.send(link, client.sender, "fl_unmask", size)
            if ok:
                answers[ident] = shares
                barrier.arrive(ident)
            else:
                barrier.leave(ident)

        for ident in survivors:
            fl.env.process(answer(ident))
        yield barrier.event | fl.env.timeout(params["phase_timeout"])
        try:
            total = self._timed(state.server.unmask, {i: state.masked[i] for i in survivors}, answers)
        except SecAggError as exc:
            return None, f"secure aggregation failed: {exc}"
        yield from fl.crypto(fl.device, Counter(state.server.ops))
        plain = np.sum([state.plain[i].astype(np.int64) for i in survivors], axis=0)
        secure_sum = compression.dequantize_sum(
            total, len(survivors), params["clip_norm"], params["secure_bits"]
        )
        float_sum = np.sum(
            [u.delta.astype(np.float64) for c, u in rnd.updates if state.ids[c.index] in survivors], axis=0
        )
        exact = np.array_equal(total.astype(np.int64), plain)
        fl.window["aggregate_error"] = float(np.max(np.abs(secure_sum - float_sum)))
        fl.window["recovered"] += len(dropped)
        fl.window["secure_count"] = len(survivors)
        detail = f"secagg: {len(survivors)} summed, {len(dropped)} dropped clients' masks recovered" + (
            "" if exact else " (MISMATCH)"
        )
        return secure_sum / len(survivors), detail


@dataclass(eq=False)
class PaillierState:
    """Paillier aggregation of one round: the running encrypted sum at the server."""

    total: list | None = None
    count: int = 0
    plain_total: np.ndarray | None = None


class PaillierLayer(PlainUpdates):
    """Packed Paillier: phones encrypt, the server adds ciphertexts, a key holder that is
    not the server decrypts only the sum."""

    name: ClassVar[str] = "paillier"

    def __init__(self, server: FederatedServer) -> None:
        from simulator.federated.paillier import PaillierAggregation

        super().__init__(server)
        params = server.params
        self.paillier = PaillierAggregation(
            params["paillier_key_bits"], params["secure_bits"], params["clients_per_round"]
        )
        self.download_extra_bytes = self.paillier.public_key.n.bit_length() // 8

    def open_round(self, rnd: Round) -> PaillierState:
        return PaillierState()

    def encode(self, client: Client, rnd: Round, update: Update, plain_bytes: int):
        values = self._quantize(update)
        ops: Counter = Counter()
        ciphertexts = self._timed(self.paillier.encrypt, values, ops)
        yield from self.server.crypto(client.sender, ops)
        if rnd.closed:
            return None
        return len(self.paillier.serialized(ciphertexts)) + CONTROL_BYTES, (ciphertexts, values)

    def receive(self, rnd: Round, client: Client, payload: Any) -> None:
        ciphertexts, values = payload
        state: PaillierState = rnd.secure
        ops: Counter = Counter()
        state.total = self._timed(self.paillier.add, state.total, ciphertexts, ops)
        state.count += 1
        state.plain_total = (
            values.astype(np.int64) if state.plain_total is None else state.plain_total + values
        )
        self.server.env.process(self.server.crypto(self.server.device, ops))

    def unmask(self, rnd: Round):
        """The server sends the encrypted sum to the key holder, which decrypts it."""
        fl = self.server
        state: PaillierState = rnd.secure
        if not state.count:
            return None, "no encrypted update arrived"
        link = fl.keyholder_link
        sum_bytes = len(self.paillier.serialized(state.total)) + CONTROL_BYTES
        ok = yield from fl.transport.send(link, fl.device, "fl_sum", sum_bytes)
        if not ok:
            return None, "encrypted sum did not reach the key holder"
        ops: Counter = Counter()
        total = self._timed(self.paillier.decrypt_sum, state.total, fl.n_params, ops)
        yield from fl.crypto(fl.keyholder, ops)
        plain_bytes = len(compression.pack_bits(total, self.paillier.slot_bits)) + CONTROL_BYTES
        ok = yield from fl.transport.send(link, fl.keyholder, "fl_sum", plain_bytes)
        if not ok:
            return None, "decrypted sum did not come back"
        params = fl.params
        secure_sum = compression.dequantize_sum(
            total, state.count, params["clip_norm"], params["secure_bits"]
        )
        float_sum = np.sum([u.delta.astype(np.float64) for _, u in rnd.updates], axis=0)
        exact = np.array_equal(total.astype(np.int64), state.plain_total)
        fl.window["aggregate_error"] = float(np.max(np.abs(secure_sum - float_sum)))
        fl.window["secure_count"] = state.count
        detail = f"paillier: {state.count} encrypted updates summed" + ("" if exact else " (MISMATCH)")
        return secure_sum / state.count, detail


LAYERS = {layer.name: layer for layer in (PlainUpdates, SecAggLayer, PaillierLayer)}
