"""Federated learning on the device clock: strategies, privacy layers, baselines, scale.

Prints seven tables, every number measured in this run:

1. strategies and privacy settings on the shipped 50-home scenario (overnight rule, 10
   clients per round, 100 rounds every 3 min, FedAdam), beside plain FedAvg and the old
   default (FedAvg, 20 rounds every 10 min): held-out accuracy, rounds, bytes, client
   energy, the privacy layers' device time / energy / protocol bytes, ε and wall time;
2. differential privacy regimes: where client-level DP works and where it leaves the
   model at chance (homes, clients per round, rounds, clipping, ε);
3. federated vs central training on all the clients' data vs each client alone;
4. scale: 100 clients × 20 rounds (every client every round) and 1,000 homes × 5 rounds,
   each in a fresh process for its wall time and peak memory;
5. eligibility: the overnight-charging rule vs none (rounds, hours, battery cost);
6. diagnosis: why the old default ended far below central, one hypothesis per row;
7. seeds: central, the old default, FedAvg and the shipped FedAdam on three data seeds.

Usage::

    python bench/federated.py                 # everything (~15 min on a quiet 2-core box)
    python bench/federated.py --only strategies,scale
    python bench/federated.py --calibrate     # re-measure the crypto costs (crypto_costs.yaml)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECTIONS = ("strategies", "dp", "baselines", "scale", "eligibility", "diagnosis", "seeds")
# The shipped scenario's protocol before issue 20: plain FedAvg, 20 rounds every 10 minutes.
OLD_DEFAULT = {"strategy": "fedavg", "rounds": 20, "round_interval": "10min"}
PLAIN_FEDAVG = {"strategy": "fedavg"}
ANYTIME = {"require_charging": False, "require_idle": False, "require_wifi": False, "battery_floor": 0.0}


def run(n_homes: int, params: dict, duration: str = "24h", seed: int = 7) -> dict:
    """Build and run the generated scenario; the app's metrics plus wall time and devices."""
    from simulator.apps.federated.homes import federated_homes
    from simulator.engine import Simulation
    from simulator.trace import Message

    started = time.perf_counter()
    sim = Simulation.from_dict(federated_homes(n_homes, seed=seed, duration=duration, app_params=params))
    built = time.perf_counter()
    sim.run()
    summary = sim.summary()
    metrics = summary["federated"]
    metrics["wall_s"] = time.perf_counter() - started
    metrics["build_s"] = built - started
    metrics["devices"] = summary["devices"]
    metrics["records"] = summary["trace_records"]
    metrics["events"] = summary["events"]
    metrics["lte_bytes"] = sum(
        r.size_bytes
        for r in sim.trace.records
        if type(r) is Message and r.msg_kind.startswith("fl_") and r.link.endswith("-lte")
    )
    return metrics


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f}"


def _eps(m: dict) -> str:
    return "—" if m.get("epsilon") is None else f"{m['epsilon']:.2f}"


def _rounds(m: dict) -> str:
    """Released aggregates, with the attempts when some failed (secagg below threshold…)."""
    attempted = m.get("rounds_attempted", m["rounds"])
    return str(m["rounds"]) if attempted == m["rounds"] else f"{m['rounds']}/{attempted}"


def _last5(m: dict) -> float:
    accuracies = m["accuracy_per_round"][-5:]
    return sum(accuracies) / max(len(accuracies), 1)


