"""Health-anomaly escalation: watch screens → phone verifies the ECG → cloud doctor alerted.

The wearer lives a day (``models.data.wearer``): sleep, rest, commute, exercise, stress, and
injected arrhythmia episodes (the ground truth). Every ``screen_period_s`` the watch runs the
heart-rate screener on the last ``window_s`` of heart rate and wrist motion. A flagged
window makes the watch record an ECG (``ecg_windows`` × 10 s) and send it over BLE to the
phone. When the phone is out of range the ECG waits in the watch's outbox and is retried
when the link comes back; if it has waited ``max_queue_age_s`` the watch also alerts the
wearer itself (``watch_fallback_alert``). The phone runs the ECG verifier; a confirmed
rhythm (not a sinus tachycardia explained by exercise) goes over WAN to the cloud doctor
(``doctor_alert``), once per ``alert_holdoff_s``.

The classic rule runs beside it on the same heart rate as a baseline: heart rate above
``high_bpm`` (or below ``low_bpm``) for ``sustain_s`` while the wearer seems inactive.

Real models decide, batched before the day starts: the screener runs over all windows of
the day (its input does not depend on simulation state), and so the flags are known; the
ECGs the cascade will take (flags under the cooldown rule) are synthesized and verified
up front. A capture off that plan (the watch was off) is recorded and
verified on demand, identically. SimPy only schedules, and devices pay the estimated
device cost of each call when the simulated call happens.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np

from models import runtime
from models.data import wearer
from models.data.ecg import CLASSES as ECG_CLASSES
from simulator.devices import PRIORITY_URGENT
from simulator.trace import Activity, Episode, Escalation, Note, Trace
from simulator.validate import Field, ListOf, SpecError, check_file

ECG_BYTES_PER_SAMPLE = 2  # 16-bit ADC samples
ALERT_HEADER_BYTES = 512
STAGES = (
    "watch_flag",
    "ecg_capture",
    "ecg_sent",
    "watch_fallback_alert",
    "phone_confirm",
    "phone_dismiss",
    "doctor_alert",
)

PARAMS_SCHEMA: dict[str, Any] = {
    "watch": Field(str, default="watch"),
    "phone": Field(str, default="phone"),
    "cloud": Field(str, default="cloud"),
    "screen_period_s": Field("duration", default=60.0, minimum=1.0),
    "window_s": Field("duration", default=300.0, minimum=30.0),
    "flag_threshold": Field(float, default=0.5, minimum=0.0, maximum=1.0),
    "ecg_windows": Field(int, default=3, minimum=1, maximum=12),
    "capture_cooldown_s": Field("duration", default=300.0, minimum=0.0),
    "confirmations_needed": Field(int, default=2, minimum=1),
    "confirm_window_s": Field("duration", default=1200.0, minimum=0.0),
    "confirm_threshold": Field(float, default=0.6, minimum=0.0, maximum=1.0),
    "exercise_accel_g": Field(float, default=0.3, minimum=0.0),
    "alert_holdoff_s": Field("duration", default=1800.0, minimum=0.0),
    "max_queue_age_s": Field("duration", default=1800.0, minimum=0.0),
    "retries": Field(int, default=3, minimum=0),
    "glances_per_hour": Field(float, default=6.0, minimum=0.0),
    "phone_sessions_per_hour": Field(float, default=1.5, minimum=0.0),
    "episodes": Field(Any, default=8),
    "schedule": Field(Any, default="default"),
    "match_grace_s": Field("duration", default=900.0, minimum=0.0),
    "baseline_high_bpm": Field(float, default=120.0, minimum=0.0),
    "baseline_low_bpm": Field(float, default=40.0, minimum=0.0),
    "baseline_sustain_s": Field("duration", default=600.0, minimum=0.0),
    "baseline_inactive_accel_g": Field(float, default=0.1, minimum=0.0),
}
EPISODE_SCHEMA = {
    "start": Field("duration", required=True),
    "duration": Field("duration", required=True, minimum=60.0),
    "kind": Field(str, required=True, choices=wearer.EPISODE_KINDS),
}
BLOCK_SCHEMA = {
    "start": Field("duration", required=True),
    "end": Field("duration", required=True),
    "activity": Field(str, required=True, choices=wearer.ACTIVITIES),
}
WATCH_STATE_OF_ACTIVITY = {"sleep": "sleep", "exercise": "workout"}


def _verdict(probabilities: list[float]) -> tuple[str, float]:
    """The verifier's label and p(anomaly) from its class probabilities (mean over strips)."""
    return ECG_CLASSES[probabilities.index(max(probabilities))], 1.0 - probabilities[ECG_CLASSES.index("normal")]


