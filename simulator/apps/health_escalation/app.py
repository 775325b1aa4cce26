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

from models.data import wearer
from models.data.ecg import ESCALATED
from simulator.apps.base import App
from simulator.apps.health_escalation.encrypted import EncryptedRisk, check_he_params, encrypted_metrics
from simulator.apps.health_escalation.metrics import capture_energy_j, health_metrics
from simulator.apps.health_escalation.records import STAGES, Activity, Episode, Escalation, HeRisk
from simulator.devices import PRIORITY_URGENT
from simulator.trace import Note, Trace
from simulator.validate import Field, ListOf, SpecError, check_file

ECG_BYTES_PER_SAMPLE = 2  # 16-bit ADC samples
ALERT_HEADER_BYTES = 512

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
    # the wearer's premature beats (models.data.wearer.add_ectopy): mean share of sinus beats
    # replaced by an ectopic event at rest (0 = none), and the share that are ventricular
    "ectopy_rate": Field(float, default=0.0, minimum=0.0, maximum=0.5),
    "ectopy_pvc_share": Field(float, default=0.6, minimum=0.0, maximum=1.0),
    # a confirmed capture's risk scored by the cloud on CKKS ciphertexts (.encrypted)
    "cloud_risk": Field(str, default="off", choices=("off", "encrypted")),
    "he_poly_degree": Field(int, default=8192),
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


def _verdict(classes: tuple[str, ...], probabilities: list[float]) -> tuple[str, float]:
    """The verifier's label and p(anomaly) from its class probabilities (mean over strips):
    p(anomaly) sums the classes that escalate, so premature beats (``ectopy``) are not one."""
    anomaly = sum(p for c, p in zip(classes, probabilities, strict=True) if c in ESCALATED)
    return classes[probabilities.index(max(probabilities))], anomaly


def _draws(method, *args, chunk: int = 256):
    """Endless scalar draws of ``method(*args)`` taken from the RNG a chunk at a time
    (a numpy scalar draw costs about as much as the event it times)."""
    while True:
        yield from method(*args, size=chunk).tolist()


