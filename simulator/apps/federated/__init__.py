"""Federated learning on the device clock (app type ``federated``), as a package.

The pure parts import without the engine or torch: :mod:`.strategies` (FedAvg, FedProx,
FedAdam), :mod:`.compression` (deltas, 8-bit updates, bit packing), :mod:`.dp` (clipping,
noise, Opacus accounting), :mod:`.secagg` (Bonawitz secure aggregation), :mod:`.paillier`
(packed Paillier), :mod:`.partition` (the wearers' non-IID data), :mod:`.routine` (their
charging and away hours), :mod:`.costs` (crypto device time), :mod:`.homes` (a scenario of
N homes). :mod:`.training` holds the torch code and :mod:`.app` the SimPy app; the app
loads ``training`` in ``start``, so importing this package never imports torch.
"""

from simulator.apps.federated.app import App  # noqa: E402 - the package docstring comes first

__all__ = ["App"]
