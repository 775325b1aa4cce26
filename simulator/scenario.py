"""Scenario files: schema, validation with clear errors, overrides and listing.

The schema is engine code; the shipped scenario files live in the top-level ``scenarios/``
folder (data only), found here by path, never imported.

A scenario names devices (by profile, with overrides), links, apps with parameters,
scheduled events, narration for teaching, a duration and a seed. Every error names the
file and the field path, e.g. ``scenarios/x.yaml, devices[1].battery.capacity_wh: must be
> 0, got -5``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from models.cards import find_card
from simulator.apps import app_class, app_types
from simulator.profiles import LINK_SCHEMA, LINK_TYPES, SpecError, load_profile
from simulator.validate import Field, ListOf, MapOf, check_file, read_yaml

ScenarioError = SpecError
SCENARIOS_DIR = Path(__file__).resolve().parents[1] / "scenarios"

EVENT_TYPES = (
    "link_down",
    "link_up",
    "device_off",
    "device_on",
    "charge_start",
    "charge_stop",
    "device_join",
    "device_leave",
    "link_degrade",
)
# What a link_degrade event may change (at least one), and its bounds.
DEGRADE_FIELDS = ("latency_s", "bandwidth_bps", "loss")

DEVICE_SCHEMA = {
    "name": Field(str, required=True),
    "profile": Field(str, required=True),
    "position": ListOf(Field(float)),
    "state": Field(str, default="idle"),
    "battery": {
        "capacity_wh": Field(float, minimum=0.0, exclusive_min=True),
        "state_of_charge": Field(float, minimum=0.0, maximum=1.0),
        "model": Field(str, choices=("linear", "kibam")),
    },
    "models": MapOf(Field(str), default={}),
}
LINK_OVERRIDES = {
    # a bandwidth of 0 would divide by zero at the first transfer: it must be > 0
    name: Field(
        float,
        minimum=0.0,
        maximum=0.99 if name == "loss" else None,
        exclusive_min=name == "bandwidth_bps",
    )
    for name in LINK_SCHEMA
    if name != "source"
}
SCENARIO_LINK_SCHEMA = {
    "name": Field(str),
    "type": Field(str, required=True, choices=LINK_TYPES),
    "a": Field(str, required=True),
    "b": Field(str, required=True),
    **LINK_OVERRIDES,
}
EVENT_SCHEMA = {
    "at": Field("duration", required=True),
    "type": Field(str, required=True, choices=EVENT_TYPES),
    "until": Field("duration"),
    "link": Field(str),
    "device": Field(str),
    "reason": Field(str),
    "latency_s": Field(float, minimum=0.0),
    "bandwidth_bps": Field(float, minimum=0.0, exclusive_min=True),
    "loss": Field(float, minimum=0.0, maximum=0.99),
}
NARRATION_SCHEMA = {"at": Field("duration"), "on": Field(str), "text": Field(str, required=True)}
APP_SCHEMA = {"type": Field(str, required=True), "name": Field(str), "params": MapOf(Field(Any), default={})}
SCENARIO_SCHEMA = {
    "name": Field(str, required=True),
    "description": Field(str, default=""),
    "duration": Field("duration", required=True, minimum=0.0, exclusive_min=True),
    "seed": Field(int, default=0),
    "devices": ListOf(DEVICE_SCHEMA, required=True),
    "links": ListOf(SCENARIO_LINK_SCHEMA, default=[]),
    "events": ListOf(EVENT_SCHEMA, default=[]),
    "apps": ListOf(APP_SCHEMA, default=[]),
    "narration": ListOf(NARRATION_SCHEMA, default=[]),
}


def _find_named(items: list, name: str) -> int | None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        implicit = f"{item.get('a')}-{item.get('b')}" if "a" in item and not item.get("name") else None
        if name in (item.get("name"), item.get("type"), implicit):
            return i
    return None


def apply_overrides(raw: dict, overrides: dict[str, Any], where: str) -> dict:
    """Set dotted-path values (``devices.watch.battery.capacity_wh``) in a scenario dict.
    Lists are indexed by an element's ``name`` (apps also by ``type``) or by number."""
    raw = copy.deepcopy(raw)
    for path, value in overrides.items():
        parts = path.split(".")
        node: Any = raw
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if isinstance(node, list):
                index = int(part) if part.isdigit() else _find_named(node, part)
                if index is None or index >= len(node):
                    raise SpecError(f"{where}, override {path!r}: no element named {part!r}")
                if last:
                    node[index] = value
                else:
                    node = node[index]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {})
                    if node is None:
                        raise SpecError(f"{where}, override {path!r}: {part!r} is empty")
            else:
                raise SpecError(f"{where}, override {path!r}: cannot set inside {type(node).__name__}")
    return raw


