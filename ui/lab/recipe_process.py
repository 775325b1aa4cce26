"""The lab's recipe run, in its own process (spawned): nothing it computes is shared memory
with the GUI, which reads only the messages on the queue.

Messages: ``("progress", fraction, text)``, ``("done", result)``, ``("error", text)``.

The recipe writes into a staging copy of the model's folder (``<root>/.lab-staging-*/``);
only when the variant and its before → after measurements are complete are its files moved
into ``<root>/<model>/`` (cards last). A cancelled or failed run leaves the artifacts folder
as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import traceback
import warnings
from pathlib import Path
from typing import Any

RECIPE_NICENESS = 5
# The files a recipe reads from the model's folder (FP32 weights, card, graph, data notes).
INPUT_FILES = ("fp32.pt", "fp32.card.json", "fp32.onnx", "layers.json", "data_spec.json")


def make_staging(root: Path, model: str) -> Path:
    """A staging root beside the artifacts (same file system: the final move is a rename)
    holding a copy of the model's input files."""
    staging = Path(tempfile.mkdtemp(prefix=".lab-staging-", dir=root))
    (staging / model).mkdir()
    for name in INPUT_FILES:
        if (root / model / name).exists():
            shutil.copy2(root / model / name, staging / model / name)
    return staging


def promote(staging: Path, root: Path, model: str) -> list[str]:
    """Move the files the recipe wrote from ``staging`` into ``root/model`` (cards last, so a
    card never describes a file not there yet); returns their names."""
    written = sorted(p for p in (staging / model).iterdir() if p.name not in INPUT_FILES)
    written.sort(key=lambda p: p.name.endswith(".card.json"))
    for path in written:
        os.replace(path, root / model / path.name)
    return [p.name for p in written]


def run_recipe(queue, model: str, recipe: str, options: dict[str, Any], root: str, staging: str) -> None:
    """Process entry point: compress ``model`` with ``recipe`` and report on ``queue``."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # below the GUI's priority: on a 2-core machine the window then keeps its core
    os.nice(RECIPE_NICENESS)
    # the ONNX exporter and ORT print progress and deprecation notes: the window shows results
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (this process's own stdout, for its life)
    try:
        queue.put(("progress", 0.02, "starting: loading torch and ONNX Runtime"))
        import torch

        torch.set_num_threads(1)
        from models.compress import lab
        from models.compress.common import epoch_listener
        from models.compress.compare import confusion_matrix, side_by_side
        from models.compress.recipes import compress
        from simulator.recommend import devices_that_fit

        root_path, staging_path = Path(root), Path(staging)
        bench = lab.open_workbench(model, staging_path, devices_fit=devices_that_fit)
        queue.put(("progress", 0.08, f"loading {model}'s data"))
        n_test = len(bench.splits.x_test)
        queue.put(("progress", 0.12, f"running {recipe}"))

        def on_epoch(epoch: int, epochs: int) -> None:
            queue.put(("progress", 0.12 + 0.6 * epoch / max(epochs, 1), f"{recipe}: epoch {epoch}/{epochs}"))

        with epoch_listener(on_epoch):
            variant, card = compress(bench, recipe, **options)
        queue.put(("progress", 0.75, f"measuring {variant} beside fp32 on {n_test:,} held-out samples"))
        before = side_by_side(bench, variant, staging_path)
        confusion = {
            "before": confusion_matrix(before.before, bench).tolist(),
            "after": confusion_matrix(before.after, bench).tolist(),
        }
        queue.put(("progress", 0.97, "writing the variant and its card"))
        written = promote(staging_path, root_path, model)
        queue.put(
            (
                "done",
                {
                    "model": model,
                    "recipe": recipe,
                    "options": options,
                    "variant": variant,
                    "before": before.card.to_dict(),
                    "before_accuracy": before.accuracy,
                    "after": card.to_dict(),
                    "latency_ms": before.latency,
                    "confusion": confusion,
                    "classes": list(bench.classes),
                    "written": written,
                    "root": root,
                },
            )
        )
    except ValueError as error:  # LabError and bad values: the user's to fix, already a sentence
        queue.put(("error", str(error), traceback.format_exc()))
    except Exception as error:  # reported as a sentence in the window, the trace for the log
        queue.put(("error", f"{type(error).__name__}: {error}", traceback.format_exc()))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
