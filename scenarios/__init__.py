"""Shipped scenarios: ``*.yaml`` files here (data). The code that reads them is the
simulator's (``simulator.scenario``); this package only re-exports its listing."""

from simulator.scenario import SCENARIOS_DIR, ScenarioError, list_scenarios, load_scenario

__all__ = ["SCENARIOS_DIR", "ScenarioError", "list_scenarios", "load_scenario"]
