"""What the protocol's traffic cost, read off the links' and devices' own records.

The network draws each transfer's radio energy on both ends (``simulator.network``) and
writes a ``Message`` per attempt; a device writes an ``Inference`` per compute burst. A
round's bytes and client energy are those records, priced with the link's energy per bit
(the same number the network drew), so the protocol keeps no ledger of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from simulator.trace import Inference, Message

if TYPE_CHECKING:
    from simulator.devices import Device
    from simulator.network import Link

PROTOCOL_KINDS = ("fl_model", "fl_update", "fl_keys", "fl_shares", "fl_unmask", "fl_sum")
PRIVACY_KINDS = ("fl_keys", "fl_shares", "fl_unmask", "fl_sum")
TRAINING_LABEL = "local_update"


def is_upstream(message: Message, server: str, client_devices: set[str]) -> bool:
    """Towards the server (client → relay → server, key holder → server); downstream when
    the server sends or a client device receives."""
    return message.src != server and message.dst not in client_devices


def round_costs(
    records: Sequence,
    start: int,
    server: str,
    infrastructure: set[str],
    client_devices: set[str],
    links: dict[str, Link],
    devices: dict[str, Device],
    crypto_j: Counter,
) -> dict[str, float]:
    """Bytes and client energy of the records from index ``start`` on: the protocol's
    ``Message`` s (each end's airtime energy, and a sender's radio tail once per message)
    and the clients' local-training ``Inference`` s, plus the crypto energy the privacy
    layers charged (``crypto_j``, device name → J). ``infrastructure`` (server, key holder)
    pays no client energy. Battery energy is the share of devices not on a charger now."""
    bytes_up = bytes_down = privacy_bytes = 0
    spent: Counter = Counter()
    for record in _of_kinds(records, start):
        if type(record) is Inference:
            if record.label == TRAINING_LABEL and record.device in client_devices:
                spent[record.device] += record.energy_j
            continue
        if record.msg_kind not in PROTOCOL_KINDS:
            continue
        if record.src not in client_devices and record.dst not in client_devices:
            if record.src != server and record.dst != server:
                continue
        size = record.size_bytes
        if is_upstream(record, server, client_devices):
            bytes_up += size
        else:
            bytes_down += size
        if record.msg_kind in PRIVACY_KINDS:
            privacy_bytes += size
        link = links[record.link]
        if record.src not in infrastructure:
            spent[record.src] += size * 8 * link.tx_j_per_bit
            if link.tail_s > 0 and record.attempt == 1:
                spent[record.src] += link.tail_s * link.tail_power_w
        if record.dst not in infrastructure:
            spent[record.dst] += size * 8 * link.rx_j_per_bit
    for name, energy_j in crypto_j.items():
        if name not in infrastructure:
            spent[name] += energy_j
    client_j = battery_j = own_j = 0.0
    for name, energy_j in spent.items():
        client_j += energy_j
        device = devices[name]
        if device.battery is not None and not device.charging:
            battery_j += energy_j
            if name in client_devices:
                own_j += energy_j
    return {
        "bytes_up": bytes_up,
        "bytes_down": bytes_down,
        "privacy_bytes": privacy_bytes,
        "client_energy_j": client_j,
        "battery_energy_j": battery_j,
        "watch_battery_j": own_j,
    }


def _of_kinds(records: Sequence, start: int) -> Iterable:
    for index in range(start, len(records)):
        record = records[index]
        if type(record) is Message or type(record) is Inference:
            yield record
