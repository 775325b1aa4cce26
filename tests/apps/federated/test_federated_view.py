"""The federated app in the GUI and the CLI: the panel's participation matrix and plots at
the playhead, topology badges for the selected watches, and the summary table."""

from __future__ import annotations

import pytest

from simulator.apps.federated.homes import federated_homes
from simulator.federated.metrics import summarize
from simulator.federated.records import ClientUpdate, FederatedRound
from ui.main_window import MainWindow

PARAMS = {
    "require_charging": False,
    "require_idle": False,
    "require_wifi": False,
    "battery_floor": 0.0,
    "rounds": 3,
    "clients_per_round": 4,
    "round_interval": "2min",
    "dropout": 0.2,
    "samples_per_client": 20,
}


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    assert w.open_scenario_dict(
        federated_homes(6, seed=3, duration="12min", outage_fraction=0.0, app_params=PARAMS)
    )
    return w


def test_panel_shows_rounds_and_who_took_part(window, qtbot):
    session = window.session
    window.seek(11 * 60.0)
    qtbot.waitUntil(lambda: session.frontier() >= 11 * 60.0, timeout=60000)
    panel = window.app_panels["federated"]
    panel.refresh(window.player.t)
    rounds = [r for r in session.trace.records if type(r) is FederatedRound]
    stages = [r for r in session.trace.records if type(r) is ClientUpdate]
    assert len(rounds) == 3
    assert panel.matrix.rounds == 3 and len(panel.matrix.clients) == 6
    assert len(panel.matrix.cells) == sum(1 for r in stages if r.stage == "selected")
    assert set(panel.matrix.cells.values()) <= {
        "reported",
        "dropped",
        "straggled",
        "offline",
        "synced",
        "rejected",
    }
    xs, ys = panel.accuracy_curve.getData()
    assert list(xs) == [0, 1, 2, 3] and ys[-1] == pytest.approx(rounds[-1].accuracy)
    assert panel.monitors["rounds"].text() == "3 / 3"
    shown = summarize(session.trace, "federated", window.player.t)  # the panel shows summarize's numbers
    assert panel.monitors["accuracy"].text() == f"{shown['accuracy']:.3f}"
    assert panel.monitors["best"].text() == f"{shown['accuracy_best']:.3f}"
    assert panel.monitors["reported"].text() == f"{shown['participants_mean']:.1f}"
    badge = session.index.badge_at(stages[0].device, stages[0].t, 1.0)
    assert badge is not None and badge.stage == "selected"
    panel.refresh(1.0)  # back to the start: no round done
    assert panel.monitors["rounds"].text() == "0 / 3"


def test_cli_table_lists_accuracy_rounds_and_costs():
    from simulator.apps.federated.table import table

    metrics = {
        "clients": 50,
        "strategy": "fedavg",
        "mode": "sync",
        "privacy": "DP ε=4 δ=1e-05 + secagg",
        "rounds": 2,
        "rounds_planned": 20,
        "accuracy_initial": 0.14,
        "accuracy": 0.5,
        "accuracy_best": 0.52,
        "accuracy_per_round": [0.3, 0.5],
        "first_round": "22:25",
        "last_round": "22:40",
        "rounds_by_hour": {"22": 2},
        "participants_mean": 9.5,
        "clients_participated": 19,
        "reported": 19,
        "stragglers": 1,
        "dropped": 0,
        "offline": 0,
        "synced_late": 0,
        "rejected_late": 0,
        "bytes_up": 2_500_000,
        "bytes_down": 10_000_000,
        "client_energy_j": 3.5,
        "battery_energy_j": 0.0,
        "watch_battery_j": 0.0,
        "privacy_device_s": 0.04,
        "privacy_energy_j": 0.2,
        "privacy_bytes": 900_000,
        "masks_recovered": 2,
        "aggregate_error_max": 1.2e-4,
        "epsilon": 1.5,
        "noise_multiplier": 1.1,
    }
    text = "\n".join(table("federated", metrics))
    assert "0.140 → 0.500" in text and "2 of 20, 22:25–22:40" in text
    assert "2.50 MB / 10.00 MB" in text and "2 masks recovered" in text and "ε = 1.50" in text
    assert table("federated", {"rounds": 0})[0].endswith("no federated round ran (no eligible clients?)")
