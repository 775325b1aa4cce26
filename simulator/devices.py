"""Devices: a profile plus a power-state machine, a battery, loads and a compute queue.

A device draws the power of its base state (``sleep``, ``idle``, ``active``…) plus the
extra loads that are switched on (compute engine, radio TX/RX, sensors). Every change of
state or load integrates the energy of the interval that just ended, exactly, and records
the new power in the trace; the device schedules its own depletion from the battery's
time-to-empty at the new power, so an empty battery switches it off on time.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from simulator.battery import Battery
from simulator.compute import CostEstimate, estimate_card
from simulator.profiles import DeviceProfile
from simulator.trace import (
    BatterySample,
    DeviceJoined,
    DeviceLeft,
    DeviceState,
    Inference,
    ModelDeployed,
    ModelRemoved,
    PowerState,
)

if TYPE_CHECKING:
    from simulator.engine import Simulation

# Records are built with tuple.__new__ on the hot paths: a NamedTuple's own __new__ is a
# Python-level function and costs more than the rest of the bookkeeping.
_record = tuple.__new__

# Priority classes for the compute queue (lower runs first).
PRIORITY_URGENT = 0
PRIORITY_NORMAL = 1
PRIORITY_BACKGROUND = 2


class Device:
    """One simulated device; apps drive it through :meth:`set_state`, loads and compute."""

    def __init__(
        self,
        sim: Simulation,
        name: str,
        profile: DeviceProfile,
        battery: Battery | None,
        position: tuple[float, float],
        initial_state: str = "idle",
        models: dict[str, Any] | None = None,
        present: bool = True,
    ) -> None:
        self.sim = sim
        self.env: simpy.Environment = sim.env
        self.name = name
        self.profile = profile
        self.battery = battery
        self.position = position
        # model name → ModelCard of the hosted variant (scenario, then deploys). Keep this
        # class at ≤ 30 instance attributes: past that CPython stops sharing instance-dict
        # keys and every attribute access on the hot paths got 8 % slower (measured).
        self.models: dict[str, Any] = dict(models or {})
        self.present = present
        # The compute unit is busy until ``_compute_free_s``; calls that find it busy wait
        # in a priority heap and are handed the unit by a dispatch at that time.
        self._compute_free_s = 0.0
        self._dispatch_pending = False
        self._compute_waiting: list[tuple[int, int, simpy.Event]] = []
        self._compute_seq = 0
        self.on = True
        self.charging = False
        self.state = initial_state
        self.loads: dict[str, float] = {}
        self._state_power_w = profile.power_states_w
        self.power_w = profile.power_states_w[initial_state]
        self.energy_j = 0.0
        self._last_change_s = 0.0
        self._watch_generation = 0
        self._check_due_s = math.inf
        self.inferences = 0
        # Keyed by id(card) for speed; the card is kept in the entry and checked with `is`, so
        # a card freed and a new one given its id never reads the old card's cost.
        self._costs: dict[tuple[int, int], tuple[Any, CostEstimate]] = {}
        self._bursts: dict[tuple[int, int], tuple[Any, float, float]] = {}  # (card, latency_s, energy_j)
        self._sampled_soc = -1.0
        self._pending_burst_j = 0.0
        self._sampled_charging = False
        self._append = sim.trace.append
        if present:
            self._changed()
        else:  # not in the home yet: draws nothing, records nothing until it joins
            self.on = False
            self.state = "off"
            self.power_w = 0.0

    # -- queries -------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.profile.kind

    @property
    def compute_queue_len(self) -> int:
        return int(self.env.now < self._compute_free_s) + len(self._compute_waiting)

    @property
    def state_of_charge(self) -> float:
        return self.battery.state_of_charge if self.battery is not None else 1.0

    def energy_now_j(self) -> float:
        """Energy drawn so far including the interval since the last change."""
        return self.energy_j + self.power_w * (self.env.now - self._last_change_s)

    # -- power-state machine ---------------------------------------------------------
    def set_state(self, state: str) -> None:
        """Enter base power state ``state`` (one of the profile's power states)."""
        if not self.on or state == self.state:
            return
        if state not in self.profile.power_states_w:
            raise ValueError(f"device {self.name!r} has no power state {state!r}")
        self._integrate()
        self.state = state
        self._changed()

    def add_load(self, name: str, power_w: float) -> None:
        """Switch on an extra load (compute, radio, sensor) drawing ``power_w``."""
        if not self.on:
            return
        self._integrate()
        self.loads[name] = power_w
        self._changed()

    def remove_load(self, name: str) -> None:
        if name not in self.loads:
            return
        self._integrate()
        del self.loads[name]
        self._changed()

    def start_charging(self) -> None:
        if self.battery is None or self.profile.charging_power_w is None or self.charging:
            return
        self._integrate()
        self.charging = True
        if not self.on:
            self._switch(True, "charging")
        self._changed()

    def stop_charging(self) -> None:
        if not self.charging:
            return
        self._integrate()
        self.charging = False
        self._changed()

    def switch_off(self, reason: str) -> None:
        if not self.on:
            return
        self._integrate()
        self._switch(False, reason)
        self._changed()

    def switch_on(self, reason: str) -> None:
        if (
            self.on
            or not self.present
            or (self.battery is not None and self.battery.empty and not self.charging)
        ):
            return
        self._integrate()
        self._switch(True, reason)
        self._changed()

    # -- joining and leaving the home; hosted models -------------------------------------
    def join(self, reason: str) -> None:
        """Enter the home (see :meth:`Simulation.join`): recorded with what views need to
        draw it, then switched on in its initial state; the models it brings are deployed."""
        now = self.env.now
        self.present = True
        capacity = self.battery.capacity_wh if self.battery is not None else None
        x, y = self.position
        self.sim.trace.append(
            DeviceJoined(now, self.name, self.kind, self.profile.name, capacity, x, y, reason)
        )
        self._last_change_s = now
        if self.battery is not None and self.battery.empty and not self.charging:
            return  # back in the home with an empty battery: present, but off
        self.on = True
        self.state = self.sim.spec_device(self.name)["state"]
        self.sim.trace.append(DeviceState(now, self.name, True, reason))
        self._changed()
        for card in list(self.models.values()):
            self.deploy(card, reason="brought by the device")

    def leave(self, reason: str) -> None:
        """Leave the home: switch off and stop drawing (the trace records it)."""
        self.switch_off(reason)
        self.present = False
        self.sim.trace.append(DeviceLeft(self.env.now, self.name, reason))

    def hosted_variant(self, model: str) -> str | None:
        """The variant of ``model`` this device hosts (``None`` if it hosts none)."""
        card = self.models.get(model)
        return None if card is None else card.variant

    def deploy(self, card, app: str = "", serves: str = "", reason: str = "deployed") -> None:
        """Install ``card``'s variant now (its bytes have arrived): it serves from here on.
        A variant of the same model it replaces is recorded as removed."""
        previous = self.hosted_variant(card.model)
        now = self.env.now
        if previous is not None and previous != card.variant:
            self.sim.trace.append(
                ModelRemoved(now, self.name, card.model, previous, f"replaced by {card.variant}")
            )
        self.models[card.model] = card
        self.sim.trace.append(
            ModelDeployed(
                now,
                self.name,
                card.model,
                card.variant,
                str(card.version),
                int(card.bytes),
                card.privacy_level,
                app,
                serves,
                reason,
            )
        )

    def remove_model(self, model: str, reason: str) -> None:
        """Stop serving ``model`` (recorded)."""
        card = self.models.pop(model, None)
        if card is not None:
            self.sim.trace.append(ModelRemoved(self.env.now, self.name, model, card.variant, reason))

    # -- compute -----------------------------------------------------------------------
    def cost(self, card, batch: int = 1) -> CostEstimate:
        """Estimated device cost of ``batch`` inferences of ``card`` (cached)."""
        key = (id(card), batch)
        entry = self._costs.get(key)
        if entry is None or entry[0] is not card:
            entry = self._costs[key] = (card, estimate_card(self.profile, card, batch))
        return entry[1]

    def run(
        self, card, n_windows: int, label: str, score: float, priority: int = PRIORITY_NORMAL
    ) -> simpy.Event:
        """Run ``card``'s model on ``n_windows`` inputs as one batch, now: the one way apps
        use a device's compute unit. Yield the returned event; its value is True when the
        call ran, False if the device is (or went) off while it waited.

        ``label``/``score`` are the real model output, computed by the caller with
        :mod:`models.runtime` (batched outside the event loop). Calls queue for the
        device's one compute unit, lower ``priority`` first. The burst's energy (engine
        power × device latency) is drawn when it starts; it is on the ``Inference`` record
        rather than a pair of power-state records, since bursts last micro- to
        milliseconds."""
        if self.on and not self._compute_waiting and self.env._now >= self._compute_free_s:
            # The common case (a free unit) is one timeout and no release event: a periodic
            # screener runs this all day, and a process or a callback per call cost 7–15 %
            # of engine speed.
            latency_s = self._run_inference(card, n_windows, label, score)
            self._compute_free_s = self.env._now + latency_s
            return self.env.timeout(latency_s, True)
        return self.env.process(self._queued(card, n_windows, label, score, priority))

    def _queued(
        self, card, n_windows: int, label: str, score: float, priority: int
    ) -> Generator[simpy.Event, Any, bool]:
        if not self.on:
            return False
        self._compute_seq += 1
        ticket = self.env.event()
        heapq.heappush(self._compute_waiting, (priority, self._compute_seq, ticket))
        self._schedule_dispatch()
        yield ticket
        if not self.on:
            self._compute_free_s = self.env.now
            self._schedule_dispatch()
            return False
        latency_s = self._run_inference(card, n_windows, label, score)
        self._compute_free_s = self.env.now + latency_s
        self._schedule_dispatch()
        yield self.env.timeout(latency_s)
        return self.on

    def _schedule_dispatch(self) -> None:
        """Hand the unit to the first waiting call when it is free (one pending dispatch).
        While the unit is reserved for a call that was woken but has not resumed yet, that
        call schedules the next dispatch when it takes the unit (a dispatch "at infinity"
        here would block every later call)."""
        if self._dispatch_pending or not self._compute_waiting or self._compute_free_s == math.inf:
            return
        self._dispatch_pending = True
        self.env.timeout(max(self._compute_free_s - self.env.now, 0.0)).callbacks.append(self._dispatch)

    def _dispatch(self, _event: simpy.Event) -> None:
        self._dispatch_pending = False
        if self._compute_waiting:
            self._compute_free_s = math.inf  # reserved until the call it wakes takes it
            heapq.heappop(self._compute_waiting)[2].succeed()

    def _run_inference(self, card, n_windows: int, label: str, score: float) -> float:
        burst = self._bursts.get((id(card), n_windows))
        if burst is None or burst[0] is not card:
            cost = self.cost(card, n_windows)
            burst = self._bursts[(id(card), n_windows)] = (card, cost.latency_s, cost.energy_j)
        _, latency_s, energy_j = burst
        now = self.env._now
        self._append(
            _record(
                Inference,
                (
                    now,
                    self.name,
                    card.model,
                    card.variant,
                    n_windows,
                    now + latency_s,
                    energy_j,
                    label,
                    score,
                ),
            )
        )
        self.inferences += 1
        # The burst's energy is added now and reaches the battery with the interval it
        # falls in, at the next change or battery check (a burst of micro- to milliseconds
        # does not warrant integrating the battery by itself).
        self.energy_j += energy_j
        if self.battery is not None:
            self._pending_burst_j += energy_j
        return latency_s

    # -- internals -----------------------------------------------------------------------
    def _switch(self, on: bool, reason: str) -> None:
        self.on = on
        if not on:
            self.loads.clear()
            self.state = "off"
        else:
            self.state = "idle"
        self.sim.trace.append(DeviceState(self.env.now, self.name, on, reason))

    def _integrate(self) -> None:
        now = self.env._now
        duration_s = now - self._last_change_s
        if duration_s > 0.0:
            self.energy_j += self.power_w * duration_s
            if self.battery is not None:
                power_w = self._battery_power_w() if self.charging else self.power_w
                power_w += self._pending_burst_j / duration_s
                self._pending_burst_j = 0.0
                self.battery.step(power_w, duration_s)
            self._last_change_s = now

    def _battery_power_w(self) -> float:
        if self.charging:
            if self.battery.state_of_charge >= 1.0:
                return 0.0  # full: the charger carries the load
            return self.power_w - self.profile.charging_power_w
        return self.power_w

    def _changed(self) -> None:
        """Power changed: compute it, record it (and a battery sample now and then), and
        re-arm the depletion check. Runs at every power change, so it is one flat body."""
        loads = self.loads
        on = self.on
        power_w = self.power_w = self._state_power_w[self.state] + sum(loads.values()) if on else 0.0
        now = self.env._now
        label = "+".join((self.state, *loads)) if loads else self.state
        charging = self.charging
        if charging:
            label += "+charging"
        append = self._append
        append(_record(PowerState, (now, self.name, label, power_w)))
        battery = self.battery
        if battery is None:
            if self._sampled_soc != 1.0 or power_w == 0.0:
                self._sampled_soc = 1.0
                append(_record(BatterySample, (now, self.name, 1.0, self.energy_j)))
            return
        soc = battery.charge_j / battery.capacity_j
        # Battery samples at every 0.05 % of charge (and on/off/charging changes) are
        # plenty for plots; power states carry the exact energy.
        if abs(soc - self._sampled_soc) >= 5e-4 or power_w == 0.0 or charging != self._sampled_charging:
            self._sampled_soc = soc
            self._sampled_charging = charging
            append(_record(BatterySample, (now, self.name, soc, self.energy_j)))
        self._watch_battery()

    def _watch_battery(self) -> None:
        """Make sure a check is pending no later than the battery could empty (or fill).

        ``available / power`` is a lower bound on the time to empty (exact for a linear
        battery; KiBaM's bound well only adds to the available one while discharging), so a
        cheap check is scheduled there and re-armed when it fires; the exact KiBaM root is
        solved only in the last minute. Power changes that leave the pending check earlier
        than needed schedule nothing, which keeps the event count low."""
        if self.battery is None:
            return
        net_w = self._battery_power_w()
        if net_w > 0.0 and self.on:
            wait_s = self.battery.available_j / net_w
            if wait_s < 60.0:
                wait_s = self.battery.time_to_empty_s(net_w)
        elif net_w < 0.0:
            wait_s = self.battery.time_to_full_s(-net_w)
        else:
            return
        due_s = self.env.now + wait_s
        if due_s > self.sim.duration_s or due_s >= self._check_due_s:
            return
        self._watch_generation += 1
        self._check_due_s = due_s
        generation = self._watch_generation
        self.env.timeout(wait_s).callbacks.append(lambda _event: self._battery_check(generation))

    def _battery_check(self, generation: int) -> None:
        if generation != self._watch_generation:
            return  # superseded by an earlier check
        self._check_due_s = math.inf
        self._integrate()
        net_w = self._battery_power_w()
        if self.charging and net_w < 0.0 and self.battery.capacity_j - self.battery.charge_j < 1e-6:
            self.battery.set_full()
            self._changed()  # full: now the charger carries the load
        elif self.on and net_w > 0.0 and self.battery.available_j <= 1e-6 * self.battery.capacity_j:
            self._switch(False, "depleted")
            self._changed()
        else:
            self._watch_battery()
