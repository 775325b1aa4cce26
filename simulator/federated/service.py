"""Putting the protocol together for an app: its clients found in the scenario, the
server with its strategy wrapped by the privacy params, the clients' routine, the plan
record. An app calls these from ``__init__`` / ``start`` and keeps only its task.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.federated import dp, strategies
from simulator.federated.aggregation import Aggregation, DPAggregation
from simulator.federated.params import client_names, route
from simulator.federated.records import FederatedPlan
from simulator.federated.routine import RoutineSpec, routine
from simulator.federated.secure import LAYERS
from simulator.federated.server import FederatedServer, Task
from simulator.federated.state import Client
from simulator.federated.transport import Transport
from simulator.validate import SpecError

if TYPE_CHECKING:
    from simulator.apps.base import App


def find_clients(app: App) -> list[Client]:
    """The app's clients in scenario order, each with its relay and its links to the server."""
    sim, params = app.sim, app.params
    server = params["server"]
    links = sim.spec["links"]
    clients = []
    for name in client_names(params, [spec["name"] for spec in sim.spec["devices"]]):
        relay_name = route(name, server, links)
        relay = None if relay_name == name else sim.devices[relay_name]
        to_server = [link for link in sim.links_of(relay_name) if server in (link.a.name, link.b.name)]
        clients.append(
            Client(
                index=len(clients),
                device=sim.devices[name],
                relay=relay,
                ble=None if relay is None else sim.link_between(name, relay_name),
                home_links=[link for link in to_server if link.type != "wan"],
                cell_links=[link for link in to_server if link.type == "wan"],
            )
        )
    return clients


def privacy_label(params: dict[str, Any]) -> str:
    parts = []
    if params["dp_epsilon"] is not None:
        parts.append(f"DP ε={params['dp_epsilon']:g} δ={params['dp_delta']:g}")
    if params["secure_aggregation"] != "none":
        parts.append(params["secure_aggregation"])
    return " + ".join(parts) or "none"


def make_aggregation(app: App, n_clients: int, seed: int) -> Aggregation:
    """The strategy the params name, clipped for a secure layer, wrapped by DP when
    ``dp_epsilon`` is set (σ from the target ε; an unreachable ε is a ``SpecError``)."""
    params = app.params
    secure = params["secure_aggregation"] != "none"
    private = params["dp_epsilon"] is not None
    strategy = strategies.make_strategy(
        params["strategy"],
        server_lr=params["server_lr"],
        prox_mu=params["prox_mu"],
        staleness_exponent=params["staleness_exponent"],
        uniform_weights=private or secure,
        beta1=params["adam_beta1"],
        beta2=params["adam_beta2"],
        tau=params["adam_tau"],
        momentum=params["server_momentum"],
    )
    aggregation = Aggregation(strategy, params["clip_norm"] if secure or private else None)
    if not private:
        return aggregation
    sample_rate = params["clients_per_round"] / n_clients
    try:
        sigma = dp.noise_multiplier_for(
            params["dp_epsilon"], params["dp_delta"], sample_rate, params["rounds"]
        )
    except ValueError as exc:  # Opacus: "The privacy budget is too low."
        raise SpecError(
            f"{app.file}, {app.where}.params.dp_epsilon: {params['dp_epsilon']:g} cannot be reached "
            f"over {params['rounds']} rounds ({exc})"
        ) from None
    floor = max(1, math.ceil(params["dp_report_floor"] * params["clients_per_round"]))
    return DPAggregation(
        aggregation, sigma, params["clip_norm"], floor, params["dp_delta"], sample_rate, seed
    )


def make_server(
    app: App, clients: list[Client], task: Task, weights: np.ndarray, protocol_seed: int
) -> FederatedServer:
    """The server for ``app``'s clients and ``task``, starting from ``weights``."""
    params = app.params
    keyholder = app.sim.devices[params["keyholder"]] if params["keyholder"] else None
    server = FederatedServer(
        app,
        params,
        clients,
        app.sim.devices[params["server"]],
        keyholder,
        task,
        weights,
        make_aggregation(app, len(clients), protocol_seed),
        LAYERS[params["secure_aggregation"]],
        Transport(app.env, params["retries"], params["require_wifi"], f"crypto:{app.name}"),
        protocol_seed,
    )
    estimate_round_times(server)
    return server


