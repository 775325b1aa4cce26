"""Smart-home night: the per-chain table, motion gating on vs off, switching under a
degraded link on vs off, the reserved accelerator share on vs off while the hub runs a
best-effort batch, the voice chain's recall on many commands, the 19:00 join's deploys,
and the night's wall time cold and warm.

    python bench/smart_home.py [--seed N] [--json] [--quick]

Each comparison runs the shipped scenario twice with one param changed (same seed, same
ground truth, same inputs), side by side. Prepared inputs and model outputs come from the
cache (``simulator/cache.py``); the wall-time rows run the night once on an
empty cache folder (cold) and once more on it (warm), each in a fresh process.
``--quick`` leaves out the wall-time rows and the 20-commands-an-hour voice night.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from simulator.apps.smart_home import ChainStage  # noqa: E402
from simulator.apps.smart_home.table import PUBLISHED, chain_rows  # noqa: E402
from simulator.engine import Simulation  # noqa: E402

SCENARIO = ROOT / "scenarios" / "smart_home.yaml"
APP = "home"
SECURITY = ("doorbell", "indoor")
# The best-effort batch started on the hub as each security run begins: a re-index of
# 1,000 frames with the hub's FP32 detector (≈ 2 s of the hub's compute).
REINDEX_FRAMES = 1000


def build(seed: int | None, **overrides) -> Simulation:
    return Simulation.from_file(
        SCENARIO, seed=seed, overrides={f"apps.{APP}.params.{k}": v for k, v in overrides.items()}
    )


def finish(sim: Simulation, started: float, built: float) -> tuple[dict, dict]:
    sim.run()
    done = time.perf_counter()
    summary = sim.summary()
    timing = {
        "build_s": round(built - started, 2),
        "loop_s": round(done - built, 2),
        "total_s": round(done - started, 2),
        "events": sim.events_processed,
        "records": len(sim.trace),
    }
    return summary[APP] | {"devices": summary["devices"]}, timing


def night(seed: int | None, **overrides) -> tuple[dict, dict]:
    """One run: the app's metrics and the timings (build, loop, total)."""
    started = time.perf_counter()
    sim = build(seed, **overrides)
    return finish(sim, started, time.perf_counter())


def security_triggers(seed: int | None) -> list[float]:
    """When the security chains' runs began in the shipped night (their sensor's input time)."""
    sim = build(seed).run()
    return sorted(
        {
            r.trigger_t
            for r in sim.trace.of(ChainStage)
            if r.chain in SECURITY and r.run and r.outcome == "pass" and r.stage == "detect"
        }
    )


def reindex_night(seed: int | None, triggers: list[float], share: float) -> tuple[dict, Simulation]:
    """The night with ``reserved_share`` = ``share`` and a best-effort re-index batch of
    ``REINDEX_FRAMES`` frames started on the hub just before each security run reaches it
    (a fixed offset drawn from 0–1 s before the run began, the same in both runs)."""
    sim = build(seed, reserved_share=share)
    app = sim.apps[0]
    hub = app.state.hub
    chain = next(c for c in app.chains if c["name"] == "clip_index")
    card = hub.models["camera_detector"]
    offsets = np.random.default_rng(0).uniform(0.0, 1.0, len(triggers))

    def reindex(at_s: float):
        yield sim.env.timeout(max(at_s - sim.env.now, 0.0))
        yield from app.sensors.best_effort_batch(hub, card, REINDEX_FRAMES, chain)

    for t, offset in zip(triggers, offsets, strict=True):
        sim.env.process(reindex(t - offset))
    sim.run()
    return sim.summary()[APP], sim