def table_strategies() -> None:
    rows = [
        ("FedAdam (shipped)", {}),
        ("FedAvg, same 100 rounds", PLAIN_FEDAVG),
        ("FedAvg, old default", OLD_DEFAULT),
        ("FedAdam, fp32 updates", {"compression": "none"}),
        ("FedProx mu=0.01", {"strategy": "fedprox", "prox_mu": 0.01}),
        ("FedAvgM beta=.9 eta=.3", {"strategy": "fedavgm", "server_lr": 0.3}),
        ("async (FedBuff, K=5)", {"mode": "async", "buffer_size": 5}),
        ("DP eps=8", {"dp_epsilon": 8.0}),
        ("SecAgg", {"secure_aggregation": "secagg"}),
        ("SecAgg, 30 % drop", {"secure_aggregation": "secagg", "dropout": 0.3}),
        # 20 rounds: each Paillier round costs ~5 s of host time for the real encryptions.
        ("Paillier 2048, 20 rounds", {"secure_aggregation": "paillier", "rounds": 20}),
    ]
    print(
        "\n1. Strategies and privacy: 50 homes, overnight rule, 10 clients/round, 100 rounds every 3 min, seed 7"
    )
    header = (
        f"  {'setting':<22} {'acc':>6} {'last5':>6} {'rounds':>6} {'last':>6} {'MB up':>7} {'MB dn':>7} "
        f"{'client J':>9} {'priv dev s':>10} {'priv J':>8} {'priv MB':>8} {'eps':>5} {'wall s':>7}"
    )
    print(header)
    for label, params in rows:
        m = run(50, params)
        print(
            f"  {label:<22} {m['accuracy']:>6.3f} {_last5(m):>6.3f} {_rounds(m):>6} {m['last_round'] or '—':>6} "
            f"{_mb(m['bytes_up']):>7} {_mb(m['bytes_down']):>7} {m['client_energy_j']:>9.2f} "
            f"{m['privacy_device_s']:>10.3f} {m['privacy_energy_j']:>8.2f} {_mb(m['privacy_bytes']):>8} "
            f"{_eps(m):>5} {m['wall_s']:>7.1f}",
            flush=True,
        )


def table_dp() -> None:
    """Where client-level DP works: the noise on the mean of K clipped updates has norm about
    σ·C·√d / K against a signal of norm ≤ C, so it needs K ≫ σ·√d (d = 6,895 weights)."""
    print(
        "\n2. Differential privacy regimes: FedAvg, δ = 1e-5, 20 rounds unless noted, a round released "
        "with ≥ 70 % (50 homes) or 90 % (1,000 homes) of its clients reporting"
    )
    print(
        f"  {'regime':<34} {'sigma':>6} {'noise/C':>8} {'eps spent':>9} {'acc':>6} {'best':>6} {'last5':>6} "
        f"{'rounds':>6} {'wall s':>7}"
    )
    big = {"clients_per_round": 100, "dp_report_floor": 0.9}
    for label, n_homes, params in (
        ("50 homes, K=10, eps=8", 50, {"dp_epsilon": 8.0}),
        ("50 homes, K=25, eps=8", 50, {"dp_epsilon": 8.0, "clients_per_round": 25}),
        ("1,000 homes, K=10, eps=8", 1000, {"dp_epsilon": 8.0}),
        ("1,000 homes, K=100, no DP", 1000, big),
        ("1,000 homes, K=100, eps=8", 1000, {**big, "dp_epsilon": 8.0}),
        ("1,000 homes, K=200, eps=8", 1000, {**big, "dp_epsilon": 8.0, "clients_per_round": 200}),
        ("1,000 homes, K=100, eps=8, C=0.3", 1000, {**big, "dp_epsilon": 8.0, "clip_norm": 0.3}),
        ("1,000 homes, K=100, eps=8, C=3", 1000, {**big, "dp_epsilon": 8.0, "clip_norm": 3.0}),
        (
            "1,000 homes, K=100, eps=8, 60 rounds",
            1000,
            {**big, "dp_epsilon": 8.0, "rounds": 60, "round_interval": "5min"},
        ),
        ("1,000 homes, K=100, eps=2", 1000, {**big, "dp_epsilon": 2.0}),
    ):
        m = run(n_homes, {**OLD_DEFAULT, **params})
        k = params.get("clients_per_round", 10)
        ratio = m["noise_multiplier"] * 6895**0.5 / k
        print(
            f"  {label:<34} {m['noise_multiplier']:>6.3f} {ratio:>8.2f} {_eps(m):>9} {m['accuracy']:>6.3f} "
            f"{m['accuracy_best']:>6.3f} {_last5(m):>6.3f} {_rounds(m):>6} {m['wall_s']:>7.1f}",
            flush=True,
        )
    print("  noise/C: σ·√d / K, the noise norm on the released mean per unit of clipping norm")


