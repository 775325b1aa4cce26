"""A sweep folder on disk: what was asked, and one row per run, written as runs finish.

```
DIR/sweep.json       scenario (path and SHA-256 of its text), grid, seeds
DIR/runs.jsonl       one JSON row per finished run (appended and flushed as each finishes)
DIR/runs.csv         the same rows as CSV (appended too; rewritten in grid order at the end)
DIR/stats.csv        mean, std and 95 % CI per metric per grid point
DIR/runs/<run>/      summary.json and trace.jsonl.gz of each run (with traces on)
```

A sweep started again on the same folder skips the runs already there with ``status: ok``
(matched by overrides and seed) and runs the rest, failed ones included. A run killed while
its row was being written leaves at most a partial last line, which is dropped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from simulator.validate import SpecError

FORMAT = "hometwin-sweep/1"


def scenario_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a ``runs.jsonl`` (a damaged line, e.g. cut by a kill, is skipped)."""
    rows = []
    if not path.exists():
        return rows
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and "key" in row:
                rows.append(row)
    return rows


def latest_by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last row written for each run key (a re-run replaces an earlier failure)."""
    return {row["key"]: row for row in rows}


def read_spec(folder: Path) -> dict[str, Any] | None:
    path = Path(folder) / "sweep.json"
    if not path.exists():
        return None
    try:
        spec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise SpecError(f"{path}: not readable as a sweep description") from None
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise SpecError(f"{path}: not a HomeTwin sweep (expected format {FORMAT})")
    return spec


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class SweepFolder:
    """Writes a sweep's rows as they come and reads back what an earlier sweep left."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.jsonl = self.path / "runs.jsonl"
        self.csv = self.path / "runs.csv"
        self.columns: list[str] = []
        self._rows: list[dict[str, Any]] = []

    def run_dir(self, run_id: str) -> Path:
        return self.path / "runs" / run_id

    def open(self, scenario: Path, grid: dict[str, list], seeds: list[int]) -> dict[str, dict[str, Any]]:
        """Create the folder, or check that it holds runs of this same scenario; returns the
        rows already there by key. Raises ``SpecError`` if it belongs to something else."""
        for candidate in (self.path, *self.path.parents):
            if candidate.exists():
                if not candidate.is_dir():
                    raise SpecError(f"--out {self.path}: {candidate} is a file, not a folder")
                break
        digest = scenario_digest(scenario)
        previous = read_spec(self.path)
        if previous is None and self.path.exists() and any(self.path.iterdir()):
            raise SpecError(f"{self.path}: not empty and not a sweep folder (choose another --out)")
        if previous is not None and previous.get("scenario_sha256") != digest:
            raise SpecError(
                f"{self.path}: holds runs of {previous.get('scenario')} as it was before it changed "
                "(choose another --out, or delete the folder to start again)"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        spec = {
            "format": FORMAT,
            "scenario": str(scenario),
            "scenario_sha256": digest,
            "grid": grid,
            "seeds": seeds,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        tmp = self.path / "sweep.json.part"
        tmp.write_text(json.dumps(spec, indent=2) + "\n")
        tmp.replace(self.path / "sweep.json")
        self._drop_partial_line()
        self._rows = read_rows(self.jsonl)
        self._rewrite_csv()
        return latest_by_key(self._rows)

    def _drop_partial_line(self) -> None:
        if not self.jsonl.exists():
            return
        data = self.jsonl.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.jsonl, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def append(self, row: dict[str, Any]) -> None:
        """Write one finished run to ``runs.jsonl`` and ``runs.csv`` (flushed to the OS)."""
        with open(self.jsonl, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        self._rows.append(row)
        if any(name not in self.columns for name in row):
            self._rewrite_csv()
            return
        with open(self.csv, "a", newline="", encoding="utf-8") as f:
            csv.DictWriter(f, self.columns).writerow({k: _cell(v) for k, v in row.items()})

    def _rewrite_csv(self, rows: list[dict[str, Any]] | None = None) -> None:
        rows = self._rows if rows is None else rows
        columns: list[str] = []
        seen: set[str] = set()
        for row in rows:
            for name in row:
                if name not in seen:
                    seen.add(name)
                    columns.append(name)
        self.columns = columns
        tmp = self.csv.with_name("runs.csv.part")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(v) for k, v in row.items()})
        os.replace(tmp, self.csv)

    def finish(self, ordered_keys: list[str], stats_rows: list[dict[str, Any]]) -> None:
        """Compact the files to one row per run (this sweep's runs in grid order first,
        then runs of earlier grids kept in this folder), and write ``stats.csv``."""
        latest = latest_by_key(self._rows)
        wanted = set(ordered_keys)
        ordered = [latest[k] for k in ordered_keys if k in latest]
        ordered += [row for key, row in latest.items() if key not in wanted]
        tmp = self.jsonl.with_name("runs.jsonl.part")
        tmp.write_text("".join(json.dumps(row) + "\n" for row in ordered), encoding="utf-8")
        os.replace(tmp, self.jsonl)
        self._rows = ordered
        self._rewrite_csv()
        if stats_rows:
            tmp = self.path / "stats.csv.part"
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, list(stats_rows[0]))
                writer.writeheader()
                for row in stats_rows:
                    writer.writerow({k: _cell(v) for k, v in row.items()})
            os.replace(tmp, self.path / "stats.csv")
