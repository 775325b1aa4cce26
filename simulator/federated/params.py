"""The protocol's params: the schema every app on :mod:`simulator.federated` shares, its
cross-field checks, and finding the clients and their way to the server in a scenario.

An app builds its ``PARAMS`` with :func:`protocol_params` (adding its model's and data's
fields) and calls :func:`check_protocol_params` from its ``check_params``.
"""

from __future__ import annotations

import fnmatch
import math
from typing import Any

from simulator.federated import strategies
from simulator.validate import Field, SpecError

MODES = ("sync", "async")
COMPRESSIONS = ("none", "int8")
SECURE = ("none", "secagg", "paillier")
TIER_POLICIES = ("round_robin", "fastest")

_WHO: dict[str, Any] = {
    "server": Field(str, default="cloud"),
    "clients": Field(str, default="watch*"),
    "keyholder": Field(str, nullable=True),
}
_PROTOCOL: dict[str, Any] = {
    # local training (the task's model)
    "local_epochs": Field(int, default=2, minimum=1, maximum=50),
    "batch_size": Field(int, default=32, minimum=0),
    "lr": Field(float, default=0.1, minimum=0.0, exclusive_min=True),
    # rounds
    "rounds": Field(int, default=20, minimum=1),
    "clients_per_round": Field(int, default=10, minimum=1),
    "min_clients": Field(int, nullable=True, minimum=1),
    "round_interval": Field("duration", default=600.0, minimum=0.0),
    "deadline": Field("duration", default=120.0, minimum=1.0),
    "checkin_retry": Field("duration", default=300.0, minimum=1.0),
    "checkin_delay_median": Field("duration", default=10.0, minimum=0.0),
    "checkin_delay_sigma": Field(float, default=1.2, minimum=0.0),
    "dropout": Field(float, default=0.05, minimum=0.0, maximum=0.95),
    "retries": Field(int, default=2, minimum=0),
    # strategy
    "strategy": Field(str, default="fedavg", choices=strategies.STRATEGIES),
    "server_lr": Field(float, nullable=True, minimum=0.0, exclusive_min=True),
    "prox_mu": Field(float, default=0.01, minimum=0.0),
    "adam_beta1": Field(float, default=0.9, minimum=0.0, maximum=0.999),
    "adam_beta2": Field(float, default=0.99, minimum=0.0, maximum=0.9999),
    "adam_tau": Field(float, default=1e-3, minimum=0.0, exclusive_min=True),
    "server_momentum": Field(float, default=0.9, minimum=0.0, maximum=0.99),
    "mode": Field(str, default="sync", choices=MODES),
    "buffer_size": Field(int, default=5, minimum=1),
    "staleness_exponent": Field(float, default=0.5, minimum=0.0),
    "max_staleness": Field(int, default=2, minimum=0),
    # eligibility and tiers
    "require_charging": Field(bool, default=True),
    "require_idle": Field(bool, default=True),
    "require_wifi": Field(bool, default=True),
    "battery_floor": Field(float, default=0.3, minimum=0.0, maximum=1.0),
    "tiers": Field(int, default=1, minimum=1),
    "tier_policy": Field(str, default="round_robin", choices=TIER_POLICIES),
    # the clients' routine (clock times: charging at night, away by day)
    "day_start": Field("duration", default="18:00", maximum=86400.0),
    "bedtime": Field("duration", default="23:00", maximum=86400.0),
    "bedtime_spread": Field("duration", default="1h"),
    "wake": Field("duration", default="07:00", maximum=86400.0),
    "wake_spread": Field("duration", default="45min"),
    "away_fraction": Field(float, default=0.7, minimum=0.0, maximum=1.0),
    "leave": Field("duration", default="08:30", maximum=86400.0),
    "return": Field("duration", default="17:30", maximum=86400.0),
}
_PRIVACY: dict[str, Any] = {
    # compression and privacy
    "compression": Field(str, default="int8", choices=COMPRESSIONS),
    "dp_epsilon": Field(float, nullable=True, minimum=0.0, exclusive_min=True),
    "dp_delta": Field(float, default=1e-5, minimum=0.0, exclusive_min=True, maximum=0.1),
    "dp_report_floor": Field(float, default=0.7, minimum=0.05, maximum=1.0),
    "clip_norm": Field(float, default=1.0, minimum=0.0, exclusive_min=True),
    "secure_aggregation": Field(str, default="none", choices=SECURE),
    "secure_bits": Field(int, default=16, minimum=8, maximum=24),
    "secagg_threshold": Field(float, default=0.5, minimum=0.1, maximum=1.0),
    "phase_timeout": Field("duration", default=60.0, minimum=1.0),
    "paillier_key_bits": Field(int, default=2048, choices=(1024, 2048, 3072)),
}


