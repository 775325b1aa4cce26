"""Home suggestions: what the federated profile is worth, and what privacy and serving cost.

Prints tables (mean ± 95 % CI over seeds, Student t):

1. hit-rate@10 and NDCG@10 on the held-out week, full catalogue: federated (FedAdam on
   the same task and strategy code the app drives, item factors averaged, member factors
   local), centralized (the same model on everyone's pooled events), each home alone (all
   weights its own, its own events only), most popular;
2. cold start: members whose history the federation never saw, after 0 days (factors from
   device attributes alone; and without them), 1 and 7 days of their own events;
3. the price of location blurring (exact, 250 m, 500 m, 1 km) on the federated model;
4. the scenario itself (``scenarios/home_suggestions.yaml``, the real protocol on the
   device clock): hit-rate of served suggestions, latency p95 and energy per serving
   device, bytes per round; and with differential privacy at ε ≈ 1, 4, 8.

``python bench/suggestions.py [--seeds 5] [--quick]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import recommender  # noqa: E402
from models.data import households  # noqa: E402
from simulator.apps.home_suggestions.task import SuggestionTask  # noqa: E402
from simulator.federated import strategies  # noqa: E402

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "home_suggestions.yaml"
PARAMS = {"factor_dim": 8, "local_epochs": 2, "batch_size": 32, "lr": 0.3, "blur_m": 500.0}
ROUNDS, PER_ROUND, CENTRAL_EPOCHS = 140, 10, 20
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 9: 2.26}


def ci(values: list[float]) -> str:
    values = np.asarray(values, float)
    if len(values) < 2:
        return f"{values.mean():.3f}"
    half = T95.get(len(values) - 1, 2.0) * values.std(ddof=1) / math.sqrt(len(values))
    return f"{values.mean():.3f} ± {half:.3f}"


def world_for(seed: int) -> households.Households:
    return households.generate(households.HouseholdSpec(n_homes=50, seed=seed, popularity_exponent=0.8))


def evaluate_used(
    task: SuggestionTask, weights: np.ndarray, users: np.ndarray, members=None
) -> tuple[float, float]:
    events = task.heldout
    if members is not None:
        events = events.take(np.flatnonzero(np.isin(events.member, members)))
    hit, ndcg, _ = recommender.evaluate(task.layout, weights, users, events)
    return hit, ndcg


def federated(task: SuggestionTask, seed: int) -> np.ndarray:
    """FedAdam over ``ROUNDS`` rounds of ``PER_ROUND`` homes drawn at random."""
    weights = task.initial_weights()
    strategy = strategies.make_strategy("fedadam", server_lr=0.05)
    rng = np.random.default_rng([seed, 1])
    for number in range(1, ROUNDS + 1):
        chosen = rng.choice(len(task.homes), PER_ROUND, replace=False)
        updates = [
            strategies.Update(task.local_train(weights, int(c), number, 0.0), task.examples(int(c)))
            for c in chosen
        ]
        weights = strategy.aggregate(weights, updates)
    return weights


def pooled(task: SuggestionTask) -> recommender.Events:
    parts = [h.events for h in task.homes]
    members = [h.members[e.member] for h, e in zip(task.homes, parts, strict=True)]
    return recommender.Events(
        np.concatenate(members),
        *(np.concatenate([getattr(e, f) for e in parts]) for f in ("item", "context", "slot", "feedback")),
    )


def centralized(task: SuggestionTask, seed: int) -> tuple[np.ndarray, np.ndarray]:
    weights = task.initial_weights()
    users = task.users.copy()
    weights, users, _ = recommender.local_sgd(
        task.layout,
        weights,
        users,
        task.world.member_attributes,
        pooled(task),
        CENTRAL_EPOCHS,
        32,
        0.3,
        np.random.default_rng([seed, 2]),
    )
    return weights, users


def alone(task: SuggestionTask, seed: int) -> tuple[float, float]:
    """Each home trains every weight on its own events; ranks pooled over all homes."""
    start = task.initial_weights()
    hits, gains = [], []
    for index, home in enumerate(task.homes):
        weights, users, _ = recommender.local_sgd(
            task.layout,
            start,
            task.users[home.members],
            task.world.member_attributes[home.members],
            home.events,
            CENTRAL_EPOCHS,
            32,
            0.3,
            np.random.default_rng([seed, 3, index]),
        )
        full = task.users.copy()
        full[home.members] = users
        events = task.heldout.take(
            np.flatnonzero(np.isin(task.heldout.member, home.members) & (task.heldout.feedback == 0))
        )
        if len(events) == 0:
            continue
        s = recommender.scores(task.layout.unpack(weights), full[events.member], events.context, events.slot)
        ranks = recommender.rank_of(s, events.item)
        hits += list(ranks < 10)
        gains += list(np.where(ranks < 10, 1.0 / np.log2(ranks + 2.0), 0.0))
    return float(np.mean(hits)), float(np.mean(gains))


def popular(task: SuggestionTask) -> tuple[float, float]:
    train = pooled(task)
    test = task.heldout.take(np.flatnonzero(task.heldout.feedback == 0))
    ranks = recommender.popularity_ranks(train.item[train.feedback == 0], task.world.n_items, test.item)
    return recommender.rank_metrics(ranks)


def compare(seeds: list[int]) -> None:
    rows: dict[str, list[tuple[float, float]]] = {
        k: [] for k in ("federated", "centralized", "each home alone", "most popular")
    }
    for seed in seeds:
        task = SuggestionTask(world_for(seed), PARAMS, seed)
        rows["federated"].append(evaluate_used(task, federated(task, seed), task.users))
        task = SuggestionTask(world_for(seed), PARAMS, seed)
        rows["centralized"].append(evaluate_used(task, *centralized(task, seed)))
        rows["each home alone"].append(alone(task, seed))
        rows["most popular"].append(popular(task))
    print(f"\n1. Held-out week, full catalogue ({len(seeds)} seeds, 50 homes, blur 500 m)")
    print(f"  {'method':<18} {'hit-rate@10':>16} {'NDCG@10':>16} {'hit Δ vs popular (paired)':>26}")
    baseline = [v[0] for v in rows["most popular"]]
    for name, values in rows.items():
        paired = [v[0] - b for v, b in zip(values, baseline, strict=True)]
        delta = ci(paired) if name != "most popular" else "—"
        print(f"  {name:<18} {ci([v[0] for v in values]):>16} {ci([v[1] for v in values]):>16} {delta:>26}")


def cold_start(seeds: list[int]) -> None:
    """20 % of members are new: their events are out of the federation's training."""
    results: dict[str, list[float]] = {}
    for seed in seeds:
        world = world_for(seed)
        task = SuggestionTask(world, PARAMS, seed)
        rng = np.random.default_rng([seed, 4])
        new = np.flatnonzero(rng.random(world.n_members) < 0.2)
        for home in task.homes:
            keep = ~np.isin(home.members[home.events.member], new)
            home.events = home.events.take(np.flatnonzero(keep))
        weights = federated(task, seed)
        attributes = world.member_attributes
        last_train_day = 7 * (world.spec.weeks - world.spec.heldout_weeks) - 1
        ev = world.events
        for days in (0, 1, 7):
            users = task.users.copy()
            users[new] = recommender.cold_users(task.layout, weights, attributes[new])
            if days:
                mask = (
                    np.isin(ev["member"], new)
                    & (ev["day"] > last_train_day - days)
                    & (ev["day"] <= last_train_day)
                )
                own = recommender.Events(
                    ev["member"][mask],
                    ev["item"][mask],
                    task.contexts[mask],
                    ev["slot"][mask],
                    ev["feedback"][mask],
                )
                _, users, _ = recommender.local_sgd(
                    task.layout,
                    weights,
                    users,
                    attributes,
                    own,
                    20,
                    32,
                    0.3,
                    np.random.default_rng([seed, 5]),
                    train_global=False,
                )
            results.setdefault(f"after {days} days", []).append(evaluate_used(task, weights, users, new)[0])
        users = task.users.copy()
        users[new] = 0.0
        results.setdefault("0 days, no attributes", []).append(evaluate_used(task, weights, users, new)[0])
    print(f"\n2. Cold start: new members (20 %), hit-rate@10 on their held-out week ({len(seeds)} seeds)")
    for name in ("0 days, no attributes", "after 0 days", "after 1 days", "after 7 days"):
        print(f"  {name.replace('1 days', '1 day'):<24} {ci(results[name]):>16}")