def validate(raw: Any, where: str, base_dir: Path | None = None) -> dict:
    """Check a scenario mapping (from ``where``); return it normalised, or raise ScenarioError."""
    spec = check_file(SCENARIO_SCHEMA, raw, where)
    names: set[str] = set()
    for i, device in enumerate(spec["devices"]):
        if device["name"] in names:
            raise SpecError(f"{where}, devices[{i}].name: duplicate device name {device['name']!r}")
        names.add(device["name"])
        try:
            profile = load_profile(device["profile"], base_dir)
        except SpecError as exc:
            raise SpecError(f"{where}, devices[{i}].profile: {exc}") from None
        device["profile_path"] = profile.path
        if device["state"] not in profile.power_states_w or device["state"] == "off":
            states = ", ".join(s for s in profile.power_states_w if s != "off")
            raise SpecError(f"{where}, devices[{i}].state: must be one of {states}, got {device['state']!r}")
        for model, variant in device["models"].items():
            try:
                find_card(model, variant)
            except ValueError as exc:
                raise SpecError(f"{where}, devices[{i}].models.{model}: {exc}") from None
        position = device.get("position")
        if position is not None and len(position) != 2:
            raise SpecError(f"{where}, devices[{i}].position: expected [x, y], got {position!r}")
        if (
            device["battery"]
            and profile.battery is None
            and any(v is not None for v in device["battery"].values())
        ):
            raise SpecError(
                f"{where}, devices[{i}].battery: profile {profile.name!r} is mains-powered and has no battery"
            )
    link_names: set[str] = set()
    for i, link in enumerate(spec["links"]):
        for end in ("a", "b"):
            if link[end] not in names:
                raise SpecError(
                    f"{where}, links[{i}].{end}: unknown device {link[end]!r} (devices: {', '.join(sorted(names))})"
                )
        if link["a"] == link["b"]:
            raise SpecError(f"{where}, links[{i}]: a link needs two different devices")
        link["name"] = link["name"] or f"{link['a']}-{link['b']}"
        if link["name"] in link_names:
            raise SpecError(f"{where}, links[{i}].name: duplicate link name {link['name']!r}")
        link_names.add(link["name"])
    for i, event in enumerate(spec["events"]):
        needs = "link" if event["type"].startswith("link") else "device"
        target = event[needs]
        known = link_names if needs == "link" else names
        if target is None:
            raise SpecError(f"{where}, events[{i}].{needs}: required for a {event['type']} event")
        if target not in known:
            raise SpecError(
                f"{where}, events[{i}].{needs}: unknown {needs} {target!r} (known: {', '.join(sorted(known))})"
            )
        given = [k for k in DEGRADE_FIELDS if event[k] is not None]
        if event["type"] == "link_degrade" and not given:
            raise SpecError(
                f"{where}, events[{i}].latency_s: a link_degrade event needs at least one of "
                f"{', '.join(DEGRADE_FIELDS)}"
            )
        if event["type"] != "link_degrade" and given:
            raise SpecError(
                f"{where}, events[{i}].{given[0]}: only a link_degrade event changes link quality"
            )
        if event["until"] is not None and event["until"] <= event["at"]:
            raise SpecError(
                f"{where}, events[{i}].until: must be after at ({event['at']:g} s), got {event['until']:g} s"
            )
    _check_apps(spec, where)
    for i, step in enumerate(spec["narration"]):
        if (step["at"] is None) == (step["on"] is None):
            raise SpecError(
                f"{where}, narration[{i}]: give exactly one of 'at' (a time) or 'on' (an event stage)"
            )
    return spec


