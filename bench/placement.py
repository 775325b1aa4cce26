"""Where should each inference run? Split points per network, and every placement policy
(and the trained PPO agent) on a normal and a stressed home.

    python bench/placement.py [--seeds 10] [--agent PATH] [--json] [--only splits|policies]

1. **Split table** (cost model only, no engine): for each zoo model on its own device
   (camera, speaker, watch, phone), fp32 and int8 variants, the min-latency and min-energy
   placement when the other end is the hub over Wi-Fi or BLE or the cloud over LTE, the
   result coming back to the device (Neurosurgeon's setting); then the min-latency split
   as the bandwidth of a Wi-Fi-like link sweeps from 130 kbps to 1 Gbps.
2. **Policy table** (the real engine): every policy on ``simulator.placement.home``'s
   normal and stressed homes over ``--seeds`` seeds: p50/p95 latency, deadline misses,
   energy per device, battery energy and reward per request, mean ± 95 % CI over seeds;
   then the agent against the best heuristic (paired over seeds).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.cards import available, find_card  # noqa: E402
from models.zoo import ZOO  # noqa: E402
from simulator.placement import home  # noqa: E402
from simulator.placement.cost import Request, estimates, static_state  # noqa: E402
from simulator.placement.layers import layer_table  # noqa: E402
from simulator.placement.policies import POLICIES, AllOffload  # noqa: E402
from simulator.placement.rl import AGENT_PATH  # noqa: E402

PROFILE_OF_KIND = {"camera": "camera", "speaker": "speaker", "watch": "smartwatch", "phone": "phone"}
SWEEP_BPS = (1.3e5, 1e6, 6e6, 2e7, 1e8, 1e9)
# Two-sided 95 % Student t quantiles by degrees of freedom (1.96 beyond the table).
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
       10: 2.228, 11: 2.201, 12: 2.179, 14: 2.145, 19: 2.093, 29: 2.045}  # fmt: skip


def ci95(values) -> tuple[float, float]:
    """Mean and half-width of its 95 % confidence interval (Student t over seeds)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), 0.0
    df = len(values) - 1
    t = T95.get(df) or next((T95[d] for d in sorted(T95, reverse=True) if d <= df), 1.96)
    t = t if df <= 29 else 1.96
    return float(values.mean()), float(t * values.std(ddof=1) / math.sqrt(len(values)))


# -- 1. split table ----------------------------------------------------------------------
# name -> (links as (type, a, b), target); the device with the input is "src".
NEUROSURGEON = {
    "Wi-Fi": ([("wifi", "src", "hub")], "hub"),
    "BLE": ([("ble", "src", "hub")], "hub"),
    "LTE": ([("wan", "src", "cloud")], "cloud"),
}
CHAIN = {
    "Wi-Fi": ([("wifi", "src", "hub")], "hub"),
    "BLE": ([("ble", "src", "hub")], "hub"),
    "cloud via hub": ([("wifi", "src", "hub"), ("wan", "hub", "cloud")], "cloud"),
}
SINKS = {"device": ("src", NEUROSURGEON), "hub": ("hub", CHAIN)}


def int8_variant(model: str) -> str:
    variants = available()[model]
    return "int8" if "int8" in variants else "ptq-minmax"


def _state(profile: str, links: list, overrides: dict | None = None):
    devices = {"src": profile, "hub": "home_hub", "cloud": "cloud"}
    rows = [(f"{a}-{b}", kind, a, b, overrides or {} if a == "src" else {}) for kind, a, b in links]
    return static_state(devices, rows)


def _where(e, n: int) -> str:
    p = e.placement
    return "local" if p.split >= n or p.target == "src" else f"{p.target}@{p.split}"