def estimate_round_times(server: FederatedServer) -> None:
    """Each client's expected round time on its links and device (for tiers and for
    when a dropping client quits)."""
    params = server.params
    update_bytes = server.model_bytes if params["compression"] == "none" else server.model_bytes // 4
    for client in server.clients:
        hops = ([client.ble] if client.ble is not None else []) + client.home_links[:1]
        if not hops:
            hops = client.cell_links[:1]
        transfer_s = sum(
            link.transfer_time_s(server.model_bytes) + link.transfer_time_s(update_bytes) for link in hops
        )
        train = client.device.cost(server.task.train_card, server.task.train_steps(client.index))
        client.expected_s = transfer_s + train.latency_s + params["checkin_delay_median"]
    tiers = params["tiers"]
    order = sorted(server.clients, key=lambda c: (c.expected_s, c.index))
    for rank, client in enumerate(order):
        client.tier = rank * tiers // len(order)


def check_memory_fit(app: App, clients: list[Client], task: Task) -> None:
    """Local training's memory (a batch of ``batch_size``) must fit every client profile."""
    from simulator.compute import estimate_card

    batch = app.params["batch_size"] or int(max(c.examples for c in clients))
    by_profile = {client.device.profile.name: client for client in clients}
    for client in by_profile.values():
        fit = estimate_card(client.device.profile, task.train_card, batch)
        if not fit.fits_memory:
            raise SpecError(
                f"{app.file}, {app.where}.params.batch_size: training needs {fit.memory_needed_bytes:.0f} B "
                f"on {client.device.name}, more than its {fit.memory_budget_bytes:.0f} B"
            )


def plan_record(app: App, server: FederatedServer, initial_accuracy: float, heldout: int) -> FederatedPlan:
    params = app.params
    noise = server.aggregation.noise_multiplier if isinstance(server.aggregation, DPAggregation) else 0.0
    return FederatedPlan(
        0.0,
        app.name,
        server.device.name,
        [c.device.name for c in server.clients],
        [c.relay.name if c.relay is not None else "" for c in server.clients],
        params["rounds"],
        params["clients_per_round"],
        params["strategy"],
        params["mode"],
        privacy_label(params),
        server.n_params,
        server.model_bytes,
        round(noise, 6),
        round(initial_accuracy, 5),
        heldout,
        params["day_start"],
    )


def start(app: App, server: FederatedServer, routine_seed: int) -> None:
    """Start the clients' routine, the key holder's key generation and the server."""
    app.env.process(run_routine(app, server.clients, routine_seed))
    if server.layer.name == "paillier":
        app.env.process(server.crypto(server.keyholder, Counter(paillier_keygen=1)))
    app.env.process(server.run())


def run_routine(app: App, clients: list[Client], seed: int):
    """The clients' day (a SimPy process): on the charger at bedtime, off it at waking,
    the phone out with the wearer by day (its home link down)."""
    params = app.params
    spec = RoutineSpec(
        day_start_s=params["day_start"],
        bedtime_s=params["bedtime"],
        bedtime_spread_s=params["bedtime_spread"],
        wake_s=params["wake"],
        wake_spread_s=params["wake_spread"],
        away_fraction=params["away_fraction"],
        leave_s=params["leave"],
        return_s=params["return"],
    )
    env = app.env
    for change in routine(len(clients), app.sim.duration_s, spec, np.random.default_rng(seed)):
        if change.t > env.now:
            yield env.timeout(change.t - env.now)
        client = clients[change.home]
        if change.action == "charge_start":
            for device in client.devices():
                device.start_charging()
        elif change.action == "charge_stop":
            for device in client.devices():
                device.stop_charging()
        else:
            away = change.action == "leave"
            for link in client.home_links:
                link.set_up(not away, "wearer out with the phone" if away else "wearer home")
