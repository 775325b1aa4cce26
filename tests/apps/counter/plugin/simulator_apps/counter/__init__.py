"""A counter: the smallest app, kept outside the source tree to prove the plug-in contract.

Every ``period_s`` the ``device`` counts one up and sends the count (``message_bytes``) to
``to`` over their link. Found through ``$HOMETWIN_APPS_PATH``; nothing in ``simulator/``,
``ui/`` or ``cli/`` names it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from simulator.apps.base import App as BaseApp
from simulator.trace import Message, Trace, register_records
from simulator.validate import Field


class Tick(NamedTuple):
    """The counter on ``device`` reached ``count``."""

    t: float
    app: str
    device: str
    count: int


class Counter(BaseApp):
    TYPE = "counter"
    DESCRIPTION = "counts up on a device and sends the count to another"
    PARAMS = {
        "device": Field(str, required=True),
        "to": Field(str, required=True),
        "period_s": Field("duration", default=600.0, minimum=1.0),
        "message_bytes": Field(int, default=64, minimum=1),
    }
    RECORDS = {"counter_tick": Tick}
    HOOKS = ("tick",)
    DEVICE_PARAMS = ("device", "to")

    def start(self) -> None:
        self.source = self.device(self.params["device"])
        self.link = self.link_between(self.source, self.device(self.params["to"]))
        self.env.process(self._count())

    def _count(self):
        count = 0
        while True:
            yield self.env.timeout(self.params["period_s"])
            count += 1
            self.sim.trace.append(Tick(self.env.now, self.name, self.source.name, count))
            self.fire("tick")
            self.env.process(self.link.send(self.source, "count", self.params["message_bytes"]))

    @classmethod
    def summarize(cls, trace: Trace, app: dict[str, Any], end_s: float) -> dict[str, Any]:
        records = trace.until(end_s)
        ticks = [r for r in records if type(r) is Tick and r.app == app["name"]]
        sent = [
            r
            for r in records
            if type(r) is Message and r.msg_kind == "count" and r.src == app["params"]["device"]
        ]
        delivered = [r for r in sent if r.status == "delivered" and r.end_t <= end_s]
        return {
            "ticks": len(ticks),
            "last_count": ticks[-1].count if ticks else 0,
            "delivered": len(delivered),
            "bytes_sent": sum(r.size_bytes for r in sent),
        }


App = Counter
register_records(App.RECORDS)