def _check_apps(spec: dict, where: str) -> None:
    """Each app: a known type, a unique name (default: its type), params valid for it."""
    names: set[str] = set()
    for i, app in enumerate(spec["apps"]):
        cls = app_class(app["type"])
        if cls is None:
            known = ", ".join(app_types())
            raise SpecError(
                f"{where}, apps[{i}].type: unknown app {app['type']!r} (expected one of: {known})"
            )
        app["name"] = app["name"] or app["type"]
        if app["name"] in names:
            raise SpecError(
                f"{where}, apps[{i}].name: duplicate app name {app['name']!r} (give each app its own name)"
            )
        names.add(app["name"])
        app["params"] = cls.check_params(app["params"], spec, where, f"apps[{i}].params")


def absent_at_start(spec: dict) -> set[str]:
    """Devices that are not in the home at t = 0: their first join/leave event is a join."""
    first: dict[str, tuple[float, str]] = {}
    for event in spec["events"]:
        if event["type"] in ("device_join", "device_leave"):
            name = event["device"]
            if name not in first or event["at"] < first[name][0]:
                first[name] = (event["at"], event["type"])
    return {name for name, (_, kind) in first.items() if kind == "device_join"}


def add_extras(
    raw: dict,
    where: str,
    extra_events: list[dict] | None = None,
    extra_devices: list[dict] | None = None,
    extra_links: list[dict] | None = None,
    base_dir: Path | None = None,
) -> dict:
    """A copy of scenario mapping ``raw`` with what-if additions appended: scheduled
    events, devices, and links (to the scenario's devices or the added ones). Errors name
    the addition, e.g. ``extra_devices[0].profile``."""
    raw = dict(raw)
    names = [d.get("name") for d in raw.get("devices") or [] if isinstance(d, dict)]
    schemas = {"devices": DEVICE_SCHEMA, "links": SCENARIO_LINK_SCHEMA, "events": EVENT_SCHEMA}
    for key, extra in (("devices", extra_devices), ("links", extra_links), ("events", extra_events)):
        if not extra:
            continue
        checked = check_file(ListOf(schemas[key]), extra, where, f"extra_{key}")
        for i, item in enumerate(checked):
            if key == "devices":
                if item["name"] in names:
                    raise SpecError(
                        f"{where}, extra_devices[{i}].name: a device {item['name']!r} exists already"
                    )
                try:
                    load_profile(item["profile"], base_dir)
                except SpecError as exc:
                    raise SpecError(f"{where}, extra_devices[{i}].profile: {exc}") from None
                names.append(item["name"])
            elif key == "links":
                for end in ("a", "b"):
                    if item[end] not in names:
                        raise SpecError(f"{where}, extra_links[{i}].{end}: unknown device {item[end]!r}")
        raw[key] = list(raw.get(key) or []) + list(extra)
    return raw


def load_scenario(
    path: str | Path,
    overrides: dict[str, Any] | None = None,
    extra_events: list[dict] | None = None,
    extra_devices: list[dict] | None = None,
    extra_links: list[dict] | None = None,
) -> dict:
    """Read, override and validate a scenario file, with what-if additions (see
    :func:`add_extras`); raise ScenarioError with file and field."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping with fields {', '.join(SCENARIO_SCHEMA)}")
    if overrides:
        raw = apply_overrides(raw, overrides, str(path))
    raw = add_extras(raw, str(path), extra_events, extra_devices, extra_links, path.parent)
    spec = validate(raw, str(path), path.parent)
    spec["file"] = str(path)
    return spec


def list_scenarios(directory: Path = SCENARIOS_DIR) -> list[tuple[Path, str, str]]:
    """``(path, name, description)`` of every readable scenario in ``directory``."""
    found = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            raw = read_yaml(path)
        except SpecError:
            continue
        if isinstance(raw, dict) and "devices" in raw:
            found.append((path, str(raw.get("name", path.stem)), str(raw.get("description", "")).strip()))
    return found
