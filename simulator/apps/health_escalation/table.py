"""CLI summary table of a health escalation app: the model cascade against the HR > 120 rule."""

from __future__ import annotations

from simulator.apps.tables import fmt


def table(name: str, metrics: dict) -> list[str]:
    """Episodes, detection, false alarms and time to alert, cascade beside baseline; then
    the count of each escalation stage."""
    base = metrics["baseline"]
    rows = [
        ("episodes (truth)", metrics["episodes"], base["episodes"]),
        ("detected", metrics["detected"], base["detected"]),
        ("sensitivity", metrics["sensitivity"], base["sensitivity"]),
        ("false alarms", metrics["false_alarms"], base["false_alarms"]),
        ("false alarms / day", metrics["false_alarms_per_day"], base["false_alarms_per_day"]),
        ("median time to alert (s)", metrics["median_time_to_alert_s"], base["median_time_to_alert_s"]),
    ]
    lines = [f"  {name:<24} {'model cascade':>14} {'HR>120 rule':>12}"]
    lines += [f"  {label:<24} {fmt(a):>14} {fmt(b):>12}" for label, a, b in rows]
    stages = "  ".join(f"{stage} {count}" for stage, count in metrics["escalations"].items())
    lines += ["", f"  escalations: {stages}"]
    he = metrics.get("encrypted_risk")
    if he:
        lines.append(
            f"  encrypted cloud risk: {he['answers_decrypted']}/{he['queries']} decrypted, "
            f"keys {he['key_bytes'] / 1e6:.1f} MB once, ciphertext {he['ciphertext_bytes_up'] / 1e6:.2f} MB up "
            f"{he['ciphertext_bytes_down'] / 1e6:.2f} MB down, phone {he['phone_compute_ms']:.1f} ms "
            f"{he['phone_compute_mj']:.1f} mJ, cloud {he['cloud_compute_ms']:.1f} ms {he['cloud_compute_mj']:.0f} mJ, "
            f"{he['answers_within_tolerance']}/{he['answers_decrypted']} within {he['risk_tolerance']:.0e} of the plaintext model, "
            f"agree {fmt(he['decisions_agree'])}"
        )
    return lines