def protocol_params(model: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The full params schema: who, the app's ``model`` fields, local training, rounds,
    strategy, eligibility, routine, the app's ``data`` fields, compression and privacy."""
    return {**_WHO, **model, **_PROTOCOL, **data, **_PRIVACY}


def client_names(params: dict[str, Any], device_names: list[str]) -> list[str]:
    """The devices matching ``params["clients"]`` (the server excluded), in scenario order."""
    pattern, server = params["clients"], params["server"]
    return [n for n in device_names if n != server and fnmatch.fnmatchcase(n, pattern)]


def route(client: str, server: str, links: list[dict]) -> str | None:
    """The device through which ``client`` reaches ``server`` (itself when linked
    directly), from the scenario's link list; ``None`` when there is no route."""
    neighbours: dict[str, set[str]] = {}
    for link in links:
        neighbours.setdefault(link["a"], set()).add(link["b"])
        neighbours.setdefault(link["b"], set()).add(link["a"])
    near = neighbours.get(client, set())
    if server in near:
        return client
    for relay in sorted(near):
        if server in neighbours.get(relay, set()):
            return relay
    return None


def check_protocol_params(params: dict[str, Any], scenario: dict[str, Any], file: str, where: str) -> None:
    """Cross-field checks of the protocol's params (errors name ``where.field``)."""

    def fail(name: str, message: str) -> None:
        raise SpecError(f"{file}, {where}.{name}: {message}")

    names = [d["name"] for d in scenario["devices"]]
    clients = client_names(params, names)
    if not clients:
        fail("clients", f"no device matches {params['clients']!r} (devices: {', '.join(names[:8])}…)")
    if params["clients_per_round"] > len(clients):
        fail(
            "clients_per_round",
            f"must be ≤ the {len(clients)} clients matching {params['clients']!r}, got {params['clients_per_round']}",
        )
    if params["min_clients"] is not None and params["min_clients"] > params["clients_per_round"]:
        fail(
            "min_clients",
            f"must be ≤ clients_per_round ({params['clients_per_round']}), got {params['min_clients']}",
        )
    if params["tiers"] > len(clients):
        fail("tiers", f"must be ≤ the {len(clients)} clients, got {params['tiers']}")
    secure = params["secure_aggregation"]
    if params["mode"] == "async":
        if secure == "secagg":
            fail("secure_aggregation", "secagg needs mode: sync (its masks are agreed per round)")
        if params["dp_epsilon"] is not None:
            fail("dp_epsilon", "differential privacy is accounted per synchronous round: use mode: sync")
        if params["buffer_size"] > params["clients_per_round"]:
            fail(
                "buffer_size",
                f"must be ≤ clients_per_round ({params['clients_per_round']}), got {params['buffer_size']}",
            )
    if (
        secure != "none"
        and params["secure_bits"] + math.ceil(math.log2(params["clients_per_round"] + 1)) > 32
    ):
        fail("secure_bits", "the summed values must fit 32 bits: lower secure_bits or clients_per_round")
    if secure == "paillier" and params["keyholder"] is None:
        fail("keyholder", "Paillier needs a key holder device that is not the server")
    if secure == "paillier" and params["keyholder"] == params["server"]:
        fail("keyholder", "the key holder must not be the server (it would decrypt every update)")
    for name in ("day_start", "bedtime", "wake", "leave", "return"):
        if params[name] >= 86400.0:
            fail(name, f"must be a clock time before 24:00, got {params[name]:g} s")
    links = scenario["links"]
    for client in clients:
        if route(client, params["server"], links) is None:
            fail(
                "clients",
                f"client {client!r} has no link to the server {params['server']!r}, direct or through a relay",
            )
    if secure == "paillier" and not any(
        {link["a"], link["b"]} == {params["keyholder"], params["server"]} for link in links
    ):
        fail("keyholder", f"needs a link between {params['keyholder']!r} and the server {params['server']!r}")
