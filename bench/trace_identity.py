"""Are two runs identical? Compares two traces record by record and two summaries key by key
(``wall_*`` keys aside: host time differs between runs), printing the first difference.

    python bench/trace_identity.py RUN_A RUN_B        # folders with summary.json + trace.jsonl.gz
    python bench/trace_identity.py A.jsonl.gz B.jsonl.gz

Exit 0 when identical, 1 at the first difference. The meta is compared too, except keys
that only one side has (a newer trace may carry more meta) and ``end`` (wall time).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path


def _rows(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        header = json.loads(f.readline())
        yield header
        for line in f:
            yield json.loads(line)


def compare_traces(a: Path, b: Path) -> str | None:
    rows_a, rows_b = _rows(a), _rows(b)
    meta_a, meta_b = next(rows_a)["meta"], next(rows_b)["meta"]
    for key in sorted(set(meta_a) & set(meta_b) - {"end"}):
        if key == "apps":
            apps_a = [{k: v for k, v in x.items() if k in ("type", "name")} for x in meta_a[key]]
            apps_b = [{k: v for k, v in x.items() if k in ("type", "name")} for x in meta_b[key]]
            if apps_a != apps_b:
                return f"meta.apps differ: {apps_a} vs {apps_b}"
        elif meta_a[key] != meta_b[key]:
            return f"meta.{key} differs: {meta_a[key]!r} vs {meta_b[key]!r}"
    n = 0
    for n, (ra, rb) in enumerate(zip(rows_a, rows_b, strict=False), start=1):
        if ra != rb:
            return f"record {n} differs:\n  {ra}\n  {rb}"
    rest_a, rest_b = sum(1 for _ in rows_a), sum(1 for _ in rows_b)
    if rest_a or rest_b:
        return f"lengths differ after {n} records: {rest_a} more in A, {rest_b} more in B"
    return None


def _flat(value, prefix=""):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flat(inner, f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), value


def _is_wall(key: str) -> bool:
    return any(part.startswith("wall_") for part in key.split("."))


def compare_summaries(a: dict, b: dict) -> str | None:
    flat_a = {k: v for k, v in _flat(a) if not _is_wall(k)}
    flat_b = {k: v for k, v in _flat(b) if not _is_wall(k)}
    for key in sorted(set(flat_a) | set(flat_b)):
        if flat_a.get(key, "<missing>") != flat_b.get(key, "<missing>"):
            return f"summary {key}: {flat_a.get(key, '<missing>')!r} vs {flat_b.get(key, '<missing>')!r}"
    return None


def main(argv: list[str]) -> int:
    a, b = Path(argv[0]), Path(argv[1])
    problems = []
    if a.is_dir():
        problems.append(compare_traces(a / "trace.jsonl.gz", b / "trace.jsonl.gz"))
        summary_b = b / "summary.json" if (b / "summary.json").exists() else b / "summary.rebuilt.json"
        problems.append(
            compare_summaries(json.loads((a / "summary.json").read_text()), json.loads(summary_b.read_text()))
        )
    else:
        problems.append(compare_traces(a, b))
    problems = [p for p in problems if p]
    for problem in problems:
        print(problem)
    if not problems:
        records = sum(1 for _ in _rows(a / "trace.jsonl.gz" if a.is_dir() else a)) - 1
        print(f"identical: {records} records" + (" and the summary (wall_* aside)" if a.is_dir() else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
