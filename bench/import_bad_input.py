"""The bad-input table of docs/import.md, made by running each case (not typed).

    python bench/import_bad_input.py > table.md

Runs every bad input of ``tests/models/test_import_bad_input.py`` through ``python main.py
models import`` (in a scratch model store holding one earlier import, ``tiny``), plus two
bad scenarios of the voice gate through ``python main.py run``, and prints a Markdown table:
the case, the message (first line of stderr, scratch paths shortened), the exit code and
whether the store's files (names and sizes) are the same afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.models.test_import_bad_input import _cases, snapshot, tiny_classifier  # noqa: E402

SCENARIO = ROOT / "scenarios" / "smart_home_vad.yaml"


def _scenario(tmp: Path, name: str, **params) -> str:
    text = SCENARIO.read_text()
    for key, value in params.items():
        old = next(line for line in text.splitlines() if line.strip().startswith(f"{key}:"))
        text = text.replace(old, f"{old.split(':')[0]}: {value}")
    path = tmp / name
    path.write_text(text)
    return str(path)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hometwin-bad-") as scratch:
        tmp = Path(scratch)
        store = tmp / "store"
        env = {**os.environ, "HOMETWIN_MODEL_STORE": str(store)}

        def cli(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, str(ROOT / "main.py"), *args],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )

        assert cli("models", "import", tiny_classifier(tmp / "first.onnx"), "--name", "tiny").returncode == 0
        cases = [(case, ["models", "import", *args]) for case, args, _ in _cases(tmp)]
        cases += [
            (
                "scenario names a model not in the store",
                ["run", _scenario(tmp, "gate.yaml", voice_gate='"my-vad"')],
            ),
            (
                "scenario: vad_threshold out of range",
                ["run", _scenario(tmp, "threshold.yaml", vad_threshold=1.5)],
            ),
        ]
        print("| case | message (stderr) | exit | store unchanged |")
        print("|---|---|---|---|")
        for case, argv in cases:
            before = snapshot(store)
            done = cli(*argv)
            message = next(
                (line for line in done.stderr.splitlines() if line.startswith("error")), done.stderr
            )
            message = message.replace(str(tmp), "…").replace("|", "\\|")
            same = "yes" if snapshot(store) == before else "NO"
            print(f"| {case} | `{message}` | {done.returncode} | {same} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
