"""The held-out bench's comparison: the agent against the best heuristic, paired over seeds."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def heldout():
    spec = importlib.util.spec_from_file_location(
        "placement_heldout", ROOT / "bench" / "placement_heldout.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(*rewards):
    return [{"reward_per_request": r} for r in rewards]


def test_compare_picks_the_best_heuristic_and_pairs_over_seeds(heldout):
    by_policy = {
        "local": rows(-1.0, -1.2, -1.1),
        "min_latency": rows(-0.5, -0.7, -0.6),
        heldout.AGENT: rows(-0.4, -0.9, -0.5),
    }
    c = heldout.compare(by_policy)
    assert c["best"] == "min_latency"  # the agent itself is never the "best heuristic"
    assert c["diff"] == pytest.approx((0.1 - 0.2 + 0.1) / 3)
    assert c["ci"] > 0.0


def test_a_missing_agent_is_a_clear_error(heldout, tmp_path, capsys):
    assert heldout.main(["--agent", str(tmp_path / "none.zip"), "--seeds", "1"]) == 2
    assert "none.zip: no such agent" in capsys.readouterr().out
