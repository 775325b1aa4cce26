"""CLI summary table of a smart-home app: one row per chain, then deploys, gates, switching
and the doorbell's battery."""

from __future__ import annotations

from simulator.apps.tables import fmt

# Published battery doorbells/cameras to set the projection beside (shared REFERENCE.md).
PUBLISHED = "Blink, 2x AA lithium: up to 2 years (≈ 0.5 mW average)"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1e3:.0f}"


def _energy(by_device: dict[str, float]) -> str:
    top = sorted(by_device.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{d} {_joules(e)}" for d, e in top) or "—"


def _joules(e: float) -> str:
    return f"{e:.1f} J" if e >= 1 else f"{e * 1e3:.1f} mJ"


def _recall(chain: dict) -> str:
    """Recall with its 95 % interval: a night has few events of a kind (4 voice commands)."""
    ci = chain.get("recall_ci95")
    if chain.get("recall") is None:
        return "—"
    return f"{chain['recall']:.2f}" + (f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else "")


def chain_rows(metrics: dict) -> list[str]:
    """The per-chain table (also used by ``bench/smart_home.py``)."""
    head = (
        f"  {'chain':<11} {'qos':<8} {'gated/in':>12} {'calls':>6} {'runs':>5} {'alerts':>6} {'truth':>5} "
        f"{'recall (95 % CI)':>18} {'prec.':>6} {'e2e p50/p95 ms':>15} {'misses':>6}  energy by device"
    )
    lines = [head]
    for name, c in metrics["chains"].items():
        e2e = c["end_to_end_s"]
        inputs = f"{fmt(c['gated'])}/{fmt(c['inputs'])}" if c["inputs"] is not None else "timer"
        lines.append(
            f"  {name:<11} {c['qos']:<8} {inputs:>12} {c['model_calls']:>6} {c['runs']:>5} {c['alerts']:>6} "
            f"{c['truth_events']:>5} {_recall(c):>18} {fmt(c['precision']):>6} "
            f"{_ms(e2e['p50']) + '/' + _ms(e2e['p95']):>15} {c['deadline_misses']:>6}  {_energy(c['energy_j_by_device'])}"
        )
    return lines


def table(name: str, metrics: dict) -> list[str]:
    """Per chain: inputs through the gate, model calls, runs, alerts against the ground
    truth (recall, precision), end-to-end latency, deadline misses and energy; then each
    deploy, the switching policy and the doorbell's battery projection."""
    lines = [f"  {name}: inference chains"] + chain_rows(metrics)
    for d in metrics.get("deploys", []):
        took = "not arrived" if d["deploy_s"] is None else f"{d['deploy_s'] * 1e3:.0f} ms"
        lines.append(
            f"  deploy {d['model']}:{d['variant']} → {d['device']} ({d['role']}, {d['bytes'] / 1e3:.0f} kB): "
            f"{took}, {_joules(d['energy_j'])} radio; {d['reason']}"
        )
    switching = metrics.get("switching", {})
    if switching.get("switches"):
        lines.append(
            f"  switching: {switching['to_local']}× to local decisions, {switching['local_s'] / 60:.0f} min local"
        )
    for device, change in ((c["device"], c) for c in metrics.get("chain_changes", [])):
        lines.append(f"  {device} left: {change['chain']} {change['state']} ({change['detail']})")
    gate = metrics.get("voice_gate")
    if gate:
        lines.append(
            f"  voice gate {gate['gate']}: keyword model {gate['keyword_calls_per_day']:,.0f} calls/day, "
            f"speaker {gate['speaker_energy_j_per_day'] / 1e3:.2f} kJ/day (the gate's load "
            f"{gate['gate_energy_j_per_day']:.0f} J/day)"
        )
    battery = metrics.get("doorbell_battery")
    if battery:
        parts = ", ".join(f"{k} {_joules(v)}" for k, v in list(battery["breakdown_j"].items())[:4])
        lines.append(
            f"  doorbell battery: {battery['average_mw']:.2f} mW average over {battery['hours_home']:.1f} h "
            f"→ {battery['projected_days']:.0f} days ({PUBLISHED}); "
            f"{battery['dominant']} {100 * battery['dominant_share']:.0f} % of it ({parts})"
        )
    if metrics.get("unavailable"):
        lines.append(f"  note: {metrics['unavailable']}")
    return lines