def split_rows(boundary: str = "fp32", sink: str = "device") -> list[dict]:
    """Per model and variant: min-latency and min-energy placement per network; all-cloud
    (the input sent to the cloud's target at split 0); the min-latency sweep over bandwidth."""
    sink_name, networks = SINKS[sink]
    rows = []
    for model in sorted(ZOO):
        profile = PROFILE_OF_KIND[ZOO[model].device_kind]
        table = layer_table(model)
        for variant in ("fp32", int8_variant(model)):
            card = find_card(model, variant)
            row = {"model": model, "variant": variant, "device": profile, "n_layers": table.n_layers}
            for net, (links, target) in networks.items():
                request = Request(0, 0.0, "src", card, table, 1.0, sink_name, (target,), boundary)
                options = estimates(request, _state(profile, links))
                fastest = min(options, key=lambda e: (e.latency_s, e.battery_j))
                thriftiest = min(options, key=lambda e: (e.battery_j, e.latency_s))
                offload = next(e for e in options if e.placement.split == 0 and e.placement.target == target)
                row[net] = {
                    "min_latency": _where(fastest, table.n_layers),
                    "latency_ms": fastest.latency_s * 1e3,
                    "min_energy": _where(thriftiest, table.n_layers),
                    "battery_mj": thriftiest.battery_j * 1e3,
                    "local_ms": options[0].latency_s * 1e3,
                    "local_mj": options[0].battery_j * 1e3,
                    "offload_ms": offload.latency_s * 1e3,
                    "offload_mj": offload.battery_j * 1e3,
                }
            sweep = []
            for bps in SWEEP_BPS:
                request = Request(0, 0.0, "src", card, table, 1.0, sink_name, ("hub",), boundary)
                options = estimates(
                    request, _state(profile, [("wifi", "src", "hub")], {"bandwidth_bps": bps})
                )
                sweep.append(_where(min(options, key=lambda e: (e.latency_s, e.battery_j)), table.n_layers))
            row["sweep"] = sweep
            rows.append(row)
    return rows


def print_split_table(rows: list[dict], boundary: str, sink: str) -> None:
    networks = SINKS[sink][1]
    where = (
        "back on the device (Neurosurgeon's setting)"
        if sink == "device"
        else "needed on the hub (smart-home chain)"
    )
    print(f"\nMin-latency / min-energy placement, {boundary} boundary, result {where}")
    print("('local' = all layers on the device; 'hub@k' = layers [0,k) on the device, the rest on the hub)")
    header = f"{'model':<16} {'variant':<10} {'device':<10}"
    for net in networks:
        header += f" | {net + ': min-latency':<22} {'min-energy':<19}"
    print(header)
    print("-" * len(header))
    for row in rows:
        line = f"{row['model']:<16} {row['variant']:<10} {row['device']:<10}"
        for net in networks:
            cell = row[net]
            lat = f"{cell['min_latency']} {cell['latency_ms']:.2f}ms"
            energy = f"{cell['min_energy']} {cell['battery_mj']:.3f}mJ"
            line += f" | {lat:<22} {energy:<19}"
        print(line)
    cloud = list(networks)[-1]
    latency_gain = [r[cloud]["offload_ms"] / r[cloud]["latency_ms"] for r in rows]
    mains = [r for r in rows if r[cloud]["offload_mj"] > 0]
    energy_gain = [1 - r[cloud]["battery_mj"] / r[cloud]["offload_mj"] for r in mains]
    print(
        f"vs all-cloud ({cloud}): min-latency placement {np.mean(latency_gain):.1f}x faster on average "
        f"(range {min(latency_gain):.1f}-{max(latency_gain):.1f}x); min-energy placement saves "
        f"{100 * np.mean(energy_gain):.1f} % of the battery device's energy on average ({len(mains)} battery rows)"
    )
    print(
        f"\nMin-latency placement vs bandwidth of the device's link (Wi-Fi figures otherwise), {boundary} boundary"
    )
    header = f"{'model':<16} {'variant':<10}" + "".join(f" {_bps(b):>10}" for b in SWEEP_BPS)
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['model']:<16} {row['variant']:<10}" + "".join(f" {w:>10}" for w in row["sweep"]))


def _bps(bps: float) -> str:
    return (
        f"{bps / 1e9:g} Gbps"
        if bps >= 1e9
        else f"{bps / 1e6:g} Mbps"
        if bps >= 1e6
        else f"{bps / 1e3:g} kbps"
    )


# -- 2. policy table ---------------------------------------------------------------------
def policies(agent: Path | None) -> dict:
    found = {
        "local": POLICIES["local"](),
        "offload hub": AllOffload("hub"),
        "offload cloud": AllOffload("cloud"),
        "min_latency": POLICIES["min_latency"](),
        "min_energy": POLICIES["min_energy"](),
        "battery_aware": POLICIES["battery_aware"](),
        "deadline_aware": POLICIES["deadline_aware"](),
    }
    if agent is not None and agent.exists():
        from simulator.placement.rl import RLPolicy

        found["rl (PPO)"] = RLPolicy(agent)
    return found


