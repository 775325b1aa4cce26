"""Personalized suggestions from a federated profile (app type ``home_suggestions``).

:mod:`.app` holds the SimPy app (importing it loads no torch), :mod:`.task` the federated
task (item factors aggregated, member factors kept home), :mod:`.records` its trace kinds,
:mod:`.metrics` the pure ``summarize``, :mod:`.homes` the scenario of N homes and
:mod:`.table` the CLI table. The data and the recommender are ``models.data.households``
and ``models.recommender`` (pure numpy).
"""

from simulator.apps.home_suggestions.app import App, HomeSuggestions

__all__ = ["App", "HomeSuggestions"]