def blurring(seeds: list[int]) -> None:
    print(f"\n3. Location blurring, federated ({len(seeds)} seeds)")
    print(f"  {'blur':<10} {'context right':>14} {'hit-rate@10':>16} {'NDCG@10':>16}")
    for blur in (0.0, 250.0, 500.0, 1000.0):
        hits, gains, right = [], [], []
        for seed in seeds:
            world = world_for(seed)
            task = SuggestionTask(world, {**PARAMS, "blur_m": blur}, seed)
            hit, ndcg = evaluate_used(task, federated(task, seed), task.users)
            hits.append(hit)
            gains.append(ndcg)
            right.append(float((task.contexts == world.events["context"]).mean()))
        label = "exact" if blur == 0 else f"{blur:g} m"
        print(f"  {label:<10} {np.mean(right):>14.1%} {ci(hits):>16} {ci(gains):>16}")


def scenario_runs(seeds: list[int], epsilons: tuple[float, ...]) -> None:
    from simulator.engine import Simulation

    def run(seed: int, epsilon: float | None) -> dict:
        overrides = {"apps.home_suggestions.params.dp_epsilon": epsilon} if epsilon is not None else None
        sim = Simulation.from_file(SCENARIO, seed=seed, overrides=overrides)
        sim.run()
        return sim.summary()["home_suggestions"]

    print(f"\n4. The scenario (50 homes, 7 days, 140 rounds on the device clock; seeds {seeds})")
    base = []
    for seed in seeds:
        started = time.perf_counter()
        m = run(seed, None)
        m["host_s"] = time.perf_counter() - started
        base.append(m)
    print(
        f"  served hit-rate@10 {ci([m['hit_rate_at_10'] for m in base])}, NDCG@10 {ci([m['ndcg_at_10'] for m in base])}, "
        f"most popular {ci([m['baseline_popular_hit_rate'] for m in base])}; "
        f"global model after the last round {ci([m['federated_hit_rate'][-1] for m in base])}"
    )
    print(
        f"  host time per run {np.mean([m['host_s'] for m in base]):.1f} s; bytes per round {np.mean([m['bytes_per_round'] for m in base]) / 1e3:.0f} kB"
    )
    print(
        f"  {'serving device':<16} {'latency p95 ms':>15} {'latency max ms':>15} {'energy µJ':>10}  (seed {seeds[0]})"
    )
    m = base[0]
    for kind, p95 in m["latency_p95_ms"].items():
        print(
            f"  {kind:<16} {p95:>15.3f} {m['latency_max_ms'][kind]:>15.3f} {m['energy_per_suggestion_uj'].get(kind, 0.0):>10.1f}"
        )
    print("  differential privacy (DP-FedAvg on the service, Opacus RDP accountant, δ = 1e-5)")
    print(f"  {'ε target':<10} {'served hit@10':>16} {'global hit@10':>16} {'ε spent':>9}")
    print(
        f"  {'none':<10} {ci([m['hit_rate_at_10'] for m in base]):>16} {ci([m['federated_hit_rate'][-1] for m in base]):>16} {'—':>9}"
    )
    for epsilon in epsilons:
        runs = [run(seed, epsilon) for seed in seeds]
        spent = max(r["federated"].get("epsilon") or 0.0 for r in runs)
        print(
            f"  {epsilon:<10g} {ci([r['hit_rate_at_10'] for r in runs]):>16} "
            f"{ci([r['federated_hit_rate'][-1] if r['federated_hit_rate'] else 0.0 for r in runs]):>16} {spent:>9.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 seeds, scenario on 1 seed")
    args = parser.parse_args()
    seeds = list(range(2 if args.quick else args.seeds))
    started = time.perf_counter()
    compare(seeds)
    cold_start(seeds)
    blurring(seeds)
    scenario_runs([11] if args.quick else [11, 12, 13], (1.0, 4.0, 8.0))
    print(f"\n(host {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
