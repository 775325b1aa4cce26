"""Small declarative validator for YAML input: every error names the file, the field path
and what was expected, e.g. ``scenarios/x.yaml, devices[1].battery.capacity_wh: must be
> 0, got -5``.

A schema is a nested Python structure:
- ``Field(type, ...)`` for a leaf (type: float, int, str, bool, "duration", list, dict);
- a ``dict`` of name → schema for a mapping with known keys (unknown keys are errors);
- ``ListOf(schema)`` for a list; ``MapOf(schema)`` for a mapping with free keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class SpecError(ValueError):
    """User input (a scenario or profile file) is invalid; the message says where and why."""


@dataclass(frozen=True)
class Field:
    type: Any
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_min: bool = False
    choices: tuple | None = None
    nullable: bool = False


@dataclass(frozen=True)
class ListOf:
    item: Any
    required: bool = False
    default: Any = None


@dataclass(frozen=True)
class MapOf:
    value: Any
    required: bool = False
    default: Any = None


_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(ms|s|sec|min|m|h|d)?\s*$")
_UNIT_S = {None: 1.0, "ms": 1e-3, "s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def parse_duration(value: Any) -> float:
    """Seconds from a number or text like ``90``, ``30s``, ``10min``, ``1.5h``, ``2d`` or ``10:30``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        clock = _CLOCK.match(value)
        if clock:
            h, m, s = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
            return h * 3600.0 + m * 60.0 + s
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_S[match.group(2)]
    raise ValueError("expected a duration such as 90, '30s', '10min', '1.5h', '1d' or '10:30'")


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_TYPE_NAMES = {
    float: "a number",
    int: "an integer",
    str: "text",
    bool: "true or false",
    "duration": "a duration",
}


def _check_leaf(spec: Field, value: Any, where: str) -> Any:
    if value is None and spec.nullable:
        return None
    if spec.type == "duration":
        try:
            value = parse_duration(value)
        except ValueError as exc:
            raise SpecError(f"{where}: {exc}, got {_describe(value)}") from None
    elif spec.type is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"{where}: expected a number, got {_describe(value)}")
        value = float(value)
    elif spec.type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{where}: expected an integer, got {_describe(value)}")
    elif spec.type is Any:
        pass
    elif not isinstance(value, spec.type) or (spec.type is not bool and isinstance(value, bool)):
        raise SpecError(
            f"{where}: expected {_TYPE_NAMES.get(spec.type, spec.type.__name__)}, got {_describe(value)}"
        )
    if spec.choices is not None and value not in spec.choices:
        options = ", ".join(str(c) for c in spec.choices)
        raise SpecError(f"{where}: must be one of {options}, got {_describe(value)}")
    if spec.minimum is not None:
        if spec.exclusive_min and not value > spec.minimum:
            raise SpecError(f"{where}: must be > {spec.minimum:g}, got {value:g}")
        if not spec.exclusive_min and not value >= spec.minimum:
            raise SpecError(f"{where}: must be ≥ {spec.minimum:g}, got {value:g}")
    if spec.maximum is not None and not value <= spec.maximum:
        raise SpecError(f"{where}: must be ≤ {spec.maximum:g}, got {value:g}")
    return value


def _join(where: str, name: Any) -> str:
    return f"{where}.{name}" if where else str(name)


def check_file(schema: Any, value: Any, file: str | Path, where: str = "") -> Any:
    """:func:`check` whose errors start with the file name: ``file, field.path: message``."""
    try:
        return check(schema, value, where)
    except SpecError as exc:
        raise SpecError(f"{file}, {exc}") from None


def check(schema: Any, value: Any, where: str = "") -> Any:
    """Validate ``value`` against ``schema``; return it normalised (defaults filled in).

    ``where`` is the field path of ``value`` (empty at the top level)."""
    if isinstance(schema, Field):
        return _check_leaf(schema, value, where)
    if isinstance(schema, ListOf):
        if not isinstance(value, list):
            raise SpecError(f"{where}: expected a list, got {_describe(value)}")
        return [check(schema.item, item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(schema, MapOf):
        if not isinstance(value, dict):
            raise SpecError(f"{where}: expected a mapping, got {_describe(value)}")
        return {str(k): check(schema.value, v, _join(where, k)) for k, v in value.items()}
    assert isinstance(schema, dict)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SpecError(
            f"{where or 'top level'}: expected a mapping with fields {', '.join(schema)}, got {_describe(value)}"
        )
    unknown = [k for k in value if k not in schema]
    if unknown:
        raise SpecError(f"{_join(where, unknown[0])}: unknown field (expected one of: {', '.join(schema)})")
    out: dict[str, Any] = {}
    for name, sub in schema.items():
        sub_where = _join(where, name)
        if name in value:
            out[name] = check(sub, value[name], sub_where)
        elif getattr(sub, "required", False):
            raise SpecError(f"{sub_where}: required field is missing")
        else:
            default = None if isinstance(sub, dict) else sub.default
            if isinstance(default, dict | list):
                out[name] = type(default)(default)
            else:
                out[name] = None if default is None else check(sub, default, sub_where)
    return out


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Safe loader with YAML 1.2 scalars: ``1e-4`` and ``3.2e9`` are numbers and only
    ``true``/``false`` are booleans (YAML 1.1 reads the power state ``off`` as false).
    LibYAML's parser where PyYAML has it: the pure-Python one took 0.11 s for a 315-line
    scenario, a third of ``python main.py list``; the parsed values are the same."""


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; syntax errors become a :class:`SpecError` naming the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read file ({exc})") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{path}{where}: invalid YAML ({problem})") from None
