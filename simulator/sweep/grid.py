"""The grid of a sweep: ``--set KEY=V1,V2`` overrides × seeds, each point checked up front.

A run is one grid point (a dict of dotted override paths → values, as
:func:`simulator.scenario.apply_overrides` takes them) and one seed. Its key (overrides and
seed, canonical JSON) identifies it in a sweep folder, so a resumed sweep skips what is done.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from simulator.validate import SpecError

#: scenario fields a ``--set`` may not change (the sweep owns them)
RESERVED_KEYS = ("seed",)


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: a grid point's overrides and a seed."""

    overrides: tuple[tuple[str, Any], ...]
    seed: int

    @property
    def overrides_dict(self) -> dict[str, Any]:
        return dict(self.overrides)

    @property
    def key(self) -> str:
        """Canonical identity of the run (what resuming matches on)."""
        return run_key(self.overrides_dict, self.seed)

    @property
    def run_id(self) -> str:
        """A readable, file-name-safe id, unique per key: ``seed3-hr_screener=int8-1a2b3c4d``."""
        parts = [f"seed{self.seed}"] + [f"{path.split('.')[-1]}={_text(v)}" for path, v in self.overrides]
        slug = re.sub(r"[^A-Za-z0-9_.=+-]+", "_", "-".join(parts))[:80]
        return f"{slug}-{hashlib.sha1(self.key.encode()).hexdigest()[:8]}"


def run_key(overrides: dict[str, Any], seed: int) -> str:
    return json.dumps({"overrides": overrides, "seed": seed}, sort_keys=True, separators=(",", ":"))


def point_key(overrides: dict[str, Any]) -> str:
    return json.dumps(overrides, sort_keys=True, separators=(",", ":"))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def point_label(overrides: dict[str, Any], grid_keys: list[str] | None = None) -> str:
    """``hr_screener=int8 flag_threshold=0.4``: the last path component of each key (the
    whole path where two keys share an ending); ``(scenario as is)`` for no overrides."""
    keys = list(grid_keys or overrides)
    ends = [k.split(".")[-1] for k in keys]
    names = {k: (e if ends.count(e) == 1 else k) for k, e in zip(keys, ends, strict=True)}
    text = " ".join(f"{names.get(k, k)}={_text(v)}" for k, v in overrides.items())
    return text or "(scenario as is)"


_CLOCK = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
_EXPONENT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def parse_value(text: str) -> Any:
    """A ``--set`` value as YAML reads it (``0.4`` a number, ``int8`` text, ``true`` a bool),
    except that ``1e-3`` is a number (YAML 1.1 wants ``1.0e-3``) and ``10:30`` a clock time
    (YAML 1.1 reads it as 630, base 60)."""
    if _CLOCK.match(text):
        return text
    if _EXPONENT.match(text):
        return float(text)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise SpecError(f"--set value {text!r}: not a valid value") from None


def parse_set(item: str) -> tuple[str, list[Any]]:
    """``KEY=V1,V2`` → ``(KEY, [V1, V2])``; a ``SpecError`` naming the item if malformed."""
    key, sep, values = item.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise SpecError(
            f"--set {item!r}: expected KEY=VALUE[,VALUE…], e.g. devices.watch.models.hr_screener=fp32,int8"
        )
    if key in RESERVED_KEYS:
        raise SpecError(f"--set {item!r}: the sweep sets {key!r} itself (use --seeds)")
    parsed = [parse_value(v.strip()) for v in values.split(",")]
    if any(v is None for v in parsed):
        raise SpecError(f"--set {item!r}: empty value in the list")
    return key, parsed


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """Several ``--set`` items into a grid (each key once)."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, values = parse_set(item)
        if key in grid:
            raise SpecError(f"--set {key}: given twice (list all its values in one --set)")
        grid[key] = values
    return grid


def parse_seeds(text: str) -> list[int]:
    """``1-20``, ``3``, ``1,2,5`` or ``1-10,20`` → the seeds in order, without repeats."""
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", part)
        if not match:
            raise SpecError(f"--seeds {text!r}: expected seeds like 1-20, 7 or 1,2,5")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise SpecError(f"--seeds {text!r}: {first}-{last} is an empty range")
        seeds += [s for s in range(first, last + 1) if s not in seeds]
    return seeds


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, first key slowest (one empty point if no keys)."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def expand(grid: dict[str, list[Any]], seeds: list[int]) -> list[RunSpec]:
    """The runs of a sweep: grid points × seeds, grid point major."""
    if not seeds:
        raise SpecError("--seeds: no seeds given")
    return [RunSpec(tuple(point.items()), seed) for point in grid_points(grid) for seed in seeds]


def check_grid(scenario: Path, grid: dict[str, list[Any]]) -> set[tuple[str, str]]:
    """Load the scenario with each ``--set`` value alone, then with every grid point, so a bad
    key or value stops the sweep before any run, naming it. Returns the (model, variant)
    pairs the grid's devices host (what a worker loads once)."""
    from simulator.scenario import load_scenario

    for key, values in grid.items():
        for value in values:
            try:
                load_scenario(scenario, {key: value})
            except SpecError as exc:
                raise SpecError(f"--set {key}={_text(value)}: {exc}") from None
    hosted: set[tuple[str, str]] = set()
    for point in grid_points(grid):
        try:
            spec = load_scenario(scenario, point)
        except SpecError as exc:
            raise SpecError(f"grid point {point_label(point)}: {exc}") from None
        for device in spec["devices"]:
            hosted.update(device["models"].items())
    return hosted
