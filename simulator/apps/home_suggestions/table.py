"""CLI summary table of the home-suggestions app: quality against the baseline, the
federated curve, serving latency and energy per device, bytes."""

from __future__ import annotations

BARS = "▁▂▃▄▅▆▇█"


def _sparkline(values: list[float], top: float = 0.6) -> str:
    return "".join(BARS[min(int(v / top * len(BARS)), len(BARS) - 1)] for v in values)


def table(name: str, metrics: dict) -> list[str]:
    """Hit-rate@10 and NDCG@10 of the served suggestions against most popular, the global
    model's hit-rate per round, latency p95 and energy per serving device, bytes."""
    m = metrics
    if not m.get("suggestions"):
        return [f"  {name}: no suggestion served"]
    curve = m.get("federated_hit_rate") or []
    lines = [
        f"  {name}: {m['suggestions']} suggestions served ({m['unserved']} devices off), "
        f"location blurred to {m['blur_m']:g} m (context right {m['context_accuracy']:.1%})",
        f"  {'hit-rate@10':<24} {m['hit_rate_at_10']:.3f}   most popular {m['baseline_popular_hit_rate']:.3f}",
        f"  {'NDCG@10':<24} {m['ndcg_at_10']:.3f}   most popular {m['baseline_popular_ndcg']:.3f}",
        f"  {'by context':<24} " + "  ".join(f"{c} {v:.2f}" for c, v in m["hit_rate_by_context"].items()),
        f"  {'global model per round':<24} "
        + (
            f"{curve[0]:.3f} → {curve[-1]:.3f} over {len(curve)} rounds  {_sparkline(curve[:: max(1, len(curve) // 60)])}"
            if curve
            else "no round"
        ),
        f"  {'bytes per round':<24} {m['bytes_per_round'] / 1e3:.1f} kB; slices {m['slice_syncs']} pushed, {m['slice_bytes'] / 1e6:.2f} MB",
        f"  {'device':<10} {'p95 latency ms':>15} {'energy µJ':>10}",
    ]
    for kind, p95 in m["latency_p95_ms"].items():
        lines.append(f"  {kind:<10} {p95:>15.3f} {m['energy_per_suggestion_uj'].get(kind, 0.0):>10.1f}")
    return lines