def run_policies(seeds: int, agent: Path | None) -> dict:
    results: dict = {}
    for setting in (home.NORMAL, home.STRESSED):
        results[setting.name] = {}
        for name, policy in policies(agent).items():
            per_seed = []
            for seed in range(1000, 1000 + seeds):  # not the training seeds (drawn from 0..2^31)
                sim, workload = home.build(setting, seed, policy, name)
                sim.run()
                per_seed.append(workload.metrics())
            results[setting.name][name] = per_seed
    return results


GROUPS = {
    "cams": ("cam0", "cam1", "cam2"),
    "doorbell": ("doorbell",),
    "speaker": ("speaker",),
    "hub": ("hub",),
    "cloud": ("cloud",),
}


def _group_j(metrics: dict, group: str) -> float:
    return sum(metrics["energy_j"].get(d, 0.0) for d in GROUPS[group])


def print_policy_table(results: dict, seeds: int) -> None:
    for setting, by_policy in results.items():
        n = by_policy["local"][0]["requests"]
        print(f"\n{setting} home ({seeds} seeds, ~{n} requests each): mean ± 95 % CI over seeds")
        header = (
            f"{'policy':<15} {'p50 ms':>12} {'p95 ms':>13} {'miss %':>11} {'offload %':>9}"
            + "".join(f" {g + ' J':>13}" for g in GROUPS)
            + f" {'reward/req':>15}"
        )
        print(header)
        print("-" * len(header))
        for name, per_seed in by_policy.items():

            def cell(values, width: int, digits: int) -> str:
                mean, half = ci95(values)
                return f"{mean:.{digits}f}±{half:.{digits}f}".rjust(width)

            line = f"{name:<15}"
            line += cell([m["p50_ms"] for m in per_seed], 13, 1)
            line += cell([m["p95_ms"] for m in per_seed], 14, 1)
            line += cell([m["miss_pct"] for m in per_seed], 12, 2)
            line += f"{np.mean([m['offloaded_pct'] for m in per_seed]):>10.0f}"
            for group in GROUPS:
                line += cell([_group_j(m, group) for m in per_seed], 14, 3)
            line += cell([m["reward_per_request"] for m in per_seed], 16, 4)
            print(line)


def compare_agent(results: dict) -> dict:
    out = {}
    for setting, by_policy in results.items():
        agent = by_policy.get("rl (PPO)")
        if agent is None:
            continue
        heuristics = {k: v for k, v in by_policy.items() if k != "rl (PPO)"}
        best = max(heuristics, key=lambda k: np.mean([m["reward_per_request"] for m in heuristics[k]]))
        diff = {}
        for key in ("reward_per_request", "miss_pct", "battery_j", "p95_ms"):
            paired = [a[key] - b[key] for a, b in zip(agent, heuristics[best], strict=True)]
            diff[key] = ci95(paired)
        out[setting] = {"best_heuristic": best, "agent_minus_best": diff}
    return out


def print_comparison(comparison: dict) -> None:
    print("\nAgent − best heuristic (by reward per request), paired over seeds, mean ± 95 % CI")
    for setting, row in comparison.items():
        d = row["agent_minus_best"]
        print(
            f"  {setting:<9} best heuristic {row['best_heuristic']:<15} reward {d['reward_per_request'][0]:+.4f}±{d['reward_per_request'][1]:.4f}"
            f"  miss {d['miss_pct'][0]:+.2f}±{d['miss_pct'][1]:.2f} pts  battery {d['battery_j'][0]:+.3f}±{d['battery_j'][1]:.3f} J"
            f"  p95 {d['p95_ms'][0]:+.1f}±{d['p95_ms'][1]:.1f} ms"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--agent", type=Path, default=AGENT_PATH, help="trained PPO agent (.zip)")
    parser.add_argument("--only", choices=("splits", "policies"))
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)
    out: dict = {}
    if args.only in (None, "splits"):
        out["splits"] = {}
        for sink in SINKS:
            for boundary in ("fp32", "int8"):
                rows = out["splits"][f"{sink}/{boundary}"] = split_rows(boundary, sink)
                if not args.json:
                    print_split_table(rows, boundary, sink)
    if args.only in (None, "policies"):
        started = time.perf_counter()
        results = run_policies(args.seeds, args.agent)
        out["policies"] = results
        out["agent_vs_best"] = compare_agent(results)
        if not args.json:
            print_policy_table(results, args.seeds)
            print_comparison(out["agent_vs_best"])
            print(f"\n({time.perf_counter() - started:.0f} s of wall time for the policy runs)")
    if args.json:
        print(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
