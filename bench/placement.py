"""Where should each inference run? Split points per network, and every placement policy
(and the trained PPO agent) on a normal and a stressed home, then on the smart-home chains.

    python bench/placement.py [--seeds 10] [--chain-seeds 5] [--agent PATH] [--json]
                              [--only splits|policies|chains]

1. **Split table** (cost model only, no engine): for each zoo model on its own device
   (camera, speaker, watch, phone), fp32 and int8 variants, the min-latency and min-energy
   placement when the other end is the hub over Wi-Fi or BLE or the cloud over LTE, the
   result coming back to the device (Neurosurgeon's setting); then the min-latency split
   as the bandwidth of a Wi-Fi-like link sweeps from 130 kbps to 1 Gbps.
2. **Policy table** (the real engine): every policy on ``simulator.placement.home``'s
   normal and stressed homes over ``--seeds`` seeds: p50/p95 latency, deadline misses,
   energy per device, battery energy and reward per request, mean ± 95 % CI over seeds;
   then the agent against the best heuristic (paired over seeds).
3. **Chains** (the smart-home app, real models): every policy placing every model stage of
   ``scenarios/smart_home.yaml`` (the night) and ``scenarios/smart_home_stressed.yaml``
   (four cameras, a weak doorbell link, the doorbell at 15 %) over ``--chain-seeds`` seeds:
   camera detectors' p50/p95 latency (input to result where the chain goes on), the voice
   and gesture stages' p95, deadline misses of placed inferences, what was offloaded, the
   energy of placed inferences per device, the chains' true alerts, the reward per request
   (the agent's objective, ``observe.Reward``); mean ± 95 % CI over seeds, then the agent
   against the best heuristic. Model outputs are cached (``HOMETWIN_CACHE``): a seed's
   first night renders and runs its frames once, later policies reuse them.
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
        mean_reward = {k: np.mean([m["reward_per_request"] for m in v]) for k, v in heuristics.items()}
        best = max(heuristics, key=mean_reward.get)
        tied = [k for k in heuristics if k != best and abs(mean_reward[k] - mean_reward[best]) < 1e-9]
        diff = {}
        p95 = "p95_ms" if "p95_ms" in agent[0] else "cam_p95_ms"
        for key in ("reward_per_request", "miss_pct", "battery_j", p95):
            paired = [a[key] - b[key] for a, b in zip(agent, heuristics[best], strict=True)]
            diff[key] = ci95(paired)
        diff["p95_ms"] = diff.pop(p95)
        out[setting] = {"best_heuristic": best, "tied": tied, "agent_minus_best": diff}
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
        if row.get("tied"):
            print(f"  {'':<9} (tied with it on reward: {', '.join(row['tied'])})")


# -- 3. the smart-home chains ------------------------------------------------------------
CHAIN_HOMES = {
    "night": ROOT / "scenarios" / "smart_home.yaml",
    "stressed": ROOT / "scenarios" / "smart_home_stressed.yaml",
}
# The same boundary for every policy (as in the policy table): int8 tensors cross the links.
CHAIN_POLICIES = {
    "local": {"policy": "local"},
    "offload hub": {"policy": "offload", "to": "hub"},
    "offload cloud": {"policy": "offload", "to": "cloud"},
    "min_latency": {"policy": "min_latency"},
    "min_energy": {"policy": "min_energy"},
    "battery_aware": {"policy": "battery_aware"},
    "deadline_aware": {"policy": "deadline_aware"},
    "rl (PPO)": {"policy": "rl"},
}
CHAIN_SEEDS = 11  # the shipped night's seed, then the next ones


def placeable_stages(path: Path) -> list[tuple[str, int]]:
    """(chain name, stage index) of every model stage fed by an input (not a timer batch)."""
    from simulator.validate import read_yaml

    chains = read_yaml(path)["apps"][0]["params"]["chains"]
    return [
        (chain["name"], j)
        for chain in chains
        for j, stage in enumerate(chain["stages"])
        if stage.get("model") and stage["trigger"] != "timer"
    ]


def chain_run(path: Path, seed: int, config: dict | None, agent: Path | None = None) -> dict:
    """One night of ``path`` with ``config`` placing every placeable stage (None: as shipped)."""
    from simulator.apps.smart_home import Placed
    from simulator.apps.smart_home.records import PlacedShare
    from simulator.engine import Simulation
    from simulator.placement.observe import Reward
    from simulator.trace import BatterySample

    overrides = {}
    if config is not None:
        config = {**config, "boundary": "int8"}
        if config["policy"] == "rl" and agent is not None:
            config["agent"] = str(agent)
        for chain, j in placeable_stages(path):
            overrides[f"apps.home.params.chains.{chain}.stages.{j}.placement"] = dict(config)
    started = time.perf_counter()
    sim = Simulation.from_file(path, seed=seed, overrides=overrides).run()
    summary = sim.summary()
    wall_s = time.perf_counter() - started
    records = sim.trace.of(Placed)
    shares = {r.request: r.energy_j_by_device for r in sim.trace.of(PlacedShare)}
    samples: dict[str, tuple[list[float], list[float]]] = {}
    for b in sim.trace.of(BatterySample):
        times, socs = samples.setdefault(b.device, ([], []))
        times.append(b.t)
        socs.append(b.soc)

    def soc_at(device: str, t: float) -> float:
        times, socs = samples.get(device, ([], []))
        i = int(np.searchsorted(times, t, side="right")) - 1
        return socs[i] if i >= 0 else sim.devices[device].state_of_charge

    reward = Reward()
    cameras = {name for name, device in sim.devices.items() if device.kind == "camera"}
    cam = [r for r in records if r.source in cameras]
    other = [r for r in records if r.source not in cameras]
    energy: dict[str, float] = {}
    for r in records:
        for device, joules in shares[r.request].items():
            energy[device] = energy.get(device, 0.0) + joules
    chains = summary["home"]["chains"]
    security = [c for c, m in chains.items() if m["qos"] == "security"]
    return {
        "requests": len(records),
        "cam_p50_ms": float(np.percentile([r.latency_s for r in cam], 50) * 1e3) if cam else math.nan,
        "cam_p95_ms": float(np.percentile([r.latency_s for r in cam], 95) * 1e3) if cam else math.nan,
        "other_p95_ms": float(np.percentile([r.latency_s for r in other], 95) * 1e3) if other else math.nan,
        "miss_pct": 100.0 * float(np.mean([not r.met for r in records])) if records else 0.0,
        "cam_offloaded_pct": 100.0 * float(np.mean([r.split < r.n_layers for r in cam])) if cam else 0.0,
        "energy_j": dict(sorted(energy.items())),
        "battery_j": float(sum(r.battery_j for r in records)),
        "true_alerts": sum(chains[c]["true_alerts"] for c in security),
        "alerts": sum(chains[c]["alerts"] for c in security),
        "chain_deadline_misses": sum(m["deadline_misses"] for m in chains.values()),
        "reward_per_request": float(np.mean([reward(r, soc_at(r.source, r.start_t)) for r in records]))
        if records
        else 0.0,
        "wall_s": wall_s,
    }


def run_chains(seeds: int, agent: Path | None, log=print) -> dict:
    results: dict = {}
    for home_name, path in CHAIN_HOMES.items():
        results[home_name] = {}
        for seed in range(CHAIN_SEEDS, CHAIN_SEEDS + seeds):
            for name, config in CHAIN_POLICIES.items():
                if config["policy"] == "rl" and (agent is None or not agent.exists()):
                    continue
                row = chain_run(path, seed, config, agent)
                results[home_name].setdefault(name, []).append(row)
            log(
                f"  {home_name} seed {seed}: {sum(r[-1]['wall_s'] for r in results[home_name].values()):.0f} s"
            )
    return results


CHAIN_GROUPS = {
    "doorbell": ("doorbell",),
    "cams": ("camera", "porch", "hallway"),
    "watch": ("watch",),
    "phone": ("phone",),
    "hub": ("hub",),
    "cloud": ("cloud",),
}


def print_chain_table(results: dict, seeds: int) -> None:
    for home_name, by_policy in results.items():
        n = np.mean([m["requests"] for m in next(iter(by_policy.values()))])
        print(
            f"\nSmart-home {home_name} ({CHAIN_HOMES[home_name].name}, {seeds} seeds from {CHAIN_SEEDS}, "
            f"~{n:.0f} placed inferences each, int8 boundary): mean ± 95 % CI over seeds"
        )
        print(
            "cam = the cameras' detect stages; other = the hub's confirms, voice and gesture; J = placed inferences' compute and radio bits"
        )
        header = (
            f"{'policy':<15} {'cam p50 ms':>12} {'cam p95 ms':>14} {'other p95 ms':>14} {'miss %':>11} {'cam offl %':>10}"
            + "".join(f" {g + ' J':>16}" for g in CHAIN_GROUPS)
            + f" {'true alerts':>12} {'reward/req':>15}"
        )
        print(header)
        print("-" * len(header))
        for name, per_seed in by_policy.items():

            def cell(values, width: int, digits: int) -> str:
                mean, half = ci95(values)
                return f"{mean:.{digits}f}±{half:.{digits}f}".rjust(width)

            line = f"{name:<15}"
            line += cell([m["cam_p50_ms"] for m in per_seed], 13, 1)
            line += cell([m["cam_p95_ms"] for m in per_seed], 15, 1)
            line += cell([m["other_p95_ms"] for m in per_seed], 15, 1)
            line += cell([m["miss_pct"] for m in per_seed], 12, 2)
            line += f"{np.mean([m['cam_offloaded_pct'] for m in per_seed]):>11.0f}"
            for devices in CHAIN_GROUPS.values():
                line += cell([sum(m["energy_j"].get(d, 0.0) for d in devices) for m in per_seed], 17, 3)
            line += cell([m["true_alerts"] for m in per_seed], 13, 1)
            line += cell([m["reward_per_request"] for m in per_seed], 16, 4)
            print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--chain-seeds", type=int, default=5, help="seeds per smart-home night (from 11)")
    parser.add_argument("--agent", type=Path, default=AGENT_PATH, help="trained PPO agent (.zip)")
    parser.add_argument("--only", choices=("splits", "policies", "chains"))
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
    if args.only in (None, "chains"):
        started = time.perf_counter()
        results = run_chains(args.chain_seeds, args.agent, log=(lambda *_: None) if args.json else print)
        out["chains"] = results
        out["chains_agent_vs_best"] = compare_agent(results)
        if not args.json:
            print_chain_table(results, args.chain_seeds)
            print_comparison(out["chains_agent_vs_best"])
            print(f"\n({time.perf_counter() - started:.0f} s of wall time for the smart-home nights)")
    if args.json:
        print(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
