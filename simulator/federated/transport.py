"""How the protocol's messages and crypto reach the device clock: sends over the
scenario's links with the protocol's retries, the link a client reaches the server over
now, and crypto charged as device time (the counted operations of :mod:`.costs`).

Nothing here books energy or bytes: the links write ``Message`` records and draw the
radio energy on both ends; :mod:`.wire` reads them back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import simpy

    from simulator.devices import Device
    from simulator.federated.state import Client
    from simulator.network import Link


class Transport:
    """The protocol's way over the links: ``retries`` per message, a metered (cellular)
    network only when ``require_wifi`` is off."""

    def __init__(self, env: simpy.Environment, retries: int, require_wifi: bool, crypto_load: str) -> None:
        self.env = env
        self.retries = retries
        self.require_wifi = require_wifi
        self.crypto_load = crypto_load  # the device load name of this app's crypto

    def server_link(self, client: Client) -> Link | None:
        """The link the client reaches the server over now: home Wi-Fi first, LTE if the
        eligibility rules allow a metered network; ``None`` when there is none."""
        for link in client.home_links:
            if link.up:
                return link
        if not self.require_wifi:
            for link in client.cell_links:
                if link.up:
                    return link
        return None

    def reachable_links(self, client: Client) -> list[Link]:
        """The links that may carry the client's traffic to the server."""
        return client.home_links + (client.cell_links if not self.require_wifi else [])

    def send(self, link: Link, src: Device, kind: str, size: int) -> Generator[Any, Any, bool]:
        """``link.send`` with the protocol's retries; ``True`` when delivered."""
        status = yield from link.send(src, kind, int(size), retries=self.retries)
        return status == "delivered"

    def download(self, client: Client, server: Device, kind: str, size: int) -> Generator[Any, Any, bool]:
        """Server → (relay →) client."""
        link = self.server_link(client)
        if link is None:
            return False
        ok = yield from self.send(link, server, kind, size)
        if ok and client.relay is not None:
            ok = yield from self.send(client.ble, client.relay, kind, size)
        return ok

    def crypto(self, device: Device, ops: Counter, key_bits: int) -> Generator[Any, Any, tuple[float, float]]:
        """Charge ``ops`` of crypto to ``device``'s clock (its CPU busy for the device
        time); returns (device seconds, joules)."""
        from simulator.federated.costs import crypto_power_w, device_cost

        seconds, energy_j = device_cost(device.profile, ops, key_bits)
        if seconds <= 0:
            return 0.0, 0.0
        device.add_load(self.crypto_load, crypto_power_w(device.profile))
        yield self.env.timeout(seconds)
        device.remove_load(self.crypto_load)
        return seconds, energy_j
