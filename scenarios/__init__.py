"""Shipped scenarios (``*.yaml`` here) and the scenario schema, loader and listing."""

from scenarios.schema import ScenarioError, list_scenarios, load_scenario

__all__ = ["ScenarioError", "list_scenarios", "load_scenario"]
