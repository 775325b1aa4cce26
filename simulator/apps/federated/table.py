"""CLI summary table of a federated learning app: accuracy, rounds and what they cost."""

from __future__ import annotations

from simulator.apps.tables import fmt


def _bytes(n: int | None) -> str:
    if n is None:
        return "—"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def _sparkline(values: list[float]) -> str:
    bars = "▁▂▃▄▅▆▇█"
    return "".join(bars[min(int(v * len(bars)), len(bars) - 1)] for v in values)


def table(name: str, metrics: dict) -> list[str]:
    """Held-out accuracy from the first to the last round (and a sparkline per round), who
    took part, the bytes and energy it cost the clients, the privacy layers' cost and ε."""
    if not metrics.get("rounds"):
        return [f"  {name}: no federated round ran (no eligible clients?)"]
    m = metrics
    lines = [
        f"  {name}: {m['strategy']} ({m['mode']}), privacy: {m['privacy']}, {m['clients']} clients",
        f"  {'held-out accuracy':<26} {m['accuracy_initial']:.3f} → {m['accuracy']:.3f} "
        f"(best {m['accuracy_best']:.3f})  {_sparkline(m['accuracy_per_round'])}",
        f"  {'rounds':<26} {m['rounds']} of {m['rounds_planned']}"
        + (
            f" ({m['rounds_attempted']} attempted)"
            if m.get("rounds_attempted", m["rounds"]) != m["rounds"]
            else ""
        )
        + f", {m['first_round']}–{m['last_round']}  "
        + " ".join(f"{h}h:{n}" for h, n in m["rounds_by_hour"].items()),
        f"  {'participants / round':<26} {fmt(m['participants_mean'], 1)}  "
        f"({m['clients_participated']} distinct clients)",
        f"  {'client outcomes':<26} reported {m['reported']}, stragglers {m['stragglers']}, "
        f"dropped {m['dropped']}, offline {m['offline']} (synced late {m['synced_late']}, "
        f"rejected {m['rejected_late']})",
        f"  {'bytes up / down':<26} {_bytes(m['bytes_up'])} / {_bytes(m['bytes_down'])}",
        f"  {'client energy':<26} {fmt(m['client_energy_j'], 2)} J "
        f"(from batteries {fmt(m['battery_energy_j'], 2)} J, watches {fmt(m['watch_battery_j'], 3)} J)",
    ]
    if m["privacy"] != "none":
        lines.append(
            f"  {'privacy cost':<26} {fmt(m['privacy_device_s'], 3)} device s, "
            f"{fmt(m['privacy_energy_j'], 2)} J, {_bytes(m['privacy_bytes'])} protocol"
            + (f", {m['masks_recovered']} masks recovered" if m.get("masks_recovered") else "")
            + (f", sum error ≤ {m['aggregate_error_max']:.1e}" if m.get("aggregate_error_max") else "")
        )
    if m.get("epsilon") is not None:
        lines.append(
            f"  {'differential privacy':<26} ε = {m['epsilon']:.2f} (noise multiplier {m['noise_multiplier']:.3f})"
        )
    return lines
