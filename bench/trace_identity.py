"""Are two runs the same? Compares two saved traces record by record and their summaries
key by key (every ``wall_*`` key left out: host time differs between runs).

    python bench/trace_identity.py REF_DIR NEW_DIR          # folders with trace.jsonl.gz + summary.json
    python bench/trace_identity.py REF.jsonl.gz NEW.jsonl.gz  # two traces only

Prints the first differing record (its line number and both sides), the meta fields the new
trace gained (allowed: a meta may grow) or changed/lost (a difference), and every summary
key that differs. Records of a kind the reference never has are new kinds (allowed: an app
may record more); they are counted, left out of the record comparison, and the summary's
``trace_records`` may differ by exactly their number. Exit 0 when identical, 1 on a
difference, 2 on a missing or unreadable file.
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
    """(fields the new meta gained, fields changed or lost); ``wall_*`` fields (host time, e.g.
    ``end.wall_s``) and ``scenario_file`` (the path as it was typed) left out."""
    a, b = (
        {k: v for k, v in _flatten(m).items() if not _is_wall(k) and k != "scenario_file"} for m in (ref, new)
    )
    known = {key[:i] for key in a for i in range(len(key) + 1) if i == len(key) or key[i] in ".["}
    gained = set()
    for key in b:
        if key in a:
            continue
        cut = next(
            (i for i in range(len(key) + 1) if (i == len(key) or key[i] in ".[") and key[:i] not in known),
            len(key),
        )
        gained.add(key[:cut])
    gained = sorted(gained)
    changed = [f"{k}: {a[k]!r} → {b.get(k, '(missing)')!r}" for k in a if b.get(k, object()) != a[k]]
    return gained, changed


def _kinds(path: Path) -> set[str]:
    lines = _lines(path)
    next(lines)
    return {json.loads(line)[0] for line in lines}


def compare_traces(ref: Path, new: Path) -> tuple[list[str], int]:
    """Differences between two traces (empty when the records are identical) and the number
    of records of new kinds in ``new``."""
    problems: list[str] = []
    known = _kinds(ref)
    added: dict[str, int] = {}

    def old_kinds(lines):
        for line in lines:
            kind = json.loads(line)[0]
            if kind in known:
                yield line
            else:
                added[kind] = added.get(kind, 0) + 1

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
    new_lines = old_kinds(new_lines)
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
    for _ in new_lines:  # count the new kinds to the end
        pass
    print(f"records compared: {n}")
    if added:
        print(f"new record kinds (left out): {', '.join(f'{k} ×{v}' for k, v in sorted(added.items()))}")
    return problems, sum(added.values())


def compare_summaries(ref: Path, new: Path, added_records: int = 0) -> list[str]:
    """Summary keys whose values differ (``wall_*`` keys left out; ``trace_records`` may be
    larger by ``added_records``, the records of new kinds)."""
    a = {k: v for k, v in _flatten(json.loads(ref.read_text())).items() if not _is_wall(k)}
    b = {k: v for k, v in _flatten(json.loads(new.read_text())).items() if not _is_wall(k)}
    if added_records and isinstance(a.get("trace_records"), int):
        a["trace_records"] += added_records
        print(f"trace_records: {a['trace_records'] - added_records} + {added_records} of new kinds")
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
        problems, added = compare_traces(*pairs[0])
        if summaries:
            problems += compare_summaries(*summaries, added_records=added)
    except (OSError, ValueError, StopIteration) as exc:
        print(f"cannot read: {exc}", file=sys.stderr)
        return 2
    for problem in problems[:30]:
        print(problem)
    print("IDENTICAL" if not problems else f"DIFFERENT ({len(problems)} difference(s))")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
