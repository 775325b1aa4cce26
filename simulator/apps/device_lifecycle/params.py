"""The device-lifecycle app's params schema and the checks that need the whole scenario."""

from __future__ import annotations

from typing import Any

from simulator.validate import Field, ListOf, MapOf, SpecError

DRIFT_KINDS = ("new_sport", "other_wrist", "sensor_ageing")
FAULT_KINDS = ("random_flips", "corrupt_download", "targeted_flips")
FINETUNE_MODES = ("bias", "classifier", "last_block")

DRIFT_SCHEMA = {
    "device": Field(str, required=True),
    "kind": Field(str, required=True, choices=DRIFT_KINDS),
    "day": Field(float, required=True, minimum=0.0),
    "severity": Field(float, default=1.0, minimum=0.0, exclusive_min=True, maximum=2.0),
}
FAULT_SCHEMA = {
    "device": Field(str, required=True),
    "kind": Field(str, required=True, choices=FAULT_KINDS),
    "day": Field(float, required=True, minimum=0.0),
    # random_flips: probability that each stored weight bit flips
    "rate": Field(float, default=1e-3, minimum=0.0, maximum=1.0),
    # targeted_flips: how many most-significant bits the attacker flips
    "bits": Field(int, default=20, minimum=1),
}
MIGRATION_SCHEMA = {
    "to": Field(str, required=True),
    "via": Field(str, default="hub"),
    "retire_day": Field(float, required=True, minimum=0.0),
}
PARAMS: dict[str, Any] = {
    "model": Field(str, default="gesture_imu", choices=("gesture_imu",)),
    "watch": Field(str, default="watch"),
    "phone": Field(str, default="phone"),
    "hub": Field(str, default="hub"),
    "wearer": Field(int, default=0, minimum=0, maximum=19),  # a held-out test wearer
    "wake": Field("duration", default="07:00", minimum=0.0),
    "bedtime": Field("duration", default="22:30", minimum=0.0),
    "window_every_s": Field("duration", default=300.0, minimum=10.0),
    "charge_start": Field("duration", default="22:30", minimum=0.0),
    "charge_hours": Field(float, default=1.0, minimum=0.1, maximum=12.0),
    "label_share": Field(float, default=0.25, minimum=0.0, maximum=1.0),
    "buffer_windows": Field(int, default=256, minimum=16),
    "min_labelled": Field(int, default=48, minimum=8),
    "heldout_share": Field(float, default=0.25, minimum=0.05, maximum=0.5),
    "finetune_mode": Field(str, default="bias", choices=FINETUNE_MODES),
    "finetune_epochs": Field(int, default=30, minimum=1),
    "finetune_lr": Field(float, default=3e-3, minimum=0.0, exclusive_min=True),
    "finetune_batch": Field(int, default=8, minimum=1),
    "training_memory_budget_bytes": Field(int, default=524288, minimum=1024),
    "size_targets_bytes": MapOf(Field(int, minimum=1), default={}),
    "default_size_target_bytes": Field(int, default=40000, minimum=1),
    "detector_delta": Field(float, default=0.002, minimum=0.0, exclusive_min=True, maximum=1.0),
    "detector_min_drop": Field(float, default=0.03, minimum=0.0, maximum=1.0),
    "guard": Field(bool, default=True),
    "anomaly_rate": Field(float, default=0.05, minimum=0.0, maximum=1.0),
    "guard_window": Field(int, default=60, minimum=5),
    "hub_backup": Field(bool, default=True),
    "heldout_windows": Field(int, default=140, minimum=7),
    "drifts": ListOf(DRIFT_SCHEMA, default=[]),
    "faults": ListOf(FAULT_SCHEMA, default=[]),
    "migration": MIGRATION_SCHEMA,
}
DEVICE_PARAMS = ("watch", "phone", "hub")
DAY_S = 86400.0


def _hosts(scenario: dict[str, Any], device: str, model: str) -> bool:
    spec = next((d for d in scenario["devices"] if d["name"] == device), None)
    return spec is not None and model in spec["models"]


def _first_join_s(scenario: dict[str, Any], device: str) -> float | None:
    joins = [e["at"] for e in scenario["events"] if e["type"] == "device_join" and e["device"] == device]
    return min(joins) if joins else None


def check_lifecycle(params: dict[str, Any], scenario: dict[str, Any], file: str, where: str) -> None:
    """Cross-field checks: drifts and faults name a device that hosts the model, days fall in
    the run, and the watch is retired no earlier than its successor joins."""
    devices = [d["name"] for d in scenario["devices"]]
    duration_days = scenario["duration"] / 86400.0
    model = params["model"]
    for field in ("wake", "bedtime", "charge_start"):
        if params[field] >= DAY_S:
            raise SpecError(
                f"{file}, {where}.{field}: a time of day is expected (before 24:00), got {params[field] / 3600:g} h"
            )
    if params["wake"] >= params["bedtime"]:
        raise SpecError(
            f"{file}, {where}.bedtime: must be after wake ({params['wake'] / 3600:g} h), got {params['bedtime'] / 3600:g} h"
        )
    if params["min_labelled"] > params["buffer_windows"]:
        raise SpecError(
            f"{file}, {where}.min_labelled: at most buffer_windows ({params['buffer_windows']}) labelled "
            f"windows are kept, so {params['min_labelled']} can never be reached"
        )
    for device in params["size_targets_bytes"]:
        if device not in devices:
            raise SpecError(
                f"{file}, {where}.size_targets_bytes.{device}: unknown device (devices: {', '.join(devices)})"
            )
    if not _hosts(scenario, params["watch"], model):
        raise SpecError(f"{file}, {where}.watch: {params['watch']!r} must host {model} (devices[].models)")
    migration = params["migration"]
    successor = migration["to"] if migration else None
    for key in ("drifts", "faults"):
        for i, item in enumerate(params[key]):
            at = f"{where}.{key}[{i}]"
            if item["device"] not in devices:
                raise SpecError(
                    f"{file}, {at}.device: unknown device {item['device']!r} (devices: {', '.join(devices)})"
                )
            if item["device"] not in (params["watch"], successor):
                raise SpecError(
                    f"{file}, {at}.device: {item['device']!r} does not host {model}; the model lives on "
                    f"{params['watch']!r}" + (f" and then {successor!r}" if successor else "")
                )
            if item["day"] >= duration_days:
                raise SpecError(
                    f"{file}, {at}.day: must be before the end of the run (day {duration_days:g}), got {item['day']:g}"
                )
    if migration is None:
        return
    at = f"{where}.migration"
    for field in ("to", "via"):
        if migration[field] not in devices:
            raise SpecError(
                f"{file}, {at}.{field}: unknown device {migration[field]!r} (devices: {', '.join(devices)})"
            )
    if migration["to"] == params["watch"]:
        raise SpecError(f"{file}, {at}.to: the successor must be another device than {params['watch']!r}")
    joined_s = _first_join_s(scenario, migration["to"])
    retire_s = migration["retire_day"] * 86400.0
    if joined_s is not None and retire_s < joined_s:
        raise SpecError(
            f"{file}, {at}.retire_day: the watch is retired on day {migration['retire_day']:g}, before "
            f"{migration['to']!r} joins (day {joined_s / 86400.0:g}); retire it on or after the join"
        )
    if retire_s >= scenario["duration"]:
        raise SpecError(f"{file}, {at}.retire_day: must be before the end of the run (day {duration_days:g})")
