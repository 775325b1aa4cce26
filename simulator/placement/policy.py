"""The placement policy interface (below the policies, the RL agent and the workload, so
that none of them imports another to get it): a policy places a request, given the state."""

from __future__ import annotations

from collections import deque
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


class Deferred(Policy):
    """Decides outside the engine (the gymnasium environment over an app): a placed stage
    that has this policy yields on :meth:`wait`'s event instead of calling ``place``; each
    waiting request is in :attr:`pending` as ``(request, state, event)`` until someone calls
    ``event.succeed(placement)``."""

    NAME = "deferred"

    def __init__(self, env) -> None:
        self.env = env
        self.pending: deque = deque()

    def wait(self, request: Request, state: State):
        """A SimPy event the placed stage yields on; its value is the placement."""
        decided = self.env.event()
        self.pending.append((request, state, decided))
        return decided

    def place(self, request: Request, state: State) -> Placement:
        raise TypeError("a deferred policy is decided through wait(), not place()")
