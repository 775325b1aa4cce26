"""The device-lifecycle app: a watch's model as a digital twin (see ``app.py``)."""

from simulator.apps.device_lifecycle.app import App
from simulator.trace import register_records

register_records(App.RECORDS)

__all__ = ["App"]
