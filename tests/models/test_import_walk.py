"""docs/import.md's walk runs as written: every ```bash block, in order, in a scratch model
store (``HOMETWIN_MODEL_STORE``) and cache, with the scratch folder and the clip count made
small by the substitutions below (each must occur in the doc, so doc and test cannot drift)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "import.md"
WALK_DIR = "/tmp/hometwin-walk"
SMALL = {
    "python -m models.importer.vad samples /tmp/hometwin-walk 400": "python -m models.importer.vad samples /tmp/hometwin-walk 40"
}


def walk_blocks(text: str) -> list[str]:
    """The doc's ```bash blocks, in order."""
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)


def test_the_walk_runs_as_written(tmp_path):
    text = DOC.read_text()
    for old in SMALL:
        assert old in text, f"docs/import.md no longer has {old!r}: update the test's substitutions"
    blocks = walk_blocks(text)
    assert len(blocks) >= 4
    env = {
        **os.environ,
        "HOMETWIN_MODEL_STORE": str(tmp_path / "store"),
        "HOMETWIN_CACHE": str(tmp_path / "cache"),
    }
    walk = tmp_path / "walk"
    for block in blocks:
        for old, new in SMALL.items():
            block = block.replace(old, new)
        block = block.replace(WALK_DIR, str(walk))
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, (
            f"{block}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
        )
    store = tmp_path / "store"
    assert (store / "silero-vad" / "dynamic.card.json").exists()
    assert (store / "tiny-cnn" / "fp32.card.json").exists()
    summary = json.loads((walk / "run" / "summary.json").read_text())
    gate = summary["home"]["voice_gate"]
    assert gate["gate"] == "silero-vad:dynamic"
    assert gate["gate_energy_j_per_day"] > 0 and gate["keyword_calls_per_day"] > 0
