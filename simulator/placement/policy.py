"""The placement policy interface (below the policies, the RL agent and the workload, so
that none of them imports another to get it): a policy places a request, given the state."""

from __future__ import annotations

from typing import ClassVar

from models.cards import ARTIFACTS_DIR
from simulator.placement.cost import Placement, Request, State

# The agent ``policy: rl`` loads when no ``agent`` is named (trained by ``python -m
# simulator.placement.rl``).
SHIPPED_AGENT = ARTIFACTS_DIR / "placement" / "ppo_placement.zip"


class Policy:
    """Base class: ``place(request, state)`` returns where the request runs."""

    NAME: ClassVar[str] = ""

    def place(self, request: Request, state: State) -> Placement:
        raise NotImplementedError
