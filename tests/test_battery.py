import math

import pytest

from simulator.battery import Battery, KiBaMBattery, make_battery


def test_linear_battery_counts_energy_exactly():
    battery = Battery(capacity_wh=1.0, state_of_charge=1.0)
    battery.step(power_w=0.5, duration_s=3600.0)
    assert battery.state_of_charge == pytest.approx(0.5)
    assert battery.energy_drawn_j == pytest.approx(1800.0)
    assert battery.time_to_empty_s(0.5) == pytest.approx(3600.0)


def test_linear_battery_charges_and_stops_at_full():
    battery = Battery(capacity_wh=1.0, state_of_charge=0.5)
    battery.step(power_w=-1.0, duration_s=7200.0)  # twice what fits
    assert battery.state_of_charge == pytest.approx(1.0)
    assert battery.energy_charged_j == pytest.approx(1800.0)
    assert battery.time_to_full_s(1.0) == 0.0


def test_kibam_conserves_total_charge():
    battery = KiBaMBattery(capacity_wh=1.0, c=0.625, k_per_s=1e-4)
    for power, duration in [(0.2, 600.0), (2.0, 60.0), (0.01, 3000.0), (0.5, 120.0)]:
        battery.step(power, duration)
    drawn = 0.2 * 600 + 2.0 * 60 + 0.01 * 3000 + 0.5 * 120
    assert battery.charge_j == pytest.approx(3600.0 - drawn, rel=1e-12)
    assert battery.available_well_j + battery.bound_well_j == pytest.approx(battery.charge_j, rel=1e-12)


def test_kibam_rate_capacity_effect():
    """A heavy load empties the available well before the bound charge can follow."""
    light = KiBaMBattery(capacity_wh=1.0, k_per_s=1e-4)
    heavy = KiBaMBattery(capacity_wh=1.0, k_per_s=1e-4)
    t_light = light.time_to_empty_s(0.05)
    t_heavy = heavy.time_to_empty_s(5.0)
    delivered_light = 0.05 * t_light / 3600.0
    delivered_heavy = 5.0 * t_heavy / 3600.0
    assert delivered_light > 0.97  # nearly all of 1 Wh at a C/20 load
    assert delivered_heavy < 0.8  # much less at 5 C
    assert delivered_heavy > 0.625  # at least the available well


def test_kibam_recovery_after_rest():
    battery = KiBaMBattery(capacity_wh=1.0, k_per_s=1e-4)
    battery.step(5.0, 300.0)
    after_burst = battery.available_well_j
    battery.step(0.0, 1.0)  # zero power is skipped: no change
    assert battery.available_well_j == after_burst
    battery.step(1e-9, 3600.0)  # rest: the bound well refills the available one
    assert battery.available_well_j > after_burst + 100.0


def test_kibam_time_to_empty_matches_stepping():
    battery = KiBaMBattery(capacity_wh=0.5, k_per_s=1e-4)
    t = battery.time_to_empty_s(1.0)
    probe = KiBaMBattery(capacity_wh=0.5, k_per_s=1e-4)
    probe.step(1.0, t * 0.999)
    assert probe.available_well_j > 0
    probe.step(1.0, t * 0.002)
    assert probe.available_well_j < 0


def test_make_battery_rejects_unknown_model():
    with pytest.raises(ValueError, match="kibam"):
        make_battery("lead-acid", 1.0, 1.0, 3.7)
    assert math.isinf(make_battery("linear", 1.0, 1.0, 3.7).time_to_empty_s(0.0))
