"""A device's life as a digital twin: drift and on-device adaptation, self-healing, migration.

One wearer (a held-out test wearer of ``models.data.imu``) wears the watch for weeks. While
awake, every ``window_every_s`` the watch classifies a 2 s IMU window with its
``gesture_imu`` model (the real ONNX Runtime model, one batch per day and model version;
each call is charged on the device by ``Device.run``). A share of windows get the wearer's
label (a logged workout, a correction). On given days the wearer's data drift
(``params.drifts``); river's ADWIN on the prediction confidence detects it; while the watch
charges at night it fine-tunes the personalized weights (real torch, a few parameters,
peak memory measured), re-compresses to fit its size target (INT8 PTQ), validates on the
wearer's held-out labelled windows and deploys only if better, else rolls back. Each
deployed version is backed up to the hub (watch → phone → hub).

Faults (``params.faults``) hit the stored weights: random flips, a corrupted download,
targeted flips. Per-tensor checksums (at rest each night, at every load) and a range guard
on activations (anomaly rate > ``anomaly_rate`` over ``guard_window`` windows) detect them;
the hub's copy of the damaged tensors is restored over the links, or, without a copy, the
model is repaired by fine-tuning at the next charge. On ``migration.retire_day`` the twin
moves watch → phone → hub → new watch, re-compressed for the new watch's size target.

The protocol steps live beside this module: ``adaptation``, ``healing``, ``migration``.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator import network
from simulator.apps.base import App as BaseApp
from simulator.apps.device_lifecycle import days as wearer_days
from simulator.apps.device_lifecycle.params import DEVICE_PARAMS, PARAMS, check_lifecycle
from simulator.apps.device_lifecycle.records import (
    RECORDS,
    LifeAccuracy,
    LifeDrift,
    LifeEvent,
    LifeLink,
    LifeWindow,
)
from simulator.deploy import Deployment
from simulator.devices import PRIORITY_BACKGROUND

if TYPE_CHECKING:
    from simulator.devices import Device
    from simulator.trace import Trace

DAY_S = wearer_days.DAY_S
FACTORY_VARIANT = "ptq-minmax"  # the watch ships the lab's INT8 PTQ variant
GENERIC_VARIANTS = ("fp32", "ptq-minmax")  # lab artifacts, most faithful first
EVALUATE_AT_S = 12 * 3600.0  # the daily held-out evaluation, at noon
CLEAN_PROFILE_WINDOWS = 280  # the factory guard's clean windows (the lab's validation split)
RECENT_WINDOWS = 256  # unlabelled windows kept for calibration and guard re-profiling
TWIN_CALIBRATION_WINDOWS = 64  # of them, travel with the twin (the new watch's calibration)


class App(BaseApp):
    """See the module docstring."""

    TYPE = "device_lifecycle"
    PARAMS = PARAMS
    RECORDS = RECORDS
    DEVICE_PARAMS = DEVICE_PARAMS
    HOOKS = ("drift_detected", "adapted", "rolled_back", "fault", "fault_detected", "healed", "migrated")
    DESCRIPTION = "A watch's model over weeks: drift → on-device fine-tuning, self-healing of damaged weights, migration to a new watch"

    @classmethod
    def check_params(cls, raw: Any, scenario: dict[str, Any], file: str, where: str) -> dict[str, Any]:
        params = super().check_params(raw, scenario, file, where)
        check_lifecycle(params, scenario, file, where)
        return params

    @classmethod
    def summarize(cls, trace: Trace, app: dict[str, Any], end_s: float) -> dict[str, Any]:
        """The app's metrics, a pure function of the trace (see ``metrics.py``)."""
        from simulator.apps.device_lifecycle.metrics import summarize

        return summarize(trace, app, end_s)

    def metrics(self, trace: Trace, end_s: float) -> dict[str, Any]:
        return self.summarize(trace, {"type": self.TYPE, "name": self.name, "params": self.params}, end_s)

    # -- start-up (loads torch, ONNX Runtime and river) ----------------------------------
    def start(self) -> None:
        from models.cards import find_card
        from models.data import imu
        from models.lifecycle.ondevice import ConfidenceDrift, OnDeviceModel
        from simulator.engine import torch_threads_once

        torch_threads_once()
        params = self.params
        self.user = imu.users("test")[params["wearer"]]
        self.serving: str | None = params["watch"]
        self.base_card = find_card(params["model"], FACTORY_VARIANT)
        self.fp32_card = find_card(params["model"], "fp32")
        clean_x, _ = imu.make_dataset("val", CLEAN_PROFILE_WINDOWS)
        self.clean_x = clean_x
        self.model = OnDeviceModel.factory(
            params["model"], FACTORY_VARIANT, clean_x, self.size_target(params["watch"])
        )
        self.version = 1
        self.card = self.base_card
        self.deployed_data = self.model.stored.data  # what the version is, byte for byte
        self.generic = {}  # device → the lab's generic artifact that fits it (the unadapted model)
        self.detector = ConfidenceDrift(params["detector_delta"], params["detector_min_drop"])
        self.labelled: deque[tuple[float, np.ndarray, int]] = deque(maxlen=params["buffer_windows"])
        self.recent: deque[np.ndarray] = deque(maxlen=RECENT_WINDOWS)
        self.anomalies: deque[bool] = deque(maxlen=params["guard_window"])
        self.adapt_pending_since: float | None = None
        self.repair_pending: list[int] = []
        self.active_faults: list[dict[str, Any]] = []  # injected, not yet healed
        self.checking = False
        self.hub_copy = {"version": 1, "stored": self.model.stored}  # the hub deployed the factory model
        self.history: list[dict[str, Any]] = []
        # (day, stored model, guard) → outputs; the key holds the objects themselves, so that a
        # freed model's id reused by a new one can never serve the old one's outputs
        self._prediction_cache: tuple[Any, ...] | None = None
        watch = self.device(params["watch"])
        watch.models[params["model"]] = self.card
        for link in self.sim.links.values():
            self.sim.trace.append(LifeLink(0.0, self.name, link.name, link.tx_j_per_bit, link.rx_j_per_bit))
        self.lifeline(
            params["watch"], "deployed", f"factory model {FACTORY_VARIANT}, {self.model.stored.bytes} B"
        )
        self.cards_held: list[Any] = []
        self.deployment = Deployment(self.sim, self.name, params["hub"], needs=lambda device: [])
        self.env.process(self.wearing())
        self.env.process(self.nightly_charging())
        self.env.process(self.daily_evaluation())
        from simulator.apps.device_lifecycle import healing, migration

        for i, fault in enumerate(params["faults"]):
            self.env.process(healing.inject_at(self, i + 1, fault))
        if params["migration"] is not None:
            self.env.process(migration.migrate_at(self, params["migration"]))

    def worn_at(self, t: float) -> str:
        """The watch on the wearer's wrist at ``t`` (the successor from the retirement on)."""
        migration = self.params["migration"]
        if migration is not None and t >= migration["retire_day"] * DAY_S:
            return migration["to"]
        return self.params["watch"]

    def drifts_at(self, t: float):
        """The drifts the worn watch's data show at ``t``: the wearer's (a new sport, the
        other wrist) follow them to any watch; sensor ageing stays with its own device."""
        return wearer_days.drifts_of(self.params, self.worn_at(t))

    def size_target(self, device: str) -> int:
        return int(self.params["size_targets_bytes"].get(device, self.params["default_size_target_bytes"]))

    # -- records -------------------------------------------------------------------------
    def lifeline(self, device: str, event: str, detail: str) -> None:
        self.sim.trace.append(LifeEvent(self.env.now, self.name, device, event, f"v{self.version}", detail))
        self.history.append(
            {
                "t": round(self.env.now, 3),
                "device": device,
                "event": event,
                "version": self.version,
                "detail": detail,
            }
        )

    def twin(self):
        """The twin's state now (see ``models.lifecycle.twin``)."""
        thresholds = {
            "anomaly_rate": self.params["anomaly_rate"],
            "guard_window": self.params["guard_window"],
            "detector_delta": self.params["detector_delta"],
            "detector_min_drop": self.params["detector_min_drop"],
        }
        windows = np.stack(list(self.recent)[-TWIN_CALIBRATION_WINDOWS:])
        return self.model.twin(self.detector, thresholds, self.history, windows)

    @property
    def damaged(self) -> bool:
        return self.model.stored.data != self.deployed_data

    # -- the wearer's days ------------------------------------------------------------
    def wearing(self):
        """Every window of every wearing day: classify it on the worn watch, feed the drift
        detector and the guard, keep the labelled ones."""
        n_days = int(np.ceil(self.sim.duration_s / DAY_S))
        for day in range(n_days):
            drifts = self.drifts_at(day * DAY_S + self.params["wake"])
            data = wearer_days.wearing_day(self.user, drifts, day, self.params, self.new_rng(f"day{day}"))
            for i, t in enumerate(data.times_s.tolist()):
                if t >= self.sim.duration_s:
                    return
                if t > self.env.now:
                    yield self.env.timeout(t - self.env.now)
                if self.serving is None:
                    continue
                device = self.device(self.serving)
                if not device.on:
                    continue
                predicted, confidence, anomalous = self._predictions(data)
                label = str(predicted[i])
                ran = yield device.run(self.card, 1, label, float(confidence[i]))
                if not ran:
                    continue
                self.sim.trace.append(
                    LifeWindow(
                        self.env.now,
                        self.name,
                        device.name,
                        f"v{self.version}",
                        int(data.labels[i]),
                        int(predicted[i]),
                        round(float(confidence[i]), 5),
                        bool(anomalous[i]),
                        self.damaged,
                    )
                )
                self.recent.append(data.x[i])
                if data.labelled[i]:
                    self.labelled.append((self.env.now, data.x[i], int(data.labels[i])))
                self._watch_drift(device, float(confidence[i]))
                self._watch_guard(bool(anomalous[i]))

    def _predictions(self, data: wearer_days.DayWindows):
        """The serving model's outputs on the whole day's windows: one real batch per day
        and stored model (a new version or a fault recomputes it)."""
        cached = self._prediction_cache
        if (
            cached is None
            or cached[0] != data.day
            or cached[1] is not self.model.stored
            or cached[2] is not self.model.guard
        ):
            cached = self._prediction_cache = (
                data.day,
                self.model.stored,
                self.model.guard,
                self.model.serve(data.x),
            )
        return cached[3]

    def _watch_drift(self, device: Device, confidence: float) -> None:
        if not self.detector.update(confidence) or self.adapt_pending_since is not None:
            return
        self.adapt_pending_since = self.env.now
        self.sim.trace.append(
            LifeDrift(
                self.env.now,
                self.name,
                device.name,
                f"v{self.version}",
                round(self.detector.mean, 5),
                round(self.detector.reference or 0.0, 5),
                self.detector.seen,
            )
        )
        self.lifeline(
            device.name,
            "drift_detected",
            f"ADWIN: mean confidence {self.detector.mean:.3f}, the wearer's reference {self.detector.reference:.3f}",
        )
        self.fire("drift_detected")

    def _watch_guard(self, anomalous: bool) -> None:
        if not self.params["guard"]:
            return
        self.anomalies.append(anomalous)
        if self.checking or len(self.anomalies) < self.anomalies.maxlen:
            return
        if sum(self.anomalies) / len(self.anomalies) > self.params["anomaly_rate"]:
            from simulator.apps.device_lifecycle import healing

            self.checking = True
            self.env.process(healing.guard_alarm(self))

    # -- nights on the charger ---------------------------------------------------------
    def nightly_charging(self):
        """The worn watch (and the phone) charge from ``charge_start`` for ``charge_hours``; while it does:
        the checksum scrub, a pending repair, a pending adaptation."""
        from simulator.apps.device_lifecycle import adaptation, healing

        n_days = int(np.ceil(self.sim.duration_s / DAY_S))
        for day in range(n_days):
            start = day * DAY_S + self.params["charge_start"]
            if start >= self.sim.duration_s:
                return
            yield self.env.timeout(start - self.env.now)
            if self.serving is None:
                continue
            device = self.device(self.serving)
            phone = self.device(self.params["phone"])
            device.start_charging()
            phone.start_charging()  # the phone, the watch's relay, goes on its charger too
            end = min(start + self.params["charge_hours"] * 3600.0, self.sim.duration_s)
            yield from healing.scrub(self, device, "checksum-at-rest")
            if self.repair_pending:
                yield from healing.repair(self, device)
            if self.adapt_pending_since is not None:
                yield from adaptation.adapt(self, device)
            if end > self.env.now:
                yield self.env.timeout(end - self.env.now)
            device.stop_charging()
            phone.stop_charging()

    # -- the daily held-out evaluation (the simulator's measurement, not charged) -------
    def daily_evaluation(self):
        n_days = int(np.ceil(self.sim.duration_s / DAY_S))
        for day in range(n_days):
            at = day * DAY_S + EVALUATE_AT_S
            if at >= self.sim.duration_s:
                return
            yield self.env.timeout(at - self.env.now)
            if self.serving is None:
                continue
            x, y = wearer_days.heldout_day(
                self.user,
                self.drifts_at(at),
                at / DAY_S,
                self.params["heldout_windows"],
                self.new_rng(f"heldout{day}"),
            )
            generic = self.generic_model(self.serving)
            self.sim.trace.append(
                LifeAccuracy(
                    self.env.now,
                    self.name,
                    self.serving,
                    day,
                    f"v{self.version}",
                    round(self.model.accuracy(x, y), 5),
                    round(self.model.accuracy(x, y, generic), 5),
                    self.damaged,
                )
            )

    def generic_model(self, device: str):
        """The lab's generic artifact that fits ``device``'s size target (the unadapted model)."""
        if device not in self.generic:
            from models.cards import ARTIFACTS_DIR, find_card
            from models.lifecycle.artifact import StoredModel

            for variant in GENERIC_VARIANTS:
                card = find_card(self.params["model"], variant)
                if card.bytes <= self.size_target(device) or variant == GENERIC_VARIANTS[-1]:
                    data = (ARTIFACTS_DIR / self.params["model"] / card.artifact).read_bytes()
                    self.generic[device] = StoredModel(data, variant, card.precision)
                    break
        return self.generic[device]

    # -- services the protocol steps share ----------------------------------------------
    def compute(self, device: Device, card, n: int, label: str, score: float = 0.0):
        """Charge ``n`` samples of ``card`` on ``device`` (background priority)."""
        # Device.cost caches by id(card): a card made here for one step and then freed could
        # hand its id, and so its cost, to the next one; kept alive, every id stays its own
        self.cards_held.append(card)
        ran = yield device.run(card, max(int(n), 1), label, score, PRIORITY_BACKGROUND)
        return ran

    def send(self, src: str, dst: str, kind: str, size_bytes: int):
        """Carry bytes from ``src`` to ``dst`` over the route up now (the core's
        :func:`simulator.network.send`: ``Message`` records, radio energy on both ends).
        Returns True if delivered."""
        delivery = yield from network.send(self.sim, src, dst, kind, int(size_bytes))
        return delivery.status == "delivered"

    def deploy_version(self, device: Device, card, reason: str) -> None:
        self.cards_held.append(card)  # served by Device.run: keep its id its own (see compute)
        self.card = card
        self.deployed_data = self.model.stored.data
        device.deploy(card, app=self.name, serves="gesture", reason=reason)
