"""Federated learning of the wearers' gesture model (app type ``federated``).

Built on the core protocol :mod:`simulator.federated` (rounds, strategies, privacy,
metrics); this package holds what is gesture-specific: :mod:`.partition` (the wearers'
non-IID data), :mod:`.task` (the model, local training and held-out evaluation — torch in
:mod:`.training`, loaded in ``start``), :mod:`.homes` (a scenario of N homes) and
:mod:`.app` (the app). Importing it never imports torch.
"""

from simulator.apps.federated.app import App

__all__ = ["App"]