def _draws(method, *args, chunk: int = 256):
    """Endless scalar draws of ``method(*args)`` taken from the RNG a chunk at a time
    (a numpy scalar draw costs about as much as the event it times)."""
    while True:
        yield from method(*args, size=chunk).tolist()


class App:
    """The health escalation app (see module docstring)."""

    def __init__(self, sim, spec: dict[str, Any], where: str) -> None:
        self.sim = sim
        self.env = sim.env
        self._file = sim.spec.get("file", "<scenario>")
        self._app_where = where
        self.activity = "rest"
        self._where = f"{self._file}, {where}"
        self.p = check_file(PARAMS_SCHEMA, spec.get("params") or {}, self._file, f"{where}.params")
        for role in ("watch", "phone", "cloud"):
            if self.p[role] not in sim.devices:
                raise SpecError(
                    f"{where}.params.{role}: unknown device {self.p[role]!r} (devices: {', '.join(sim.devices)})"
                )
        self.watch = sim.devices[self.p["watch"]]
        self.phone = sim.devices[self.p["phone"]]
        self.cloud = sim.devices[self.p["cloud"]]
        self.ble = self._link_between(self.watch, self.phone)
        self.wan = self._link_between(self.phone, self.cloud)
        self.screener = self._model(self.watch, "hr_screener")
        self.verifier = self._model(self.phone, "ecg_verifier")
        self.day = self._make_day()
        self.outbox: deque[dict[str, Any]] = deque()
        self._outbox_signal = self.env.event()
        self._last_capture_s = -np.inf
        self._last_alert_s = -np.inf
        self._confirmed_s: list[float] = []
        self.model_s = 0.0  # wall time of real model work inside the event loop
        self.energy_j = {"ecg_capture": 0.0}

    # -- set-up ------------------------------------------------------------------------
    def _link_between(self, a, b):
        for link in self.sim.links.values():
            if {link.a.name, link.b.name} == {a.name, b.name}:
                return link
        raise SpecError(f"{self._where}: the health app needs a link between {a.name!r} and {b.name!r}")

    def _model(self, device, model: str):
        variant = self.sim.spec_device(device.name)["models"].get(model, "fp32")
        try:
            predictor = runtime.load(model, variant)
        except ValueError as exc:
            raise SpecError(f"{self._file}, devices.{device.name}.models.{model}: {exc}") from None
        device.models[model] = predictor.card
        fit = device.cost(predictor.card)
        if not fit.fits_memory:
            raise SpecError(
                f"{self._file}, devices.{device.name}.models.{model}: {variant} needs "
                f"{fit.memory_needed_bytes:.0f} B, more than the device's {fit.memory_budget_bytes:.0f} B"
            )
        return predictor

    def _check_list(self, schema: dict, items: list, param: str) -> list[dict]:
        return check_file(ListOf(schema), items, self._file, f"{self._app_where}.params.{param}")

    def _make_day(self) -> wearer.WearerDay:
        rng = self.sim.rng("wearer")
        duration = self.sim.duration_s
        schedule_spec = self.p["schedule"]
        if schedule_spec == "default":
            schedule = wearer.default_schedule(rng, duration)
        elif isinstance(schedule_spec, list):
            blocks = self._check_list(BLOCK_SCHEMA, schedule_spec, "schedule")
            schedule = [wearer.ActivityBlock(b["start"], b["end"], b["activity"]) for b in blocks]
        else:
            raise SpecError(
                f"{self._where}.params.schedule: expected 'default' or a list of blocks, got {schedule_spec!r}"
            )
        episodes_spec = self.p["episodes"]
        if isinstance(episodes_spec, int) and not isinstance(episodes_spec, bool) and episodes_spec >= 0:
            episodes = wearer.random_episodes(rng, episodes_spec, schedule, duration)
        elif isinstance(episodes_spec, list):
            checked = self._check_list(EPISODE_SCHEMA, episodes_spec, "episodes")
            episodes = [wearer.EpisodeSpec(e["start"], e["duration"], e["kind"]) for e in checked]
        else:
            raise SpecError(
                f"{self._where}.params.episodes: expected a count ≥ 0 or a list of episodes, got {episodes_spec!r}"
            )
        return wearer.simulate_day(schedule, episodes, duration, rng)

    def start(self) -> None:
        period = self.p["screen_period_s"]
        self.screen_times = np.arange(self.p["window_s"], self.sim.duration_s, period)
        windows = wearer.screening_windows(self.day, self.screen_times, self.p["window_s"])
        probabilities = self.screener.predict_proba(windows)
        # Plain Python floats: numpy scalars would leak into SimPy's clock and slow every event.
        self.screen_scores = [round(float(p), 4) for p in probabilities[:, 1]]
        self.screen_times = self.screen_times.tolist()
        self.baseline_times = self.baseline_alert_times().tolist()
        self._prepare_captures()
        env = self.env
        env.process(self._wearer())
        env.process(self._episodes())
        env.process(self._screening())
        env.process(self._ble_sender())
        env.process(self._glances())
        env.process(self._phone_use())
        env.process(self._baseline())

    def _prepare_captures(self) -> None:
        """Record and verify, in one batch before the day starts, the ECGs the cascade will
        take if the watch stays on: the flags are known (the screener ran on the whole day)
        and so is the cooldown rule. Each capture has its own RNG stream (named by its
        time), so a capture made on demand (the watch was off and the plan changed) is the
        same ECG it would have been. Keeps model work out of the event loop."""
        threshold, cooldown_s = self.p["flag_threshold"], self.p["capture_cooldown_s"]
        planned, last_s = [], -np.inf
        for t_s, score in zip(self.screen_times, self.screen_scores, strict=True):
            if score >= threshold and t_s - last_s >= cooldown_s:
                planned.append(t_s)
                last_s = t_s
        self._ecgs = {t_s: self._record_ecg(t_s) for t_s in planned}
        # One call per capture, as the phone makes it: ORT's results depend on the batch
        # size in the last bits, and an on-demand verdict must equal the planned one.
        self._verdicts = {t_s: self._verify_ecg(ecg) for t_s, ecg in self._ecgs.items()}

    def _record_ecg(self, t_s: float) -> np.ndarray:
        rng = self.sim.new_rng(f"ecg@{t_s:.3f}")
        n = self.p["ecg_windows"]
        return np.stack([wearer.capture_ecg(self.day, t_s + 10.0 * k, rng) for k in range(n)])

    def _verify_ecg(self, ecg: np.ndarray) -> tuple[str, float]:
        return _verdict(self.verifier.predict_proba(ecg[:, None, :]).mean(axis=0).tolist())

    # -- the wearer ----------------------------------------------------------------------
    def _wearer(self):
        for block in self.day.schedule:
            if block.start_s > self.env.now:
                yield self.env.timeout(block.start_s - self.env.now)
            self.sim.trace.append(Activity(self.env.now, block.activity))
            self.activity = block.activity
            self.watch.set_state(WATCH_STATE_OF_ACTIVITY.get(block.activity, "idle"))
            self.phone.set_state("sleep" if block.activity == "sleep" else "idle")

    def _episodes(self):
        for number, episode in enumerate(self.day.episodes):
            if episode.start_s > self.env.now:
                yield self.env.timeout(episode.start_s - self.env.now)
            self.sim.trace.append(Episode(self.env.now, episode.end_s, episode.kind, number))

    def _episode_at(self, t_s: float) -> int:
        for number, episode in enumerate(self.day.episodes):
            if episode.start_s <= t_s < episode.end_s:
                return number
        return -1

    def _glances(self):
        """The wearer looks at the watch now and then: a few seconds of screen on."""
        return self._sessions(self.watch, "glances", self.p["glances_per_hour"], 4.0, 10.0)

    def _phone_use(self):
        return self._sessions(self.phone, "phone_use", self.p["phone_sessions_per_hour"], 60.0, 600.0)

    def _sessions(self, device, stream: str, per_hour: float, min_s: float, max_s: float):
        """While the wearer is awake, ``device`` goes active at random (Poisson,
        ``per_hour``) for ``min_s``–``max_s`` seconds, then back to its state before."""
        rate = per_hour / 3600.0
        if rate <= 0:
            return
        rng = self.sim.rng(stream)
        gaps, lengths = _draws(rng.exponential, 1.0 / rate), _draws(rng.uniform, min_s, max_s)
        timeout = self.env.timeout
        while True:
            yield timeout(next(gaps))
            if self.activity != "sleep" and device.on:
                previous = device.state
                device.set_state("active")
                yield timeout(next(lengths))
                if device.state == "active":
                    device.set_state(previous if previous != "active" else "idle")

    # -- the cascade ---------------------------------------------------------------------
    def _screening(self):
        threshold = self.p["flag_threshold"]
        cooldown_s = self.p["capture_cooldown_s"]
        card = self.screener.card
        env, watch = self.env, self.watch
        timeout = env.timeout
        for t_s, score in zip(self.screen_times, self.screen_scores, strict=True):
            now = env.now
            if t_s > now:
                yield timeout(t_s - now)
            if not watch.on:
                continue
            flagged = score >= threshold
            label = "suspicious" if flagged else "normal"
            # Once a minute all day: the device's fast path when its compute unit is free.
            latency_s = watch.start_inference(card, 1, label, score)
            if latency_s is None:
                yield from watch.infer(card, 1, label, score)
            else:
                yield timeout(latency_s)
                watch.release_compute()
            if flagged and t_s - self._last_capture_s >= cooldown_s:
                self._last_capture_s = t_s
                env.process(self._capture(t_s, score))

    def _capture(self, t_s: float, score: float):
        episode = self._episode_at(t_s)
        self.sim.escalate(self.watch.name, "watch_flag", episode, "suspicious", f"screener score {score:.2f}")
        n = self.p["ecg_windows"]
        power_w = self.watch.profile.components_w.get("ecg_capture", 0.0)
        self.watch.add_load("ecg_capture", power_w)
        yield self.env.timeout(n * 10.0)
        self.watch.remove_load("ecg_capture")
        if not self.watch.on:
            return
        self.energy_j["ecg_capture"] += power_w * n * 10.0
        signals = self._ecgs.pop(t_s, None)
        if signals is None:  # not in the plan: record it now
            started = time.perf_counter()
            signals = self._record_ecg(t_s)
            self.model_s += time.perf_counter() - started
        accel = float(self.day.accel_g[min(max(int(t_s // self.day.dt_s), 0), self.day.accel_g.size - 1)])
        self.sim.escalate(
            self.watch.name, "ecg_capture", episode, "ecg", f"{n}×10 s, wrist motion {accel:.2f} g"
        )
        self.outbox.append(
            {
                "t_s": self.env.now,
                "captured_s": t_s,
                "ecg": signals,
                "accel_g": accel,
                "episode": episode,
                "fallback": False,
            }
        )
        if not self._outbox_signal.triggered:
            self._outbox_signal.succeed()

    def _ble_sender(self):
        """Drain the watch's outbox to the phone: queue while out of range, retry losses,
        and alert the wearer on the watch if an ECG has waited too long."""
        while True:
            if not self.outbox:
                self._outbox_signal = self.env.event()
                yield self._outbox_signal
            item = self.outbox[0]
            size = int(item["ecg"].size * ECG_BYTES_PER_SAMPLE + ALERT_HEADER_BYTES)
            if not self.ble.up:
                self.sim.trace.append(
                    Note(self.env.now, self.watch.name, "queued", f"ECG queued: {self.ble.name} down")
                )
                age = self.env.now - item["t_s"]
                wait_s = max(self.p["max_queue_age_s"] - age, 0.0)
                if not item["fallback"]:
                    yield self.ble.wait_up() | self.env.timeout(wait_s)
                    if not self.ble.up:
                        item["fallback"] = True
                        self.sim.escalate(
                            self.watch.name,
                            "watch_fallback_alert",
                            item["episode"],
                            "ecg",
                            "phone unreachable: wearer alerted on the watch",
                        )
                yield self.ble.wait_up()
                continue
            status = yield from self.ble.send(self.watch, "ecg", size, retries=self.p["retries"])
            if status == "delivered":
                self.outbox.popleft()
                self.sim.escalate(
                    self.watch.name, "ecg_sent", item["episode"], "ecg", f"{size} B over {self.ble.name}"
                )
                self.env.process(self._verify(item))
            elif not self.watch.on:
                return
            else:
                self.sim.trace.append(
                    Note(self.env.now, self.watch.name, "retry", f"ECG {status}; will retry")
                )
                yield self.env.timeout(30.0)

    def _verify(self, item: dict[str, Any]):
        if not self.phone.on:
            return
        verdict = self._verdicts.pop(item["captured_s"], None)
        if verdict is None:  # not in the plan: verify it now
            started = time.perf_counter()
            verdict = self._verify_ecg(item["ecg"])
            self.model_s += time.perf_counter() - started
        label, anomaly_p = verdict
        ok = yield from self.phone.infer(
            self.verifier.card, len(item["ecg"]), label, round(anomaly_p, 4), PRIORITY_URGENT
        )
        if not ok:
            return
        explained = label == "tachycardia" and item["accel_g"] >= self.p["exercise_accel_g"]
        episode = item["episode"]
        if label == "normal" or anomaly_p < self.p["confirm_threshold"] or explained:
            why = "exercise explains the rate" if explained else f"p(anomaly) {anomaly_p:.2f}"
            self.sim.escalate(self.phone.name, "phone_dismiss", episode, label, why)
            return
        self.sim.escalate(self.phone.name, "phone_confirm", episode, label, f"p(anomaly) {anomaly_p:.2f}")
        # Persistence: an isolated abnormal strip (e.g. a benign nocturnal sinus bradycardia
        # the screener flagged once) waits for a follow-up capture before the doctor hears.
        window = self.p["confirm_window_s"]
        self._confirmed_s = [t for t in self._confirmed_s if self.env.now - t <= window] + [self.env.now]
        if len(self._confirmed_s) < self.p["confirmations_needed"]:
            self.sim.trace.append(
                Note(self.env.now, self.phone.name, "follow-up", "waiting for a follow-up ECG to confirm")
            )
            return
        if self.env.now - self._last_alert_s < self.p["alert_holdoff_s"]:
            self.sim.trace.append(
                Note(self.env.now, self.phone.name, "holdoff", "doctor already alerted recently")
            )
            return
        self._last_alert_s = self.env.now
        size = int(item["ecg"].size * ECG_BYTES_PER_SAMPLE + ALERT_HEADER_BYTES)
        status = yield from self.wan.send(
            self.phone, "alert", size, retries=self.p["retries"], wait_for_link_s=6 * 3600.0
        )
        if status != "delivered":
            self.sim.trace.append(
                Note(self.env.now, self.phone.name, "failed", f"alert not delivered ({status})")
            )
            self._last_alert_s = -np.inf
            return
        self.sim.escalate(self.cloud.name, "doctor_alert", episode, label, f"ECG reviewed: {label}")
        yield from self.wan.send(self.cloud, "ack", 256, retries=self.p["retries"])

    # -- the classic rule ----------------------------------------------------------------
    def baseline_alert_times(self) -> np.ndarray:
        """Times of the threshold rule's alerts over the day (vectorised over the HR grid)."""
        day = self.day
        # "Seems inactive" is judged over the last two minutes of wrist motion, as a watch would.
        width = max(int(round(120.0 / day.dt_s)), 1)
        motion = np.convolve(day.accel_g, np.ones(width) / width)[: day.accel_g.size]
        inactive = motion < self.p["baseline_inactive_accel_g"]
        high = (day.hr_bpm > self.p["baseline_high_bpm"]) & inactive & day.hr_valid
        low = (day.hr_bpm < self.p["baseline_low_bpm"]) & inactive & day.hr_valid
        need = int(round(self.p["baseline_sustain_s"] / day.dt_s))
        alerts: list[float] = []
        for condition in (high, low):
            run = 0
            armed = True
            last = -np.inf
            for i, flag in enumerate(condition):
                run = run + 1 if flag else 0
                if not flag:
                    armed = True
                if armed and run >= need and day.t_s[i] - last >= self.p["alert_holdoff_s"]:
                    alerts.append(float(day.t_s[i]))
                    last = day.t_s[i]
                    armed = False
        return np.sort(np.asarray(alerts))

    def _baseline(self):
        for t_s in self.baseline_times:
            if t_s > self.env.now:
                yield self.env.timeout(t_s - self.env.now)
            self.sim.trace.append(
                Escalation(
                    self.env.now,
                    self.watch.name,
                    "baseline_alert",
                    self._episode_at(t_s),
                    "threshold",
                    "classic HR rule",
                )
            )

    # -- metrics -------------------------------------------------------------------------
    def metrics(self, trace: Trace, until_s: float) -> dict[str, Any]:
        health = health_metrics(trace, until_s, self.p["match_grace_s"])
        health["escalation_energy_j"] = {"watch_ecg_capture": round(self.energy_j["ecg_capture"], 4)}
        return {"health": health}


def _score(
    episodes: list[Episode], alerts: list[Escalation], until_s: float, grace_s: float
) -> dict[str, Any]:
    """An alert detects an episode if it came during it (or ``grace_s`` after), or if the
    evidence it rests on was recorded during it (a queued ECG delivered late)."""
    detected = 0
    delays = []
    matched = set()
    for episode in episodes:
        hits = [
            i
            for i, alert in enumerate(alerts)
            if alert.episode == episode.episode or episode.t <= alert.t <= episode.end_t + grace_s
        ]
        if hits:
            detected += 1
            delays.append(alerts[hits[0]].t - episode.t)
            matched.update(hits)
    false_alarms = len(alerts) - len(matched)
    days = max(until_s, 1.0) / 86400.0
    return {
        "episodes": len(episodes),
        "detected": detected,
        "sensitivity": round(detected / len(episodes), 4) if episodes else None,
        "alerts": len(alerts),
        "false_alarms": false_alarms,
        "false_alarms_per_day": round(false_alarms / days, 3),
        "median_time_to_alert_s": round(float(np.median(delays)), 1) if delays else None,
    }


def health_metrics(trace: Trace, until_s: float | None = None, grace_s: float = 900.0) -> dict[str, Any]:
    """Cascade and baseline metrics from a trace, counting what happened by ``until_s``."""
    until_s = trace.end_time if until_s is None else until_s
    records = trace.until(until_s)
    episodes = [r for r in records if type(r) is Episode]
    escalations = [r for r in records if type(r) is Escalation]
    cascade = _score(episodes, [r for r in escalations if r.stage == "doctor_alert"], until_s, grace_s)
    counts = {stage: 0 for stage in STAGES}
    for r in escalations:
        if r.stage != "baseline_alert":
            counts[r.stage] = counts.get(r.stage, 0) + 1
    cascade["escalations"] = counts
    cascade["episodes_by_kind"] = {k: sum(1 for e in episodes if e.kind == k) for k in wearer.EPISODE_KINDS}
    cascade["baseline"] = _score(
        episodes, [r for r in escalations if r.stage == "baseline_alert"], until_s, grace_s
    )
    return cascade
