"""The device-lifecycle app's CLI table: accuracy through drift and adaptation, each
adaptation, each fault, the migration."""

from __future__ import annotations

from typing import Any

from simulator.apps.tables import fmt

ROWS = (
    ("windows_served", "windows served", "{:,}"),
    ("accuracy_before_drift", "accuracy before drift", "{:.1%}"),
    ("accuracy_drift_before_adaptation", "after drift, waiting to adapt", "{:.1%}"),
    ("accuracy_drift_unadapted", "after drift, unadapted model", "{:.1%}"),
    ("accuracy_adapted", "after drift, adapted on device", "{:.1%}"),
    ("drift_detected_day", "first drift detected on day", "{:.2f}"),
    ("drift_detection_delay_h", "detection delay", "{:.1f} h"),
    ("adaptations_deployed", "adaptations deployed", "{}"),
    ("adaptation_peak_memory_bytes", "peak training memory", "{:,} B"),
    ("faults_injected", "faults injected", "{}"),
    ("faults_detected", "faults detected", "{}"),
    ("faults_healed", "faults healed", "{}"),
    ("served_while_damaged", "windows served while damaged", "{}"),
    ("migration_s", "migration: time to service", "{:.1f} s"),
    ("migration_bytes", "migration: bytes moved", "{:,} B"),
    ("accuracy_new_watch", "new watch, personalized", "{:.1%}"),
    ("accuracy_new_watch_generic", "new watch, fresh generic model", "{:.1%}"),
    ("twin_digest_equal", "twin digest equal", "{}"),
)


def _cell(value: Any, how: str) -> str:
    return fmt(None) if value is None else how.format(value)


def table(name: str, metrics: dict) -> list[str]:
    """Lines for ``python main.py run``/``summary`` under the device table."""
    extra = {
        "adaptations_deployed": f" of {metrics.get('adaptations_tried', 0)} tried",
        "adaptation_peak_memory_bytes": f" (budget {_cell(metrics.get('training_memory_budget_bytes'), '{:,} B')})",
    }
    lines = [f"  {name}: a watch's model as a digital twin"]
    for key, label, how in ROWS:
        lines.append(f"  {label:<32} {_cell(metrics.get(key), how)}{extra.get(key, '')}")
    adaptations = metrics.get("adaptations") or []
    if adaptations:
        lines.append(
            f"  {'adaptation':<11} {'day':>6} {'val before':>10} {'after':>7} {'peak KiB':>9} "
            f"{'size B':>13} {'device s':>9} {'J':>8} {'deployed':>8}"
        )
        for a in adaptations:
            lines.append(
                f"  {a['version_before'] + '→' + a['version_after']:<11} {a['t'] / 86400:>6.2f} "
                f"{a['val_accuracy_before']:>10.1%} {a['val_accuracy_after']:>7.1%} "
                f"{a['peak_memory_bytes'] / 1024:>9.0f} {a['size_before_bytes']:>6}→{a['size_after_bytes']:<6} "
                f"{a['device_busy_s']:>9.2f} {a['energy_j']:>8.3f} {'yes' if a['deployed'] else 'no':>8}"
            )
    faults = metrics.get("faults") or []
    if faults:
        lines.append(
            f"  {'fault':<18} {'day':>6} {'detected by':>16} {'after s':>9} {'repair':>11} "
            f"{'damaged acc':>11} {'after':>7} {'bytes':>8} {'radio J':>8}"
        )
        for f in faults:
            lines.append(
                f"  {f['kind']:<18} {f['day']:>6.2f} {f['detected_by'] or 'missed':>16} "
                f"{_cell(f['detect_delay_s'], '{:.1f}'):>9} {f['repair'] or '—':>11} "
                f"{_cell(f['accuracy_damaged'], '{:.1%}'):>11} {_cell(f['accuracy_after_repair'], '{:.1%}'):>7} "
                f"{f['restore_bytes']:>8,} {f['restore_energy_j']:>8.4f}"
            )
    return lines
