"""Smart home: devices join and get models deployed; inference chains (data in the
scenario) run camera → hub → speaker, speaker → hub and watch → phone on real models.

Modules: :mod:`.ground_truth` (the night, drawn from the seed), :mod:`.inputs` (frames,
speech and IMU windows from the model lab's generators), :mod:`.gating` (motion, voice
activity and any-motion gates), :mod:`.streams` (each sensor's inputs over the night),
:mod:`.chains` (the chain schema and its validation), :mod:`.params` (the params schema),
:mod:`.app` (the app) and its rooms over :mod:`.state` (:mod:`.world`, :mod:`.verdicts`,
:mod:`.where`, :mod:`.inference`, :mod:`.runs`, :mod:`.sensors`), :mod:`.metrics` (a
function of the trace), :mod:`.records`. Importing the package does not import torch.
"""

from simulator.apps.smart_home.app import SmartHome
from simulator.apps.smart_home.records import (
    ChainHop,
    ChainStage,
    DeployPlan,
    Placed,
    PlacedShare,
    PolicyChange,
    Truth,
)
from simulator.trace import register_records

App = SmartHome
register_records(App.RECORDS)

__all__ = [
    "App",
    "ChainHop",
    "ChainStage",
    "DeployPlan",
    "Placed",
    "PlacedShare",
    "PolicyChange",
    "SmartHome",
    "Truth",
]
