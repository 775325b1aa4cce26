"""The leaderboard's published score, ``main.py score``, and bad knobs in ``compress`` (exit 2)."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from cli.core import main as cli_main
from models.cards import ARTIFACTS_DIR, ModelCard, list_cards
from simulator.compute import estimate_card
from simulator.leaderboard import QUALITY_TARGET, REFERENCE_DEVICE, leaderboard, score
from simulator.profiles import available_profiles, load_profile


def test_score_formula():
    ref = {"latency_s": 2.0, "energy_j": 4.0, "accuracy": 0.9, "bytes": 1000}
    assert score(2.0, 4.0, 0.9, 1000, ref) == pytest.approx(100.0)
    assert score(1.0, 2.0, 0.9, 1000, ref) == pytest.approx(100 * 2**0.6)
    assert score(2.0, 4.0, 0.9, 500, ref) == pytest.approx(100 * 2**0.1)
    assert score(2.0, 4.0, 0.45, 1000, ref) == pytest.approx(100 * 0.5**0.3)


@pytest.fixture
def cards_root(tmp_path):
    """hr_screener's committed cards (JSON only: the score reads no weights) plus a bad one."""
    root = tmp_path / "artifacts"
    (root / "hr_screener").mkdir(parents=True)
    for path in (ARTIFACTS_DIR / "hr_screener").glob("*.card.json"):
        shutil.copy(path, root / "hr_screener" / path.name)
    fp32 = ModelCard.load(root / "hr_screener" / "fp32.card.json")
    worse = ModelCard.from_dict({**fp32.to_dict(), "variant": "worse", "accuracy": fp32.accuracy * 0.9})
    worse.save(root / "hr_screener" / "worse.card.json")
    huge = ModelCard.from_dict({**fp32.to_dict(), "variant": "huge", "bytes": 10**12})
    huge.save(root / "hr_screener" / "huge.card.json")
    return root


def test_board_rows_reference_gate_and_fit(cards_root):
    cards = list_cards(cards_root)
    board = leaderboard(cards)
    assert len(board["rows"]) == len(cards) * len(available_profiles())
    row = {(r["variant"], r["device"]): r for r in board["rows"]}
    assert row[("fp32", REFERENCE_DEVICE)]["score"] == pytest.approx(100.0)
    assert row[("huge", "smartwatch")]["score"] is None and not row[("huge", "smartwatch")]["fits_memory"]
    assert not row[("worse", "phone")]["meets_quality"]
    fp32 = next(c for c in cards if c.variant == "fp32")
    int8 = next(c for c in cards if c.variant == "int8")
    ref = estimate_card(load_profile(REFERENCE_DEVICE), fp32)
    cost = estimate_card(load_profile("smartwatch"), int8)
    expected = 100 * math.exp(
        0.3 * math.log(ref.latency_s / cost.latency_s)
        + 0.3 * math.log(ref.energy_j / cost.energy_j)
        + 0.3 * math.log(int8.accuracy / fp32.accuracy)
        + 0.1 * math.log(fp32.bytes / int8.bytes)
    )
    assert row[("int8", "smartwatch")]["score"] == pytest.approx(expected, abs=0.01)
    for device, top in board["top3"].items():
        assert len(top) == 3
        assert all(t["variant"] not in ("worse", "huge") for t in top)
        scores = [t["score"] for t in top]
        assert scores == sorted(scores, reverse=True)
        best = max(
            r["score"]
            for r in board["rows"]
            if r["device"] == device and r["score"] is not None and r["meets_quality"]
        )
        assert scores[0] == best
    assert QUALITY_TARGET == 0.99


def test_score_cli_json_and_filters(cards_root, capsys):
    assert cli_main(["score", "--json", "--artifacts", str(cards_root)]) == 0
    board = json.loads(capsys.readouterr().out)
    assert len(board["rows"]) == len(list_cards(cards_root)) * len(available_profiles())
    assert "t_ref/t" in board["formula"] and set(board["top3"]) == set(available_profiles())
    assert cli_main(["score", "--json", "--device", "smartwatch", "--artifacts", str(cards_root)]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows and {r["device"] for r in rows} == {"smartwatch"}
    assert cli_main(["score", "--artifacts", str(cards_root)]) == 0
    text = capsys.readouterr().out
    assert "top 3 per device:" in text and "hr_screener:fp32" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["score", "--device", "toaster"], "unknown --device 'toaster'"),
        (["score", "--task", "no such task"], "no model's task matches --task"),
        (["score", "--model", "toaster"], "unknown --model 'toaster'"),
    ],
)
def test_score_cli_bad_input(cards_root, capsys, argv, message):
    assert cli_main([*argv, "--artifacts", str(cards_root)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--recipe", "sparse", "--sparsity", "1.5"], "--sparsity must be a number in [0, 1), got 1.5"),
        (
            ["--recipe", "ptq-minmax", "--calib-size", "0"],
            "--calib-size must be a whole number in [1, 100000]",
        ),
        (["--recipe", "distilled", "--temperature", "0"], "--temperature must be a number in (0, 100]"),
    ],
)
def test_compress_bad_knob_exits_2_and_writes_nothing(tmp_path, capsys, argv, message):
    root = tmp_path / "artifacts"
    shutil.copytree(ARTIFACTS_DIR / "hr_screener", root / "hr_screener")
    before = sorted(p.name for p in (root / "hr_screener").iterdir())
    assert cli_main(["compress", "hr_screener", *argv, "--artifacts", str(root)]) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in (root / "hr_screener").iterdir()) == before


def test_score_loads_no_model_runtime(cards_root):
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; from cli.core import main; main(['score', '--json', '--artifacts', sys.argv[1]]); "
        "print(sorted(m for m in ('torch', 'onnxruntime', 'PySide6') if m in sys.modules), file=sys.stderr)"
    )
    root_dir = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code, str(cards_root)],
        capture_output=True,
        text=True,
        cwd=root_dir,
        check=True,
    )
    assert done.stderr.strip().splitlines()[-1] == "[]"