def cold_and_warm() -> dict[str, dict]:
    """The shipped night's wall time in a fresh process on an empty cache (cold), then again
    on the cache it filled (warm)."""
    code = (
        "import json, sys, time; t = time.perf_counter(); sys.path.insert(0, sys.argv[1]);"
        "from bench.smart_home import night; m, timing = night(None);"
        "timing['process_s'] = round(time.perf_counter() - t, 2); print(json.dumps(timing))"
    )
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "HOMETWIN_CACHE": folder}
        for label in ("cold", "warm"):
            done = subprocess.run(
                [sys.executable, "-c", code, str(ROOT)], env=env, capture_output=True, text=True, check=True
            )
            out[label] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1e3:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="skip the wall-time rows and the voice night")
    args = parser.parse_args()
    results: dict = {}

    if not args.quick:
        walls = cold_and_warm()
        results["wall"] = walls
        cold, warm = walls["cold"], walls["warm"]
        print(
            "Smart-home night (18:00 → 08:00), shipped scenario, wall time in a fresh process:\n"
            f"  cold cache: {cold['process_s']} s (set-up: inputs and batched models {cold['build_s']} s, "
            f"event loop {cold['loop_s']} s, {cold['events']:,} events)\n"
            f"  warm cache: {warm['process_s']} s (set-up {warm['build_s']} s, event loop {warm['loop_s']} s)"
        )
    base, timing = night(args.seed)
    _, again = night(args.seed)
    results["night"] = {"timing": timing, "rerun_timing": again, "chains": base["chains"]}
    print(
        f"\nThe shipped night, in this process: {timing['total_s']} s; a what-if re-run "
        f"(models loaded, inputs and outputs cached) {again['total_s']} s"
    )
    print("\n".join(chain_rows(base)))

    print("\nThe 19:00 join: what the hub deployed on the doorbell, and why")
    for d in base["deploys"]:
        print(
            f"  {d['model']}:{d['variant']:<15} {d['role']:<9} {d['bytes'] / 1e3:6.0f} kB  "
            f"{d['deploy_s'] * 1e3:5.0f} ms  {d['energy_j'] * 1e3:6.1f} mJ (both radios)  {d['reason']}"
        )
    results["deploys"] = base["deploys"]

    battery = base["doorbell_battery"]
    print(
        f"\nDoorbell battery: {battery['average_mw']:.2f} mW average over {battery['hours_home']:.0f} h home "
        f"→ {battery['projected_days']:.0f} days on 2x AA; published: {PUBLISHED}"
    )
    for part, joules in battery["breakdown_j"].items():
        print(f"  {part:<18} {joules:9.2f} J  {100 * joules / battery['energy_j']:5.1f} %")
    results["doorbell_battery"] = battery

    ungated, t_ungated = night(args.seed, motion_gating=False)
    print("\nMotion gating (frame differencing before the detector), same night")
    print(
        f"  {'camera':<10} {'gating':<7} {'frames':>8} {'detector calls':>15} {'alerts':>7} {'precision':>9} {'chain energy on camera':>23}"
    )
    for chain, camera in (("doorbell", "doorbell"), ("indoor", "camera")):
        for label, metrics in (("on", base), ("off", ungated)):
            c = metrics["chains"][chain]
            print(
                f"  {camera:<10} {label:<7} {c['inputs']:>8} {c['model_calls']:>15} {c['alerts']:>7} "
                f"{c['precision'] if c['precision'] is not None else '—':>9} {c['energy_j_by_device'].get(camera, 0):>21.3f} J"
            )
    print(
        f"  (camera device energy incl. sensor, all night: doorbell {base['devices']['doorbell']['energy_j']:.1f} J on vs "
        f"{ungated['devices']['doorbell']['energy_j']:.1f} J off; indoor {base['devices']['camera']['energy_j'] / 1e3:.2f} kJ "
        f"vs {ungated['devices']['camera']['energy_j'] / 1e3:.2f} kJ; ungated run {t_ungated['total_s']} s wall)"
    )
    results["gating"] = {
        "on": {k: base["chains"][k] for k in SECURITY},
        "off": {k: ungated["chains"][k] for k in SECURITY},
        "ungated_timing": t_ungated,
    }

    fixed, _ = night(args.seed, switching=False)
    print("\nSwitching under the degraded door Wi-Fi (20:00-21:00: 250 ms latency, 0.2 Mbps, 5 % loss)")
    print(
        f"  {'switching':<10} {'alerts':>6} {'recall':>6} {'misses':>6} {'confirm p95 ms':>15} {'e2e p95 ms':>11} {'e2e max ms':>11}"
    )
    for label, metrics in (("on", base), ("off", fixed)):
        c = metrics["chains"]["doorbell"]
        confirm = c["per_stage_s"].get("confirm", {})
        p95 = confirm.get("p95")
        print(
            f"  {label:<10} {c['alerts']:>6} {c['recall']:>6} {c['deadline_misses']:>6} "
            f"{(p95 or 0) * 1e3:>15.0f} {(c['end_to_end_s']['p95'] or 0) * 1e3:>11.0f} {(c['end_to_end_s']['max'] or 0) * 1e3:>11.0f}"
        )
    print(
        f"  switches to local: {base['switching']['to_local']}, {base['switching']['local_s'] / 60:.0f} min deciding on the doorbell"
    )
    results["switching"] = {
        "on": base["chains"]["doorbell"],
        "off": fixed["chains"]["doorbell"],
        "policy": base["switching"],
    }

    triggers = security_triggers(args.seed)
    reserved, _ = reindex_night(args.seed, triggers, 0.25)
    unreserved, _ = reindex_night(args.seed, triggers, 0.0)
    print(
        f"\nReserved accelerator share while the hub re-indexes {REINDEX_FRAMES:,} frames (best effort, FP32) "
        f"as each of the night's {len(triggers)} security runs begins"
    )
    print(
        f"  {'chain':<9} {'reserved':<9} {'alerts':>6} {'e2e p50':>8} {'p95':>6} {'max ms':>7} {'misses':>6} "
        f"{'hub wait p50':>13} {'p95':>6} {'max ms':>7}"
    )
    for chain in SECURITY:
        for label, metrics in (("25 %", reserved), ("none", unreserved)):
            c = metrics["chains"][chain]
            e2e, wait = c["end_to_end_s"], c["compute_wait_s"].get("confirm", {})
            print(
                f"  {chain:<9} {label:<9} {c['alerts']:>6} {ms(e2e['p50']):>8} {ms(e2e['p95']):>6} {ms(e2e['max']):>7} "
                f"{c['deadline_misses']:>6} {ms(wait.get('p50')):>13} {ms(wait.get('p95')):>6} {ms(wait.get('max')):>7}"
            )
    results["reservation"] = {
        "triggers": len(triggers),
        "reindex_frames": REINDEX_FRAMES,
        "reserved": {k: reserved["chains"][k] for k in SECURITY},
        "none": {k: unreserved["chains"][k] for k in SECURITY},
    }

    if not args.quick:
        busy, _ = night(args.seed, voice_per_hour=20.0)
        voice = busy["chains"]["voice"]
        shipped = base["chains"]["voice"]
        low, high = voice["recall_ci95"]
        s_low, s_high = shipped["recall_ci95"]
        print(
            "\nVoice chain recall, the shipped night vs the same night with 20 commands an hour "
            "(same voices, room and model)"
        )
        print(
            f"  shipped: {shipped['detected']}/{shipped['truth_events']} = {shipped['recall']} (95 % CI {s_low}-{s_high})\n"
            f"  busy:    {voice['detected']}/{voice['truth_events']} = {voice['recall']} (95 % CI {low}-{high}), "
            f"precision {voice['precision']}, outcomes {voice['outcomes']}"
        )
        results["voice"] = {"shipped": shipped, "busy": voice, "busy_ci": (low, high)}
    if args.json:
        print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
