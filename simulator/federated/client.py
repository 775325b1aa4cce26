"""A client's round, step by step, as one SimPy process: check in, download the global
model, (secure aggregation's key phases), train on the device, hand the update to the
phone, encode it for the privacy layer, upload — or drop out, straggle or go offline.

Each step takes the server (the services: clock, links, privacy layer, task) and the
round, and returns an outcome; the server records the stages (:meth:`FederatedServer.stage`).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from simulator.devices import PRIORITY_BACKGROUND
from simulator.federated.wire import TRAINING_LABEL

if TYPE_CHECKING:
    from simulator.federated.server import FederatedServer
    from simulator.federated.state import Client, Round


def client_round(fl: FederatedServer, client: Client, rnd: Round):
    """One client's round (a SimPy process); the client is busy until it ends."""
    try:
        stage, detail = yield from _work(fl, client, rnd)
    finally:
        client.busy = False
    if stage == "dropped":
        fl.drop(client, rnd, detail)
    elif stage == "straggled":
        fl.straggle(client, rnd, detail)


def gone(fl: FederatedServer, client: Client, rnd: Round, step: str) -> str | None:
    """Why the client cannot go on at ``step`` (it dropped out), or ``None``."""
    if rnd.drop_at.get(client.index) == step:
        return f"dropped out ({step.replace('_', ' ')})"
    if not client.device.on:
        return f"{client.device.kind} switched off"
    if fl.params["require_charging"] and not client.device.charging:
        return "taken off the charger"
    if client.relay is not None and not client.relay.on:
        return f"{client.relay.kind} switched off"
    return None


def checkin_delay(fl: FederatedServer) -> float:
    """Heavy-tailed time until a selected client checks in (lognormal)."""
    median = fl.params["checkin_delay_median"]
    if median <= 0:
        return 0.0
    return float(fl.rng("checkin").lognormal(math.log(median), fl.params["checkin_delay_sigma"]))


def _work(fl: FederatedServer, client: Client, rnd: Round) -> Generator[Any, Any, tuple[str, str]]:
    env, transport, layer = fl.env, fl.transport, fl.layer
    delay = checkin_delay(fl)
    if delay > 0:
        yield env.timeout(delay)
    why = gone(fl, client, rnd, "check_in")
    if why:
        return "dropped", why
    ok = yield from transport.download(
        client, fl.device, "fl_model", fl.model_bytes + layer.download_extra_bytes
    )
    if not ok:
        return "dropped", "model download failed"
    why = gone(fl, client, rnd, "after_download")
    if why:
        return "dropped", why
    outcome = yield from layer.client_setup(client, rnd)
    if outcome is not None:
        return outcome
    steps = fl.task.train_steps(client.index)
    ran = yield client.device.run(fl.task.train_card, steps, TRAINING_LABEL, 0.0, PRIORITY_BACKGROUND)
    if not ran:
        return "dropped", f"{client.device.kind} switched off while training"
    update, blob = fl.local_update(client, rnd)
    why = gone(fl, client, rnd, "after_training")
    if why:
        return "dropped", why
    if rnd.closed and not fl.late_allowed():
        return "straggled", "round closed before the upload"
    if client.relay is not None:
        ok = yield from transport.send(client.ble, client.device, "fl_update", len(blob))
        if not ok:
            return "dropped", f"update did not reach the {client.relay.kind}"
    payload = yield from layer.encode(client, rnd, update, len(blob))
    if payload is None:
        return "straggled", "round closed before the upload"
    size, secure_payload = payload
    why = gone(fl, client, rnd, "before_upload")
    if why:
        return "dropped", why
    link = transport.server_link(client)
    if link is None:
        fl.go_offline(client, rnd)
        while link is None:
            waits = [lnk.wait_up() for lnk in transport.reachable_links(client)]
            yield env.any_of(waits) if waits else env.timeout(fl.params["checkin_retry"])
            link = transport.server_link(client)
    ok = yield from transport.send(link, client.sender, "fl_update", size)
    if not ok:
        return "dropped", "update upload failed"
    fl.deliver(client, rnd, update, secure_payload)
    return "delivered", ""
