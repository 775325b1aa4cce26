"""Batteries: linear coulomb counting and the kinetic battery model (KiBaM).

A battery is drained (or charged) at a constant power over an interval; the device calls
:meth:`Battery.step` exactly at each power change, so energy is integrated without a
sampling meter. Power is turned into current at the nominal voltage, so the charge removed
is exactly the energy drawn divided by the voltage: ``energy_drawn_j`` is conserved.

KiBaM (Manwell & McGowan 1993) splits the charge into an *available* well (fraction ``c``)
that feeds the load and a *bound* well that refills it at rate ``k``. Heavy loads empty
the available well before the bound charge can follow (rate-capacity effect); rest lets it
refill (recovery). The battery is empty when the available well is.
"""

from __future__ import annotations

import math

_EPS_J = 1e-9


class Battery:
    """Linear battery: state of charge falls in proportion to the energy drawn."""

    kind = "linear"

    def __init__(self, capacity_wh: float, state_of_charge: float = 1.0, voltage_v: float = 3.85) -> None:
        assert capacity_wh > 0 and 0.0 <= state_of_charge <= 1.0
        self.capacity_j = capacity_wh * 3600.0
        self.voltage_v = voltage_v
        self.charge_j = state_of_charge * self.capacity_j
        self.energy_drawn_j = 0.0
        self.energy_charged_j = 0.0

    @property
    def capacity_wh(self) -> float:
        return self.capacity_j / 3600.0

    @property
    def state_of_charge(self) -> float:
        return self.charge_j / self.capacity_j

    @property
    def available_j(self) -> float:
        """Energy the load can draw right now before the battery reads empty."""
        return self.charge_j

    @property
    def empty(self) -> bool:
        return self.available_j <= _EPS_J

    def step(self, power_w: float, duration_s: float) -> None:
        """Draw ``power_w`` (negative: charge) for ``duration_s`` seconds."""
        if duration_s <= 0.0 or power_w == 0.0:
            return
        energy_j = power_w * duration_s
        if energy_j > 0:
            self.energy_drawn_j += energy_j
        else:
            energy_j = max(energy_j, self.charge_j - self.capacity_j)
            self.energy_charged_j -= energy_j
        self._remove(energy_j, duration_s)

    def _remove(self, energy_j: float, duration_s: float) -> None:
        self.charge_j -= energy_j

    def set_full(self) -> None:
        """Snap to exactly full (ends a charge; removes rounding residue)."""
        self.charge_j = self.capacity_j

    def time_to_empty_s(self, power_w: float) -> float:
        """Seconds until empty at constant ``power_w`` (``inf`` if never)."""
        if power_w <= 0.0:
            return math.inf
        return max(self.charge_j, 0.0) / power_w

    def time_to_full_s(self, charge_power_w: float) -> float:
        if charge_power_w <= 0.0:
            return math.inf
        return max(self.capacity_j - self.charge_j, 0.0) / charge_power_w


class KiBaMBattery(Battery):
    """Kinetic battery model with available fraction ``c`` and rate constant ``k_per_s``."""

    kind = "kibam"

    def __init__(
        self,
        capacity_wh: float,
        state_of_charge: float = 1.0,
        voltage_v: float = 3.85,
        c: float = 0.625,
        k_per_s: float = 1e-4,
    ) -> None:
        super().__init__(capacity_wh, state_of_charge, voltage_v)
        assert 0.0 < c < 1.0 and k_per_s > 0.0
        self.c = c
        self.k_per_s = k_per_s
        self._k_prime = k_per_s / (c * (1.0 - c))
        # Start in equilibrium: both wells at the same height.
        self.available_well_j = c * self.charge_j
        self.bound_well_j = (1.0 - c) * self.charge_j

    @property
    def available_j(self) -> float:
        return self.available_well_j

    def _wells_after(self, energy_j: float, duration_s: float) -> tuple[float, float]:
        """Closed-form KiBaM wells after drawing ``energy_j`` evenly over ``duration_s``."""
        power = energy_j / duration_s
        kp, c = self._k_prime, self.c
        y1, y2 = self.available_well_j, self.bound_well_j
        y0 = y1 + y2
        decay = math.exp(-kp * duration_s)
        ramp = kp * duration_s - 1.0 + decay
        new_y1 = y1 * decay + (y0 * kp * c - power) * (1.0 - decay) / kp - power * c * ramp / kp
        new_y2 = y2 * decay + y0 * (1.0 - c) * (1.0 - decay) - power * (1.0 - c) * ramp / kp
        return new_y1, new_y2

    def _remove(self, energy_j: float, duration_s: float) -> None:
        # Only the bound well's closed form is needed: the total is exact, and the
        # available well is the rest (called at every power change, so kept lean).
        kp, c = self._k_prime, self.c
        decay = math.exp(-kp * duration_s)
        y2 = (
            self.bound_well_j * decay
            + self.charge_j * (1.0 - c) * (1.0 - decay)
            - energy_j / duration_s * (1.0 - c) * (kp * duration_s - 1.0 + decay) / kp
        )
        total = self.charge_j - energy_j
        self.available_well_j = total - y2
        self.bound_well_j = y2
        self.charge_j = total

    def set_full(self) -> None:
        super().set_full()
        self.available_well_j = self.c * self.capacity_j
        self.bound_well_j = (1.0 - self.c) * self.capacity_j

    def time_to_empty_s(self, power_w: float) -> float:
        if power_w <= 0.0:
            return math.inf
        if self.available_well_j <= _EPS_J:
            return 0.0
        upper = self.charge_j / power_w
        # The available well can rise first (recovery) and then fall: scan for the first
        # sign change, then bisect.
        lo, t = 0.0, min(upper, self.available_well_j / power_w)
        while t < upper:
            if self._wells_after(power_w * t, t)[0] <= 0.0:
                break
            lo, t = t, min(upper, t * 1.5 + 1.0)
        hi = t
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            if self._wells_after(power_w * mid, mid)[0] > 0.0:
                lo = mid
            else:
                hi = mid
            if hi - lo < 1e-6:
                break
        return hi


def make_battery(
    model: str, capacity_wh: float, state_of_charge: float, voltage_v: float, **params
) -> Battery:
    """Build a battery by model name (``linear`` or ``kibam``)."""
    if model == "linear":
        return Battery(capacity_wh, state_of_charge, voltage_v)
    if model == "kibam":
        return KiBaMBattery(capacity_wh, state_of_charge, voltage_v, **params)
    raise ValueError(f"unknown battery model {model!r} (expected 'linear' or 'kibam')")
