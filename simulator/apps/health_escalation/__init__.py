"""Health-anomaly escalation (app type ``health_escalation``): the watch screens heart
rate, the phone verifies an ECG, the cloud doctor is alerted; the classic HR rule beside it.

Modules: :mod:`.records` (what it writes to the trace), :mod:`.metrics` (pure functions of
the trace: the summary and the panel alike), :mod:`.app` (the SimPy app), :mod:`.table`
(the CLI table).
"""

from simulator.apps.health_escalation.app import HealthEscalation
from simulator.apps.health_escalation.metrics import health_metrics
from simulator.apps.health_escalation.records import STAGES, Activity, Episode, Escalation
from simulator.trace import register_records

App = HealthEscalation
register_records(App.RECORDS)

__all__ = ["STAGES", "Activity", "App", "Episode", "Escalation", "HealthEscalation", "health_metrics"]
