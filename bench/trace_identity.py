"""Are two runs the same? Compares two saved traces record by record and their summaries
key by key (every ``wall_*`` key left out: host time differs between runs).

    python bench/trace_identity.py REF_DIR NEW_DIR          # folders with trace.jsonl.gz + summary.json
    python bench/trace_identity.py REF.jsonl.gz NEW.jsonl.gz  # two traces only

Prints the first differing record (its line number and both sides), the meta fields the new
trace gained (allowed: a meta may grow) or changed/lost (a difference), and every summary
key that differs. Exit 0 when identical, 1 on a difference, 2 on a missing or unreadable file.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

TRACE_NAME = "trace.jsonl.gz"
SUMMARY_NAME = "summary.json"


def _lines(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from handle


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a.b[0].c": leaf}`` for every leaf of a JSON value."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: {}}
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: value}


def _is_wall(key: str) -> bool:
    return any(part.split("[")[0].startswith("wall_") for part in key.split("."))


def compare_meta(ref: dict, new: dict) -> tuple[list[str], list[str]]:
    """(fields the new meta gained, fields changed or lost)."""
    a, b = _flatten(ref), _flatten(new)
    gained = sorted(k for k in b if k not in a)
    changed = [f"{k}: {a[k]!r} → {b.get(k, '(missing)')!r}" for k in a if b.get(k, object()) != a[k]]
    return gained, changed


def compare_traces(ref: Path, new: Path) -> list[str]:
    """Differences between two traces (empty when the records are identical)."""
    problems: list[str] = []
    ref_lines, new_lines = _lines(ref), _lines(new)
    ref_head, new_head = json.loads(next(ref_lines)), json.loads(next(new_lines))
    gained, changed = compare_meta(ref_head.get("meta", {}), new_head.get("meta", {}))
    if gained:
        print(
            f"meta gained {len(gained)} field(s): {', '.join(gained[:12])}{' …' if len(gained) > 12 else ''}"
        )
    problems += [f"meta {c}" for c in changed[:10]]
    if ref_head.get("format") != new_head.get("format"):
        problems.append(f"format {ref_head.get('format')!r} → {new_head.get('format')!r}")
    n = 0
    sentinel = object()
    while True:
        a, b = next(ref_lines, sentinel), next(new_lines, sentinel)
        if a is sentinel and b is sentinel:
            break
        n += 1
        if a is sentinel or b is sentinel or json.loads(a) != json.loads(b):
            problems.append(
                f"record {n} differs:\n  ref: {'(end of trace)' if a is sentinel else a.strip()}\n"
                f"  new: {'(end of trace)' if b is sentinel else b.strip()}"
            )
            break
    print(f"records compared: {n}")
    return problems


def compare_summaries(ref: Path, new: Path) -> list[str]:
    """Summary keys whose values differ (``wall_*`` keys left out)."""
    a = {k: v for k, v in _flatten(json.loads(ref.read_text())).items() if not _is_wall(k)}
    b = {k: v for k, v in _flatten(json.loads(new.read_text())).items() if not _is_wall(k)}
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "(missing)") != b.get(key, "(missing)"):
            out.append(f"summary {key}: {a.get(key, '(missing)')!r} → {b.get(key, '(missing)')!r}")
    print(f"summary keys compared: {len(a)}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ref, new = (Path(p) for p in argv)
    pairs = [(ref, new)] if ref.is_file() else [(ref / TRACE_NAME, new / TRACE_NAME)]
    summaries = None if ref.is_file() else (ref / SUMMARY_NAME, new / SUMMARY_NAME)
    for path in [*pairs[0], *(summaries or ())]:
        if not path.is_file():
            print(f"{path}: no such file", file=sys.stderr)
            return 2
    try:
        problems = compare_traces(*pairs[0])
        if summaries:
            problems += compare_summaries(*summaries)
    except (OSError, ValueError, StopIteration) as exc:
        print(f"cannot read: {exc}", file=sys.stderr)
        return 2
    for problem in problems[:30]:
        print(problem)
    print("IDENTICAL" if not problems else f"DIFFERENT ({len(problems)} difference(s))")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
