"""The photo-search app's CLI table: the headline numbers, then one row per night on the charger."""

from __future__ import annotations

from typing import Any

ROWS = (
    ("photos_taken", "photos taken", "{:,}"),
    ("photos_indexed", "photos indexed", "{:,}"),
    ("index_kind", "index", "{}"),
    ("index_memory_mb", "index memory", "{:.2f} MB"),
    ("peak_memory_mb", "peak memory (of budget)", "{:.1f} MB"),
    ("embed_variant", "image encoder", "{}"),
    ("embed_ms_per_photo", "embedding per photo", "{:.4f} ms"),
    ("embed_mj_per_photo", "energy per photo", "{:.4f} mJ"),
    ("index_build_j_per_night", "index build per night", "{:.3f} J"),
    ("queries", "queries (empty)", "{}"),
    ("recall_at_10", "recall@10 (tag search)", "{:.3f}"),
    ("index_recall_at_10", "index recall@10 vs exact", "{:.3f}"),
    ("query_p50_ms", "query p50 / p95", "{:.3f} ms"),
    ("bytes_off_device", "bytes off the phone", "{:,} B"),
)


def _cell(value: Any, how: str) -> str:
    return "—" if value is None else how.format(value)


def table(name: str, metrics: dict) -> list[str]:
    """Lines for ``python main.py run``/``summary`` under the device table."""
    extra = {
        "peak_memory_mb": f" of {_cell(metrics.get('memory_budget_mb'), '{:.0f} MB')}",
        "queries": f" ({metrics.get('queries_empty', 0)})",
        "recall_at_10": f" ({_cell(metrics.get('tag_recall_at_10'), '{:.3f}')})",
        "query_p50_ms": f" / {_cell(metrics.get('query_p95_ms'), '{:.3f} ms')}",
    }
    lines = [f"  {name}: photo search on the phone"]
    for key, label, how in ROWS:
        lines.append(f"  {label:<28} {_cell(metrics.get(key), how)}{extra.get(key, '')}")
    nights = metrics.get("nights") or []
    if nights:
        lines.append(f"  {'night':<8} {'photos':>8} {'embed J':>10} {'index J':>10} {'index size':>11}")
        for night in nights:
            lines.append(
                f"  {night['night'] + 1:<8} {night['photos']:>8,} {night['embed_j']:>10.4f}"
                f" {night['index_j']:>10.4f} {night['index_size']:>11,}"
            )
    return lines