class HealthEscalation(App):
    """The health escalation app (see module docstring)."""

    TYPE = "health_escalation"
    DESCRIPTION = "watch screens heart rate → phone verifies an ECG → cloud doctor alerted"
    PARAMS = PARAMS_SCHEMA
    RECORDS = {"escalation": Escalation, "episode": Episode, "activity": Activity, "he_risk": HeRisk}
    HOOKS = (*STAGES, "baseline_alert")
    DEVICE_PARAMS = ("watch", "phone", "cloud")
    LEGACY_STREAM_NAME = "health"

    @classmethod
    def check_params(cls, raw: Any, scenario: dict[str, Any], file: str, where: str) -> dict[str, Any]:
        params = super().check_params(raw, scenario, file, where)
        episodes = params["episodes"]
        if isinstance(episodes, list):
            params["episodes"] = check_file(ListOf(EPISODE_SCHEMA), episodes, file, f"{where}.episodes")
        elif isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 0:
            raise SpecError(
                f"{file}, {where}.episodes: expected a count ≥ 0 or a list of episodes, got {episodes!r}"
            )
        schedule = params["schedule"]
        if isinstance(schedule, list):
            params["schedule"] = check_file(ListOf(BLOCK_SCHEMA), schedule, file, f"{where}.schedule")
        elif schedule != "default":
            raise SpecError(
                f"{file}, {where}.schedule: expected 'default' or a list of blocks, got {schedule!r}"
            )
        check_he_params(params, file, where)
        return params

    def __init__(self, sim, name: str, params: dict[str, Any], where: str) -> None:
        super().__init__(sim, name, params, where)
        self.activity = "rest"
        self.watch = sim.devices[params["watch"]]
        self.phone = sim.devices[params["phone"]]
        self.cloud = sim.devices[params["cloud"]]
        self.ble = self.link_between(self.watch, self.phone)
        self.wan = self.link_between(self.phone, self.cloud)
        self.screener = self.load_model(self.watch, "hr_screener")
        self.verifier = self.load_model(self.phone, "ecg_verifier")
        self.day = self._make_day()
        self.outbox: deque[dict[str, Any]] = deque()
        self._outbox_signal = self.env.event()
        self._last_capture_s = -np.inf
        self._last_alert_s = -np.inf
        self._confirmed_s: list[float] = []
        self.model_s = 0.0  # wall time of real model work inside the event loop
        self.encrypted_risk = EncryptedRisk(self) if params["cloud_risk"] == "encrypted" else None

    # -- set-up ------------------------------------------------------------------------
    def _make_day(self) -> wearer.WearerDay:
        """The wearer's day (params were checked at load: 'default' or lists of blocks and
        episodes, or an episode count)."""
        rng = self.rng("wearer")
        duration = self.sim.duration_s
        blocks = self.params["schedule"]
        if blocks == "default":
            schedule = wearer.default_schedule(rng, duration)
        else:
            schedule = [wearer.ActivityBlock(b["start"], b["end"], b["activity"]) for b in blocks]
        episodes = self.params["episodes"]
        if isinstance(episodes, int):
            specs = wearer.random_episodes(rng, episodes, schedule, duration)
        else:
            specs = [wearer.EpisodeSpec(e["start"], e["duration"], e["kind"]) for e in episodes]
        day = wearer.simulate_day(schedule, specs, duration, rng)
        if self.params["ectopy_rate"] > 0:  # its own stream: the rest of the day is unchanged
            day = wearer.add_ectopy(
                day, self.params["ectopy_rate"], self.params["ectopy_pvc_share"], self.rng("ectopy")
            )
        return day

    def start(self) -> None:
        period = self.params["screen_period_s"]
        self.screen_times = np.arange(self.params["window_s"], self.sim.duration_s, period)
        windows = wearer.screening_windows(self.day, self.screen_times, self.params["window_s"])
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
        threshold, cooldown_s = self.params["flag_threshold"], self.params["capture_cooldown_s"]
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
        rng = self.new_rng(f"ecg@{t_s:.3f}")
        n = self.params["ecg_windows"]
        return np.stack([wearer.capture_ecg(self.day, t_s + 10.0 * k, rng) for k in range(n)])

    def _verify_ecg(self, ecg: np.ndarray) -> tuple[str, float]:
        probabilities = self.verifier.predict_proba(ecg[:, None, :]).mean(axis=0).tolist()
        return _verdict(self.verifier.classes, probabilities)

    def _escalate(self, device: str, stage: str, episode: int, label: str, detail: str = "") -> None:
        """Record an escalation stage (and fire any narration anchored to it)."""
        self.sim.trace.append(Escalation(self.env.now, self.name, device, stage, episode, label, detail))
        self.fire(stage)

    # -- the wearer ----------------------------------------------------------------------
    def _wearer(self):
        for block in self.day.schedule:
            if block.start_s > self.env.now:
                yield self.env.timeout(block.start_s - self.env.now)
            self.sim.trace.append(Activity(self.env.now, self.name, block.activity))
            self.activity = block.activity
            self.watch.set_state(WATCH_STATE_OF_ACTIVITY.get(block.activity, "idle"))
            self.phone.set_state("sleep" if block.activity == "sleep" else "idle")

    def _episodes(self):
        for number, episode in enumerate(self.day.episodes):
            if episode.start_s > self.env.now:
                yield self.env.timeout(episode.start_s - self.env.now)
            self.sim.trace.append(Episode(self.env.now, self.name, episode.end_s, episode.kind, number))

    def _episode_at(self, t_s: float) -> int:
        for number, episode in enumerate(self.day.episodes):
            if episode.start_s <= t_s < episode.end_s:
                return number
        return -1

    def _glances(self):
        """The wearer looks at the watch now and then: a few seconds of screen on."""
        return self._sessions(self.watch, "glances", self.params["glances_per_hour"], 4.0, 10.0)

    def _phone_use(self):
        return self._sessions(self.phone, "phone_use", self.params["phone_sessions_per_hour"], 60.0, 600.0)

    def _sessions(self, device, stream: str, per_hour: float, min_s: float, max_s: float):
        """While the wearer is awake, ``device`` goes active at random (Poisson,
        ``per_hour``) for ``min_s``–``max_s`` seconds, then back to its state before."""
        rate = per_hour / 3600.0
        if rate <= 0:
            return
        rng = self.rng(stream)
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
        threshold = self.params["flag_threshold"]
        cooldown_s = self.params["capture_cooldown_s"]
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
            yield watch.run(card, 1, label, score)
            if flagged and t_s - self._last_capture_s >= cooldown_s:
                self._last_capture_s = t_s
                env.process(self._capture(t_s, score))

    def _capture(self, t_s: float, score: float):
        episode = self._episode_at(t_s)
        self._escalate(self.watch.name, "watch_flag", episode, "suspicious", f"screener score {score:.2f}")
        n = self.params["ecg_windows"]
        power_w = self.watch.profile.components_w.get("ecg_capture", 0.0)
        self.watch.add_load("ecg_capture", power_w)
        yield self.env.timeout(n * 10.0)
        self.watch.remove_load("ecg_capture")
        if not self.watch.on:
            return
        signals = self._ecgs.pop(t_s, None)
        if signals is None:  # not in the plan: record it now
            started = time.perf_counter()
            signals = self._record_ecg(t_s)
            self.model_s += time.perf_counter() - started
        accel = float(self.day.accel_g[min(max(int(t_s // self.day.dt_s), 0), self.day.accel_g.size - 1)])
        self._escalate(
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
                wait_s = max(self.params["max_queue_age_s"] - age, 0.0)
                if not item["fallback"]:
                    yield self.ble.wait_up() | self.env.timeout(wait_s)
                    if not self.ble.up:
                        item["fallback"] = True
                        self._escalate(
                            self.watch.name,
                            "watch_fallback_alert",
                            item["episode"],
                            "ecg",
                            "phone unreachable: wearer alerted on the watch",
                        )
                yield self.ble.wait_up()
                continue
            status = yield from self.ble.send(self.watch, "ecg", size, retries=self.params["retries"])
            if status == "delivered":
                self.outbox.popleft()
                self._escalate(
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
        ok = yield self.phone.run(
            self.verifier.card, len(item["ecg"]), label, round(anomaly_p, 4), PRIORITY_URGENT
        )
        if not ok:
            return
        explained = label == "tachycardia" and item["accel_g"] >= self.params["exercise_accel_g"]
        episode = item["episode"]
        if label not in ESCALATED or anomaly_p < self.params["confirm_threshold"] or explained:
            why = "exercise explains the rate" if explained else f"p(anomaly) {anomaly_p:.2f}"
            if label == "ectopy":
                why = f"premature beats, not an arrhythmia: p(anomaly) {anomaly_p:.2f}"
            self._escalate(self.phone.name, "phone_dismiss", episode, label, why)
            return
        self._escalate(self.phone.name, "phone_confirm", episode, label, f"p(anomaly) {anomaly_p:.2f}")
        if self.encrypted_risk is not None:  # beside the alert path, which stays as it was
            self.env.process(self.encrypted_risk.run(item, episode))
        # Persistence: an isolated abnormal strip (e.g. a benign nocturnal sinus bradycardia
        # the screener flagged once) waits for a follow-up capture before the doctor hears.
        window = self.params["confirm_window_s"]
        self._confirmed_s = [t for t in self._confirmed_s if self.env.now - t <= window] + [self.env.now]
        if len(self._confirmed_s) < self.params["confirmations_needed"]:
            self.sim.trace.append(
                Note(self.env.now, self.phone.name, "follow-up", "waiting for a follow-up ECG to confirm")
            )
            return
        if self.env.now - self._last_alert_s < self.params["alert_holdoff_s"]:
            self.sim.trace.append(
                Note(self.env.now, self.phone.name, "holdoff", "doctor already alerted recently")
            )
            return
        self._last_alert_s = self.env.now
        size = int(item["ecg"].size * ECG_BYTES_PER_SAMPLE + ALERT_HEADER_BYTES)
        status = yield from self.wan.send(
            self.phone, "alert", size, retries=self.params["retries"], wait_for_link_s=6 * 3600.0
        )
        if status != "delivered":
            self.sim.trace.append(
                Note(self.env.now, self.phone.name, "failed", f"alert not delivered ({status})")
            )
            self._last_alert_s = -np.inf
            return
        self._escalate(self.cloud.name, "doctor_alert", episode, label, f"ECG reviewed: {label}")
        yield from self.wan.send(self.cloud, "ack", 256, retries=self.params["retries"])

    # -- the classic rule ----------------------------------------------------------------
    def baseline_alert_times(self) -> np.ndarray:
        """Times of the threshold rule's alerts over the day (vectorised over the HR grid)."""
        day = self.day
        # "Seems inactive" is judged over the last two minutes of wrist motion, as a watch would.
        width = max(int(round(120.0 / day.dt_s)), 1)
        motion = np.convolve(day.accel_g, np.ones(width) / width)[: day.accel_g.size]
        inactive = motion < self.params["baseline_inactive_accel_g"]
        high = (day.hr_bpm > self.params["baseline_high_bpm"]) & inactive & day.hr_valid
        low = (day.hr_bpm < self.params["baseline_low_bpm"]) & inactive & day.hr_valid
        need = int(round(self.params["baseline_sustain_s"] / day.dt_s))
        alerts: list[float] = []
        for condition in (high, low):
            run = 0
            armed = True
            last = -np.inf
            for i, flag in enumerate(condition):
                run = run + 1 if flag else 0
                if not flag:
                    armed = True
                if armed and run >= need and day.t_s[i] - last >= self.params["alert_holdoff_s"]:
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
                    self.name,
                    self.watch.name,
                    "baseline_alert",
                    self._episode_at(t_s),
                    "threshold",
                    "classic HR rule",
                )
            )

    # -- metrics -------------------------------------------------------------------------
    @classmethod
    def summarize(cls, trace: Trace, app: dict[str, Any], end_s: float) -> dict[str, Any]:
        params = app["params"]
        health = health_metrics(trace, end_s, params["match_grace_s"], app["name"])
        energy_j = capture_energy_j(trace, end_s, app["name"], params["watch"], params["ecg_windows"])
        health["escalation_energy_j"] = {"watch_ecg_capture": round(energy_j, 4)}
        if params.get("cloud_risk") == "encrypted":
            health["encrypted_risk"] = encrypted_metrics(
                trace, end_s, app["name"], params["phone"], params["cloud"]
            )
        return health
