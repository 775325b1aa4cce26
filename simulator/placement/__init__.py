"""Where each inference runs: split points, placement policies, their costs, and a runner
that carries a placement out on the engine's devices and links.

- :mod:`~simulator.placement.layers`   per-layer MACs and split tensors (``layers.json``);
- :mod:`~simulator.placement.cost`     requests, placements, state and the cost estimate;
- :mod:`~simulator.placement.policies` the policies and the scenario field ``placement``;
- :mod:`~simulator.placement.runner`   runs a placed request on the engine (records it);
- :mod:`~simulator.placement.home`     the bench/RL home: cameras, hub, cloud, request streams;
- :mod:`~simulator.placement.env`      the gymnasium environment (the only gymnasium import);
- :mod:`~simulator.placement.rl`       a trained PPO agent as a policy, and its training.

Importing this package is light: no torch, no gymnasium.
"""

from simulator.placement.cost import Estimate, Placement, Request, State, estimate, estimates, options
from simulator.placement.layers import LayerTable, layer_table
from simulator.placement.policies import POLICIES, POLICY_NAMES, Policy, check_placement, make_policy

__all__ = [
    "POLICIES",
    "POLICY_NAMES",
    "Estimate",
    "LayerTable",
    "Placement",
    "Policy",
    "Request",
    "State",
    "check_placement",
    "estimate",
    "estimates",
    "layer_table",
    "make_policy",
    "options",
]
