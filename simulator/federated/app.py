"""The base of an app on the round protocol: the protocol's params checked beside the
app's own, its server and key holder named as devices, its clients found in the scenario
(``self.clients``) before the app builds its task."""

from __future__ import annotations

from typing import Any

from simulator.apps.base import App
from simulator.federated import service
from simulator.federated.params import check_protocol_params


class ProtocolApp(App):
    """Subclass it, set ``PARAMS = protocol_params(model_fields, data_fields)``, build the task."""

    DEVICE_PARAMS = ("server", "keyholder")

    @classmethod
    def check_params(cls, raw: Any, scenario: dict[str, Any], file: str, where: str) -> dict[str, Any]:
        params = super().check_params(raw, scenario, file, where)
        check_protocol_params(params, scenario, file, where)
        return params

    def __init__(self, sim, name: str, params: dict[str, Any], where: str) -> None:
        super().__init__(sim, name, params, where)
        self.clients = service.find_clients(self)
