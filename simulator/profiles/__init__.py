"""Device and link profiles as data: YAML files with a source next to every number.

``load_profile("smartwatch")`` reads ``simulator/profiles/smartwatch.yaml``;
``load_profile("my_watch.yaml")`` reads a user's own file. Both are validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from simulator.validate import Field, MapOf, SpecError, check_file, read_yaml

PROFILES_DIR = Path(__file__).resolve().parent
DEVICE_KINDS = ("watch", "phone", "camera", "speaker", "hub", "cloud", "car")
PRECISIONS = ("fp32", "fp16", "int8")
LINK_TYPES = ("ble", "wifi", "wan")

_POSITIVE = {"minimum": 0.0, "exclusive_min": True}
_STATE = {"power_w": Field(float, required=True, minimum=0.0), "source": Field(str, required=True)}
_COMPONENT = {"power_w": Field(float, required=True, minimum=0.0), "source": Field(str, required=True)}
_ENGINE = {
    "peak_macs_per_s": Field(float, required=True, **_POSITIVE),
    "utilization": Field(float, required=True, minimum=0.0, exclusive_min=True, maximum=1.0),
    "power_w": Field(float, required=True, minimum=0.0),
    "source": Field(str, required=True),
    # an engine that skips zero input activations at run time: the share of a card's
    # skippable MACs (its measured dynamic sparsity) it actually saves; absent: none
    "zero_skipping": {
        "fraction_saved": Field(float, required=True, minimum=0.0, maximum=1.0),
        "source": Field(str, required=True),
    },
}
PROFILE_SCHEMA: dict[str, Any] = {
    "name": Field(str, required=True),
    "kind": Field(str, required=True, choices=DEVICE_KINDS),
    "description": Field(str, default=""),
    "battery": {
        "capacity_wh": Field(float, required=True, **_POSITIVE),
        "voltage_v": Field(float, required=True, **_POSITIVE),
        "model": Field(str, default="linear", choices=("linear", "kibam")),
        "kibam_c": Field(float, default=0.625, minimum=0.0, exclusive_min=True, maximum=0.999),
        "kibam_k_per_s": Field(float, default=1e-4, **_POSITIVE),
        "source": Field(str, required=True),
    },
    "charging": {"power_w": Field(float, required=True, **_POSITIVE), "source": Field(str, required=True)},
    "power_states": MapOf(_STATE, required=True),
    "components": MapOf(_COMPONENT, default={}),
    "compute": {
        "memory_bytes": Field(float, required=True, **_POSITIVE),
        "memory_bandwidth_bytes_per_s": Field(float, required=True, **_POSITIVE),
        "overhead_s": Field(float, default=0.0, minimum=0.0),
        "source": Field(str, required=True),
        "engines": MapOf(_ENGINE, required=True),
    },
}
LINK_SCHEMA: dict[str, Any] = {
    "latency_s": Field(float, required=True, minimum=0.0),
    "bandwidth_bps": Field(float, required=True, **_POSITIVE),
    "loss": Field(float, required=True, minimum=0.0, maximum=0.99),
    "tx_j_per_bit": Field(float, required=True, minimum=0.0),
    "rx_j_per_bit": Field(float, required=True, minimum=0.0),
    "tail_s": Field(float, default=0.0, minimum=0.0),
    "tail_power_w": Field(float, default=0.0, minimum=0.0),
    "source": Field(str, default=""),
}
REQUIRED_STATES = ("off", "sleep", "idle", "active")


@dataclass(frozen=True)
class Engine:
    """A compute engine for one precision: peak and achieved throughput, active power."""

    precision: str
    peak_macs_per_s: float
    utilization: float
    power_w: float
    source: str
    zero_skipping_fraction: float = 0.0  # share of skippable (zero-operand) MACs it saves

    @property
    def achieved_macs_per_s(self) -> float:
        return self.peak_macs_per_s * self.utilization


@dataclass(frozen=True)
class DeviceProfile:
    """What a kind of device is made of; numbers come from the profile file with sources."""

    name: str
    kind: str
    description: str
    path: str
    power_states_w: dict[str, float]
    components_w: dict[str, float]
    engines: dict[str, Engine]
    memory_bytes: float
    memory_bandwidth_bytes_per_s: float
    compute_overhead_s: float
    battery: dict[str, Any] | None
    charging_power_w: float | None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def mains_powered(self) -> bool:
        return self.battery is None


def profile_from_dict(data: Any, where: str) -> DeviceProfile:
    """Validate a profile mapping (``where`` names the file) and build a DeviceProfile."""
    spec = check_file(PROFILE_SCHEMA, data, where)
    states = spec["power_states"]
    missing = [s for s in REQUIRED_STATES if s not in states]
    if missing:
        raise SpecError(
            f"{where}, power_states.{missing[0]}: required state is missing (need {', '.join(REQUIRED_STATES)})"
        )
    engines = spec["compute"]["engines"]
    for precision in engines:
        if precision not in PRECISIONS:
            raise SpecError(
                f"{where}, compute.engines.{precision}: unknown precision (expected one of: {', '.join(PRECISIONS)})"
            )
    if "fp32" not in engines:
        raise SpecError(f"{where}, compute.engines.fp32: required engine is missing")
    sources = {f"power_states.{k}": v["source"] for k, v in states.items()}
    sources.update({f"components.{k}": v["source"] for k, v in spec["components"].items()})
    sources.update({f"compute.engines.{k}": v["source"] for k, v in engines.items()})
    sources.update(
        {
            f"compute.engines.{k}.zero_skipping": v["zero_skipping"]["source"]
            for k, v in engines.items()
            if v["zero_skipping"]
        }
    )
    sources["compute"] = spec["compute"]["source"]
    if spec["battery"]:
        sources["battery"] = spec["battery"]["source"]
    return DeviceProfile(
        name=spec["name"],
        kind=spec["kind"],
        description=spec["description"],
        path=where,
        power_states_w={k: v["power_w"] for k, v in states.items()},
        components_w={k: v["power_w"] for k, v in spec["components"].items()},
        engines={
            k: Engine(
                k,
                v["peak_macs_per_s"],
                v["utilization"],
                v["power_w"],
                v["source"],
                (v["zero_skipping"] or {}).get("fraction_saved", 0.0),
            )
            for k, v in engines.items()
        },
        memory_bytes=spec["compute"]["memory_bytes"],
        memory_bandwidth_bytes_per_s=spec["compute"]["memory_bandwidth_bytes_per_s"],
        compute_overhead_s=spec["compute"]["overhead_s"],
        battery=spec["battery"],
        charging_power_w=spec["charging"]["power_w"] if spec["charging"] else None,
        sources=sources,
    )


def profile_path(name_or_path: str | Path, base_dir: Path | None = None) -> Path:
    """Resolve a profile name (``smartwatch``) or a file path (relative to ``base_dir``)."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or "/" in text:
        path = Path(text)
        if not path.is_absolute() and base_dir is not None and not path.exists():
            path = base_dir / path
        return path
    return PROFILES_DIR / f"{text}.yaml"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml") if p.stem != "links")


@lru_cache(maxsize=64)
def _load_cached(path: str, mtime: float) -> DeviceProfile:
    return profile_from_dict(read_yaml(path), path)


def load_profile(name_or_path: str | Path, base_dir: Path | None = None) -> DeviceProfile:
    """Load and validate a device profile by name or path; raises :class:`SpecError`."""
    path = profile_path(name_or_path, base_dir)
    if not path.exists():
        raise SpecError(
            f"unknown device profile {str(name_or_path)!r} "
            f"(expected one of: {', '.join(available_profiles())}, or a path to a profile .yaml file)"
        )
    return _load_cached(str(path), path.stat().st_mtime)


@lru_cache(maxsize=1)
def link_defaults() -> dict[str, dict[str, Any]]:
    """Default link figures per type (``ble``, ``wifi``, ``wan``) from ``links.yaml``."""
    path = PROFILES_DIR / "links.yaml"
    raw = read_yaml(path)
    return {kind: check_file(LINK_SCHEMA, raw[kind], path, kind) for kind in LINK_TYPES}