def table_baselines(epochs_central: int = 20, epochs_alone: int = 40) -> None:
    """The same 50 wearers' data: pooled (central), federated (the shipped scenario), alone."""
    import numpy as np
    import torch

    from simulator.apps.federated.partition import PartitionSpec, client_data
    from simulator.apps.federated.training import LocalTrainer, initial_weights
    from simulator.engine import Simulation

    torch.set_num_threads(1)
    sim = Simulation.from_file(ROOT / "scenarios" / "federated_gestures.yaml")
    app = sim.app("federated")
    spec: PartitionSpec = app.task.data.spec
    data = client_data(spec)
    trainer = LocalTrainer(app.params["width"])
    start = initial_weights(app.params["width"], app.init_seed)
    xh, yh = data.heldout
    print(
        f"\n3. Federated vs central vs alone: the same {spec.n_clients} wearers, {len(yh)} held-out windows"
    )
    started = time.perf_counter()
    sim.run()
    fed = sim.summary()["federated"]
    fed_wall = time.perf_counter() - started
    x, y = data.pooled(list(range(spec.n_clients)))
    started = time.perf_counter()
    delta, _ = trainer.train(start, x, y, epochs_central, 32, 0.1, shuffle_seed=0)
    central_acc, _ = trainer.evaluate(start + delta, xh, yh)
    central_wall = time.perf_counter() - started
    started = time.perf_counter()
    alone = []
    for client in range(spec.n_clients):
        cx, cy = data.client(client)
        delta, _ = trainer.train(start, cx, cy, epochs_alone, 32, 0.1, shuffle_seed=client)
        alone.append(trainer.evaluate(start + delta, xh, yh)[0])
    alone_wall = time.perf_counter() - started
    alone = np.array(alone)
    print(f"  {'training':<46} {'held-out acc':>12} {'wall s':>7}")
    print(
        f"  {'central: all ' + str(len(y)) + ' windows pooled, ' + str(epochs_central) + ' epochs':<46} {central_acc:>12.3f} {central_wall:>7.1f}"
    )
    print(
        f"  {'federated: shipped scenario, 100 rounds (last)':<46} {fed['accuracy']:>12.3f} {fed_wall:>7.1f}"
    )
    print(f"  {'federated: best round':<46} {fed['accuracy_best']:>12.3f}")
    print(
        f"  {'alone: each wearer, own data, ' + str(epochs_alone) + ' epochs (mean)':<46} {alone.mean():>12.3f} {alone_wall:>7.1f}"
    )
    print(
        f"  {'alone: median / best / worst wearer':<46} "
        f"{np.median(alone):.3f} / {alone.max():.3f} / {alone.min():.3f}"
    )


