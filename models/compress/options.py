"""A recipe option: type, default, help and allowed values (the CLI's flags and the GUI lab's
knobs are built from these, and :func:`models.compress.recipes.check_options` enforces them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    """A recipe option: its type, default, one-line help and allowed values (the CLI builds
    flags and the GUI lab builds knobs from these; :func:`check_options` enforces them)."""

    kind: type
    default: Any
    help: str
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_min: bool = False
    exclusive_max: bool = False

    def allowed(self) -> str:
        """The allowed values in words, e.g. ``a number in (0, 1)``."""
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        word = "a whole number" if self.kind is int else "a number"
        if self.minimum is None and self.maximum is None:
            return word
        if self.maximum is None:
            return f"{word} {'>' if self.exclusive_min else '≥'} {self.minimum:g}"
        if self.minimum is None:
            return f"{word} {'<' if self.exclusive_max else '≤'} {self.maximum:g}"
        low, high = "(" if self.exclusive_min else "[", ")" if self.exclusive_max else "]"
        return f"{word} in {low}{self.minimum:g}, {self.maximum:g}{high}"

    def check(self, value: Any) -> Any:
        """``value`` as this option's type; ``ValueError`` saying what is allowed."""
        try:
            typed = self.kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be {self.allowed()}, got {value!r}") from None
        if self.kind is int and isinstance(value, float) and value != int(value):
            raise ValueError(f"must be {self.allowed()}, got {value!r}")
        if self.choices and typed not in self.choices:
            raise ValueError(f"must be {self.allowed()}, got {value!r}")
        if self.kind in (int, float):
            too_low = self.minimum is not None and (
                typed < self.minimum or (self.exclusive_min and typed == self.minimum)
            )
            too_high = self.maximum is not None and (
                typed > self.maximum or (self.exclusive_max and typed == self.maximum)
            )
            if too_low or too_high or typed != typed:  # NaN is neither
                raise ValueError(f"must be {self.allowed()}, got {value!r}")
        return typed
