"""The PPO placement agent against every heuristic on held-out smart-home nights.

    python bench/placement_heldout.py [--seeds 6] [--first-seed 200] [--agent PATH] [--json]
    python bench/placement_heldout.py --diagnose [--first-seed 200]   # what the agent picks

Runs the shipped night (``scenarios/smart_home.yaml``) and the stressed home
(``scenarios/smart_home_stressed.yaml``) with every placeable model stage placed by one policy
(int8 boundary, as in ``bench/placement.py``), over seeds from ``--first-seed`` — seeds the
agent never trained on (it trains on the synthetic homes of ``simulator.placement.home`` with
seeds drawn by gymnasium, and ``bench/placement.py`` reports chain seeds 11–15). Prints the
reward per request (``observe.Reward``, the agent's objective), misses and the cameras'
offload share, mean ± 95 % CI over seeds, then the agent minus the best heuristic, paired
over seeds, with its 95 % CI.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from placement import AGENT_PATH, CHAIN_HOMES, chain_run, ci95  # noqa: E402

POLICIES = {
    "local": {"policy": "local"},
    "offload hub": {"policy": "offload", "to": "hub"},
    "min_latency": {"policy": "min_latency"},
    "min_energy": {"policy": "min_energy"},
    "battery_aware": {"policy": "battery_aware"},
    "deadline_aware": {"policy": "deadline_aware"},
    "max_reward": {"policy": "max_reward"},
    "rl (PPO)": {"policy": "rl"},
}
AGENT = "rl (PPO)"


def run(seeds: range, agent: Path, log=print) -> dict:
    """{home: {policy: [row per seed]}} (rows from ``bench/placement.chain_run``)."""
    results: dict = {}
    for home_name, path in CHAIN_HOMES.items():
        by_policy = results[home_name] = {}
        for seed in seeds:
            started = time.perf_counter()
            for name, config in POLICIES.items():
                by_policy.setdefault(name, []).append(chain_run(path, seed, config, agent))
            log(f"  {home_name} seed {seed}: {time.perf_counter() - started:.0f} s")
    return results


def compare(by_policy: dict) -> dict:
    """The agent minus the best heuristic by mean reward, paired over seeds."""
    heuristics = {n: rows for n, rows in by_policy.items() if n != AGENT}
    best = max(heuristics, key=lambda n: np.mean([r["reward_per_request"] for r in heuristics[n]]))
    diff = [
        a["reward_per_request"] - b["reward_per_request"]
        for a, b in zip(by_policy[AGENT], heuristics[best], strict=True)
    ]
    mean, half = ci95(diff)
    return {"best": best, "diff": mean, "ci": half}


def print_table(results: dict, seeds: range) -> None:
    for home_name, by_policy in results.items():
        n = np.mean([r["requests"] for r in next(iter(by_policy.values()))])
        print(
            f"\n{home_name} ({CHAIN_HOMES[home_name].name}), held-out seeds {seeds.start}–{seeds.stop - 1}, "
            f"~{n:.0f} placed inferences each: mean ± 95 % CI over seeds"
        )
        print(f"{'policy':<16}{'reward/request':>20}{'misses %':>16}{'cams offloaded %':>18}")
        for name, rows in by_policy.items():
            r, rh = ci95([x["reward_per_request"] for x in rows])
            m, mh = ci95([x["miss_pct"] for x in rows])
            off = np.mean([x["cam_offloaded_pct"] for x in rows])
            print(f"{name:<16}{r:>+11.4f} ± {rh:<6.4f}{m:>9.2f} ± {mh:<5.2f}{off:>14.0f}")
        c = compare(by_policy)
        print(f"agent − best heuristic ({c['best']}): {c['diff']:+.4f} ± {c['ci']:.4f} reward per request")


def diagnose(seed: int, agent: Path) -> None:
    """Per home and model: how often the agent runs locally against how often min-latency
    would, how often it takes the candidate of best estimated reward (action 0), and how
    often its placement is min-latency's."""
    import simulator.placement.rl as rl
    from simulator.placement.observe import decode, encode
    from simulator.placement.policies import MinLatency

    picks: dict[str, list[tuple[bool, bool, int, bool]]] = {}
    heuristic = MinLatency()

    def place(self, request, state):  # RLPolicy.place, recording what it chose
        obs, placements = encode(request, state)
        action = int(self.model.predict(obs, deterministic=True)[0])
        placement = decode(action, placements)
        best = heuristic.place(request, state)
        row = (placement.is_local(request), best.is_local(request), action, placement == best)
        picks.setdefault(request.model, []).append(row)
        return placement

    original, rl.RLPolicy.place = rl.RLPolicy.place, place  # the app builds its own policy
    try:
        for home_name, path in CHAIN_HOMES.items():
            picks.clear()
            chain_run(path, seed, POLICIES[AGENT], agent)
            for model, rows in picks.items():
                a = np.array(rows)
                print(
                    f"{home_name} seed {seed} {model:<16} n={len(a):>5}  agent local {np.mean(a[:, 0]):4.0%}"
                    f"  min_latency local {np.mean(a[:, 1]):4.0%}  action 0 {np.mean(a[:, 2] == 0):4.0%}"
                    f"  same as min_latency {np.mean(a[:, 3]):4.0%}"
                )
    finally:
        rl.RLPolicy.place = original


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--first-seed", type=int, default=200)
    parser.add_argument("--agent", type=Path, default=AGENT_PATH, help="trained PPO agent (.zip)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument("--diagnose", action="store_true", help="what the agent picks vs the estimates")
    args = parser.parse_args(argv)
    if not args.agent.exists():
        print(f"error: {args.agent}: no such agent (train one: python -m simulator.placement.rl)")
        return 2
    if args.diagnose:
        diagnose(args.first_seed, args.agent)
        return 0
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    started = time.perf_counter()
    results = run(seeds, args.agent, log=(lambda *_: None) if args.json else print)
    if args.json:
        out = {"results": results, "compare": {h: compare(b) for h, b in results.items()}}
        print(json.dumps(out, indent=1, default=float))
        return 0
    print_table(results, seeds)
    print(f"\n({time.perf_counter() - started:.0f} s of wall time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