def table_diagnosis() -> None:
    """One hypothesis per row, each a change from the old default on the same 50 homes."""
    print(
        "\n6. Diagnosis: the old default (FedAvg, 20 rounds x 10 clients, 2 epochs, batch 32, lr 0.1, 8-bit)"
    )
    print(f"  {'hypothesis / change':<48} {'final':>6} {'best':>6} {'last5':>6} {'last':>6}")
    sixty = {"rounds": 60, "round_interval": "5min"}
    rows = [
        ("old default", {}),
        ("8-bit deltas: fp32 instead", {"compression": "none"}),
        ("label skew: Dirichlet 0.5 -> 100 (near IID)", {"label_skew_alpha": 100.0}),
        ("local steps: 1 epoch", {"local_epochs": 1}),
        ("local steps: 5 epochs", {"local_epochs": 5}),
        ("local steps: 10 epochs", {"local_epochs": 10}),
        ("local steps: batch 16", {"batch_size": 16}),
        ("local steps: batch 8", {"batch_size": 8}),
        ("learning rate 0.05", {"lr": 0.05}),
        ("learning rate 0.2", {"lr": 0.2}),
        ("learning rate 0.3", {"lr": 0.3}),
        ("server momentum: FedAvgM beta .9, eta 1", {"strategy": "fedavgm"}),
        ("server momentum: FedAvgM beta .9, eta .3", {"strategy": "fedavgm", "server_lr": 0.3}),
        ("server Adam: FedAdam eta .03", {"strategy": "fedadam"}),
        ("20 clients per round", {"clients_per_round": 20}),
        ("rounds: 40, every 5 min", {"rounds": 40, "round_interval": "5min"}),
        ("rounds: 60, every 5 min", sixty),
        ("rounds: 100, every 3 min", {"rounds": 100, "round_interval": "3min"}),
        ("60 rounds + fp32", {**sixty, "compression": "none"}),
        ("60 rounds + near IID", {**sixty, "label_skew_alpha": 100.0}),
        ("60 rounds + 5 epochs", {**sixty, "local_epochs": 5}),
        ("60 rounds + FedAvgM eta .3", {**sixty, "strategy": "fedavgm", "server_lr": 0.3}),
        ("60 rounds + FedAdam eta .01", {**sixty, "strategy": "fedadam", "server_lr": 0.01}),
        ("60 rounds + FedAdam eta .03", {**sixty, "strategy": "fedadam"}),
        (
            "shipped: 100 rounds every 3 min + FedAdam .03",
            {"rounds": 100, "round_interval": "3min", "strategy": "fedadam"},
        ),
    ]
    for label, params in rows:
        m = run(50, {**OLD_DEFAULT, **params})
        print(
            f"  {label:<48} {m['accuracy']:>6.3f} {m['accuracy_best']:>6.3f} {_last5(m):>6.3f} "
            f"{m['last_round'] or '—':>6}",
            flush=True,
        )


def _central(seed: int, epochs: int = 20) -> float:
    """Held-out accuracy of the same model trained on all 50 wearers' data pooled."""
    import torch

    from simulator.apps.federated.homes import federated_homes
    from simulator.apps.federated.partition import client_data
    from simulator.apps.federated.training import LocalTrainer, initial_weights
    from simulator.engine import Simulation

    torch.set_num_threads(1)
    app = Simulation.from_dict(federated_homes(50, seed=seed)).app("federated")
    data = client_data(app.task.data.spec)
    trainer = LocalTrainer(app.params["width"])
    start = initial_weights(app.params["width"], app.init_seed)
    x, y = data.pooled(list(range(data.spec.n_clients)))
    delta, _ = trainer.train(start, x, y, epochs, 32, 0.1, shuffle_seed=0)
    return trainer.evaluate(start + delta, *data.heldout)[0]


def table_seeds() -> None:
    print("\n7. Seeds: 50 homes, each seed its own wearers, data and held-out wearers (final / best)")
    print(f"  {'seed':>4} {'central':>8} {'old default':>13} {'FedAvg 100r':>13} {'FedAdam 100r':>13}")
    for seed in (7, 8, 9):
        cells = []
        for params in (OLD_DEFAULT, PLAIN_FEDAVG, {}):
            m = run(50, params, seed=seed)
            cells.append(f"{m['accuracy']:.3f}/{m['accuracy_best']:.3f}")
        print(f"  {seed:>4} {_central(seed):>8.3f} {cells[0]:>13} {cells[1]:>13} {cells[2]:>13}", flush=True)


