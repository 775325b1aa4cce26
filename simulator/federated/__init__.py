"""Federated learning as a service: the round protocol on the device clock, for any app
that brings its own model and data.

An app of its own type (the gesture app ``simulator/apps/federated``, federated matrix
factorization, …) imports this package and keeps only what is its own: a
:class:`~simulator.federated.server.Task` (its model's flat weights, its clients' local
training, its held-out measure) and the params of its model and data. Everything else is
here, at the core, so no app copies it:

- :mod:`.params` — the protocol's params schema (:func:`~.params.protocol_params`) and
  checks; :mod:`.service` — finding the clients and their relays, building the server,
  the clients' charging routine, the plan record;
- :mod:`.server` — rounds (sync, or FedBuff-like async): ``configure_round`` (eligibility
  read off the devices), deadlines, drops, stragglers, late syncs, ``aggregate``,
  ``evaluate``; :mod:`.client` — a client's round step by step; :mod:`.state` — the state
  both keep (clients, rounds, barriers), at the bottom;
- :mod:`.aggregation` — the strategy (:mod:`.strategies`: FedAvg, FedProx, FedAdam)
  wrapped by differential privacy (:mod:`.dp`); :mod:`.secure` — secure aggregation
  layers (plain, Bonawitz :mod:`.secagg`, packed :mod:`.paillier`, crypto device time from
  :mod:`.costs`) that wrap what the server receives;
- :mod:`.transport` — sends over the links with retries, wire sizes (:mod:`.compression`);
  :mod:`.wire` — bytes and energy read back from the links' and devices' records;
- :mod:`.records`, :mod:`.metrics` — the trace kinds and ``summarize`` (pure).

Importing this package loads neither torch nor the engine; Opacus, ``cryptography`` and
``phe`` load where they first run.
"""
