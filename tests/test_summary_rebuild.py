"""``main.py summary TRACE``: the summary rebuilt from a saved trace alone equals the run's
(every key but the host-time ``wall_*`` ones), and a file that is not a whole trace ends with
exit code 2 naming it, writing nothing. (Every shipped scenario at full size:
``bench/summary_rebuild.py``.)"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bench.trace_identity import _flatten, _is_wall
from cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]


def _without_wall(summary: dict) -> dict:
    return {k: v for k, v in _flatten(summary).items() if not _is_wall(k)}


@pytest.mark.parametrize(
    "scenario, until",
    [("health_escalation", "6h"), ("smart_home", "1h"), ("federated_gestures", "5h")],
)
def test_a_saved_trace_gives_back_its_summary(tmp_path, capsys, scenario, until):
    out = tmp_path / "run"
    assert (
        cli_main(
            [
                "run",
                str(ROOT / "scenarios" / f"{scenario}.yaml"),
                "--until",
                until,
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert cli_main(["summary", str(out)]) == 0  # a run folder works as well as its trace
    printed = capsys.readouterr().out
    live = json.loads((out / "summary.json").read_text())
    rebuilt = json.loads((out / "summary.rebuilt.json").read_text())
    assert _without_wall(rebuilt) == _without_wall(live)
    assert len(_without_wall(live)) > 40  # the comparison covers the apps' metrics, not a stub
    assert "battery start" in printed


def _bad_files(tmp_path: Path, good: Path) -> dict[str, Path]:
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    not_gzip = tmp_path / "notes.jsonl.gz"
    not_gzip.write_text("my shopping list\n")
    foreign = tmp_path / "foreign.jsonl.gz"
    with gzip.open(foreign, "wt") as handle:
        handle.write('{"hello": "world"}\n')
    return {
        "truncated": truncated,
        "not gzip": not_gzip,
        "foreign": foreign,
        "missing": tmp_path / "nope.jsonl.gz",
    }


def test_a_truncated_or_foreign_file_exits_2_naming_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        cli_main(
            [
                "run",
                str(ROOT / "scenarios" / "health_escalation.yaml"),
                "--until",
                "2h",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    for what, path in _bad_files(tmp_path, out / "trace.jsonl.gz").items():
        capsys.readouterr()
        target = tmp_path / f"{path.stem}.summary.json"
        assert cli_main(["summary", str(path), "--out", str(target)]) == 2, what
        err = capsys.readouterr().err
        assert str(path) in err and "Traceback" not in err, (what, err)
        assert not target.exists(), what