def _child(args: list[str]) -> dict:
    """Run one scale case in a fresh process (its own peak memory)."""
    out = subprocess.run(
        [sys.executable, __file__, "--scale-case", *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _peak_rss_mib() -> float:
    """This process's peak resident memory. ``VmHWM`` resets at exec; ``ru_maxrss`` would
    carry over the parent's peak through fork + exec (measured: every child read the
    bench's own 613 MiB)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale_case(n_homes: int, rounds: int, per_round: int, anytime: bool) -> None:
    params = {"rounds": rounds, "clients_per_round": per_round, **(ANYTIME if anytime else {})}
    m = run(n_homes, params, duration="24h")
    peak_mib = _peak_rss_mib()
    print(
        json.dumps(
            {
                "wall_s": m["wall_s"],
                "build_s": m["build_s"],
                "peak_mib": peak_mib,
                "rounds": m["rounds"],
                "accuracy": m["accuracy"],
                "host_s": m["wall_host_s"],
                "records": m["records"],
                "events": m["events"],
                "updates": m["reported"] + m["synced_late"],
            }
        )
    )


def table_scale() -> None:
    print("\n4. Scale (each case in a fresh process; wall = build + run, real training)")
    print(
        f"  {'case':<40} {'wall s':>7} {'train s':>8} {'peak MiB':>9} {'updates':>8} {'records':>8} {'acc':>6} {'load':>5}"
    )
    for label, args in (
        ("100 clients x 20 rounds, all every round", ["100", "20", "100", "anytime"]),
        ("1,000 homes x 5 rounds, 100/round, night", ["1000", "5", "100", "night"]),
    ):
        load = os.getloadavg()[0]
        m = _child(args)
        print(
            f"  {label:<40} {m['wall_s']:>7.1f} {m['host_s'].get('train', 0):>8.1f} {m['peak_mib']:>9.0f} "
            f"{m['updates']:>8} {m['records']:>8} {m['accuracy']:>6.3f} {load:>5.1f}",
            flush=True,
        )


def table_eligibility() -> None:
    print(
        "\n5. Eligibility: overnight-charging rule vs none (50 homes, 24 h from 18:00, up to 40 rounds "
        "every 20 min)"
    )
    print(
        f"  {'rule':<10} {'rounds':>6} {'first':>6} {'last':>6} {'rounds by clock hour':<62} {'acc':>6} "
        f"{'watch J':>8} {'% of 1 watch':>12} {'phone J':>8} {'LTE MB':>7}"
    )
    capacity_j = 1.636 * 3600  # smartwatch profile: 1.636 Wh
    base = {"rounds": 40, "round_interval": "20min"}
    for label, params in (("overnight", {}), ("none", ANYTIME)):
        m = run(50, {**base, **params})
        phone_j = m["battery_energy_j"] - m["watch_battery_j"]
        hours = " ".join(f"{h}:{n}" for h, n in m["rounds_by_hour"].items())
        print(
            f"  {label:<10} {m['rounds']:>6} {m['first_round']:>6} {m['last_round']:>6} {hours:<62} "
            f"{m['accuracy']:>6.3f} {m['watch_battery_j']:>8.3f} {100 * m['watch_battery_j'] / capacity_j:>11.4f}% "
            f"{phone_j:>8.2f} {m['lte_bytes'] / 1e6:>7.2f}",
            flush=True,
        )
    print(
        "  watch J / phone J: federated energy drawn from batteries (not the charger); "
        f"a watch battery holds {capacity_j:,.0f} J"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}")
    parser.add_argument("--calibrate", action="store_true", help="re-measure the crypto costs and exit")
    parser.add_argument("--scale-case", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import warnings

    warnings.filterwarnings("ignore")
    if args.calibrate:
        from simulator.federated.costs import COSTS_FILE, write_calibration

        print(json.dumps(write_calibration(), indent=2))
        print(f"wrote {COSTS_FILE}")
        return 0
    if args.scale_case:
        n_homes, rounds, per_round, when = args.scale_case
        scale_case(int(n_homes), int(rounds), int(per_round), when == "anytime")
        return 0
    started = time.perf_counter()
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores)")
    for section in args.only.split(","):
        {
            "strategies": table_strategies,
            "dp": table_dp,
            "baselines": table_baselines,
            "scale": table_scale,
            "eligibility": table_eligibility,
            "diagnosis": table_diagnosis,
            "seeds": table_seeds,
        }[section.strip()]()
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
