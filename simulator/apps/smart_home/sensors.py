"""The sensors: each sensor's gated inputs reach its chain's first stage at their time; a
PIR camera wakes for its clips (awake power, Wi-Fi, the motion gate's compute as a load);
a timer stage runs a best-effort batch that leaves ``reserved_share`` of the accelerator
to real-time chains."""

from __future__ import annotations

from typing import TYPE_CHECKING

import simulator.apps.smart_home.chains as chain_schema
import simulator.apps.smart_home.streams as streams
from simulator.apps.smart_home.gating import MOTION_BYTES_PER_FRAME, MOTION_OPS_PER_FRAME
from simulator.apps.smart_home.metrics import GATE_LOAD
from simulator.compute import estimate

if TYPE_CHECKING:
    from simulator.apps.smart_home.runs import ChainRuns
    from simulator.apps.smart_home.state import HomeState
    from simulator.apps.smart_home.verdicts import Verdicts
    from simulator.apps.smart_home.where import Where


class Sensors:
    """The sensor and timer processes of one smart home (see module docstring)."""

    def __init__(self, home: HomeState, runs: ChainRuns, where: Where, verdicts: Verdicts) -> None:
        self.home = home
        self.runs = runs
        self.where = where
        self.verdicts = verdicts

    def sensor(self, chain: dict, stage: dict, stream: streams.Stream):
        """Feed each gated input of ``stream`` to the chain's first stage at its time; a PIR
        camera wakes for its clips (awake power, Wi-Fi, the motion gate's compute)."""
        env = self.home.env
        dev = self.home.device(stage["device"])
        pir = stream.source == "motion" and stage["device"] in self.home.pir_cameras
        is_camera = stream.source == "motion"
        gate_w = self.gate_power_w(dev, stream) if is_camera else 0.0
        if is_camera and not pir:
            self._wake(dev, gate_w)
        last_group = None
        for k, ready_s in enumerate(stream.ready_s):
            if ready_s > env.now:
                yield env.timeout(ready_s - env.now)
            if not (dev.present and dev.on):
                continue
            if pir and stream.group[k] != last_group:
                if last_group is not None:
                    self._sleep(dev)
                last_group = stream.group[k]
                self._wake(dev, gate_w)
                if self.home.params["switching"] and stage["device"] in self.where.switching_cameras():
                    env.process(self.where.measure_rtt(stage["device"]))
                env.process(self._sleep_after_clip(dev, stream, k))
            if not stream.gated[k]:
                continue
            card = self.home.deployment.serving(stage["device"], stage["model"])
            if card is None:  # its model has not arrived yet
                continue
            if stage["when"] != "any" and (stage["when"] == "home") != self.home.someone_home():
                continue
            env.process(self.runs.first_stage(chain, stage, stream, k, card))

    def gate_power_w(self, dev, stream: streams.Stream) -> float:
        if not self.home.params["motion_gating"]:
            return 0.0
        period = (
            self.home.params["door_frame_period_s"]
            if dev.name in self.home.pir_cameras
            else self.home.params["indoor_frame_period_s"]
        )
        cost = estimate(dev.profile, MOTION_OPS_PER_FRAME, 0.0, "fp32", MOTION_BYTES_PER_FRAME / 2)
        # Frame differencing is a loop in the capture pipeline, not a call into a model
        # runtime: it does not pay the profile's per-call overhead.
        busy_s = cost.latency_s - dev.profile.compute_overhead_s
        return cost.energy_j * busy_s / cost.latency_s / period

    def _wake(self, dev, gate_w: float) -> None:
        if dev.name in self.home.awake_since:
            return
        self.home.awake_since[dev.name] = self.home.env.now
        dev.set_state("active")
        if "wifi" in dev.profile.components_w:
            dev.add_load("wifi", dev.profile.components_w["wifi"])
        if gate_w > 0:
            dev.add_load(GATE_LOAD, gate_w)

    def _sleep(self, dev) -> None:
        since = self.home.awake_since.pop(dev.name, None)
        if since is None:
            return
        dev.remove_load(GATE_LOAD)
        dev.remove_load("wifi")
        dev.set_state("sleep")

    def _sleep_after_clip(self, dev, stream: streams.Stream, first: int):
        group = stream.group[first]
        last = first
        while last + 1 < len(stream) and stream.group[last + 1] == group:
            last += 1
        end_s = stream.ready_s[last] + self.home.params["door_frame_period_s"]
        yield self.home.env.timeout(max(end_s - self.home.env.now, 0.0))
        # Chains still in flight keep the Wi-Fi up a moment (their payloads are small).
        if dev.name in self.home.awake_since and self.home.awake_since[dev.name] <= stream.ready_s[first]:
            self._sleep(dev)

    def timer(self, chain: dict, stage: dict):
        """A best-effort batch every ``every``: the frames camera ``input_from`` let through
        since the last tick, analysed on the stage's device in slices that leave
        ``reserved_share`` of its accelerator to real-time chains."""
        stream = self.home.streams.get(stage["input_from"])
        if stream is None:
            return
        dev = self.home.device(stage["device"])
        last_s = 0.0
        while True:
            yield self.home.env.timeout(stage["every"])
            card = self.home.deployment.serving(stage["device"], stage["model"])
            batch = [
                k for k, t in enumerate(stream.ready_s) if last_s < t <= self.home.env.now and stream.gated[k]
            ]
            last_s = self.home.env.now
            if card is None or not batch or not (dev.present and dev.on):
                continue
            run = self.runs.new_run()
            started = self.home.env.now
            labels = [self.verdicts.verdict(card, stream, k)[0] for k in batch]
            found = {c: labels.count(c) for c in sorted(set(labels))}
            energy = yield from self.best_effort_batch(dev, card, len(batch), chain)
            self.runs.stage_record(
                chain,
                run,
                stage,
                dev.name,
                card,
                "action",
                "indexed",
                1.0,
                started,
                started,
                energy,
                f"{len(batch)} frames: " + ", ".join(f"{v} {c}" for c, v in found.items()),
            )

    def best_effort_batch(self, dev, card, n: int, chain: dict):
        """Run ``n`` windows of ``card`` on device ``dev`` for ``chain``: a best-effort
        chain's batch runs in slices of at most ``best_effort_slice_s``, idling
        ``share / (1 − share)`` of each slice after it, so real-time calls wait at most one
        slice (``reserved_share``); a real-time chain's runs as one call (generator;
        returns the energy)."""
        share = self.home.params["reserved_share"] if chain["qos"] not in chain_schema.REAL_TIME else 0.0
        per_window_s = dev.cost(card, 1).latency_s
        size = (
            n
            if share <= 0
            else max(1, int(self.home.params["best_effort_slice_s"] / max(per_window_s, 1e-9)))
        )
        energy = 0.0
        done = 0
        while done < n:
            m = min(size, n - done)
            ok = yield dev.run(card, m, "batch", 1.0, chain["priority"])
            if not ok:
                break
            energy += dev.cost(card, m).energy_j
            done += m
            if share > 0 and done < n:
                yield self.home.env.timeout(dev.cost(card, m).latency_s * share / (1.0 - share))
        return energy
