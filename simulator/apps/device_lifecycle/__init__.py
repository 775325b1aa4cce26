"""The device-lifecycle app: a watch's model as a digital twin (see ``app.py``)."""

from simulator.apps.device_lifecycle.app import App

__all__ = ["App"]
