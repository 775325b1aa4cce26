"""Bring your own model: import an ONNX file or a ``torch.export`` program into the user's store.

``import_model(path, name, ...)`` reads and checks the file, cleans the graph
(:mod:`models.importer.graph`), counts it (:mod:`models.importer.count`, onnx-tool), measures
it on the host and on the user's samples, and writes ``<store>/<name>/`` in one rename:
``fp32.onnx``, ``fp32.card.json``, ``fp32.layers.json``, ``source.json`` and, when given,
``samples.npy`` / ``labels.npy`` (the calibration and evaluation data of later ``compress``
runs). Any refusal raises :class:`ImportFailure` before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx

from models.cards import ModelCard
from models.importer.count import Count, count
from models.importer.graph import ImportFailure, Prepared, prepare, read
from models.store import SOURCE_FILE, store_dir, zoo_models

__all__ = ["ImportFailure", "ImportResult", "import_model", "load_samples"]

NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
MAX_STORED_SAMPLES = 2048
PROBE_SAMPLES = 64
# Timing 64 samples of a big network takes seconds per call on these hosts: skip it above this.
B64_TIMING_MAX_MACS = 2e9


@dataclass
class ImportResult:
    card: ModelCard
    count: Count
    folder: Path
    wall_s: float
    notes: list[str]


def _check_name(name: str, force: bool, store: Path) -> None:
    if not NAME.match(name):
        raise ImportFailure(
            f"--name {name!r}: expected lower-case letters, digits, '_' or '-' (a folder and a scenario key)"
        )
    if name in zoo_models():
        raise ImportFailure(
            f"--name {name!r} is a zoo model: choose another name (--force never replaces the zoo)"
        )
    if (store / name).exists() and not force:
        raise ImportFailure(
            f"--name {name!r} is already imported in {store}: choose another name or pass --force"
        )


def load_samples(path: Path, what: str, input_shape: list[int] | None = None) -> np.ndarray:
    """A ``.npy`` array of float samples ``(N, *input_shape)``; ImportFailure naming the file."""
    if not path.is_file():
        raise ImportFailure(f"{what} {path}: no such file")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ImportFailure(f"{what} {path}: not a readable .npy array ({error})") from None
    if not np.issubdtype(data.dtype, np.floating):
        raise ImportFailure(f"{what} {path}: dtype {data.dtype}, expected float32 samples")
    if data.ndim < 2 or len(data) == 0:
        raise ImportFailure(f"{what} {path}: shape {list(data.shape)}, expected (N, *input_shape) with N ≥ 1")
    if input_shape is not None and list(data.shape[1:]) != list(input_shape):
        raise ImportFailure(
            f"{what} {path}: shape {list(data.shape)}, the model takes (N, {', '.join(map(str, input_shape))})"
        )
    if not np.isfinite(data).all():
        raise ImportFailure(f"{what} {path}: holds NaN or infinite values")
    return np.ascontiguousarray(data, dtype=np.float32)


def _load_labels(path: Path, n: int, n_classes: int) -> np.ndarray:
    if not path.is_file():
        raise ImportFailure(f"--labels {path}: no such file")
    try:
        labels = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ImportFailure(f"--labels {path}: not a readable .npy array ({error})") from None
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ImportFailure(
            f"--labels {path}: {labels.dtype} {list(labels.shape)}, expected {n} integer class indices (one per sample)"
        )
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ImportFailure(
            f"--labels {path}: values {labels.min()}..{labels.max()}, expected 0..{n_classes - 1}"
        )
    return labels.astype(np.int64)


def _classes(given: list[str] | None, n_outputs: int, path: Path) -> list[str]:
    k = max(n_outputs, 2)
    if given is None:
        return ["negative", "positive"] if n_outputs == 1 else [f"class{i}" for i in range(k)]
    if len(given) != k:
        raise ImportFailure(f"{path}: --classes names {len(given)} classes; the model's output has {k}")
    return list(given)


def _torch_program_to_onnx(path: Path, tmp: Path) -> onnx.ModelProto:
    """A ``torch.export`` program file (``torch.export.save``) exported to ONNX by torch."""
    import contextlib
    import io

    import torch

    torch.set_num_threads(1)
    try:
        program = torch.export.load(str(path))
    except Exception as error:  # noqa: BLE001  (torch raises many kinds for a bad archive)
        raise ImportFailure(
            f"{path}: not a torch.export program file ({type(error).__name__}: {error})"
        ) from None
    out = tmp / "exported.onnx"
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            torch.onnx.export(program, (), str(out), dynamo=True, external_data=False, optimize=True)
    except Exception as error:  # noqa: BLE001
        raise ImportFailure(f"{path}: torch could not export the program to ONNX: {error}") from None
    return read(out)


def is_torch_program(path: Path) -> bool:
    """A ``torch.export`` archive is a zip file (ONNX is protobuf)."""
    import zipfile

    return path.suffix in (".pt2", ".pt", ".ep") and zipfile.is_zipfile(path)


def import_model(
    path: str | Path,
    name: str,
    samples: str | Path | None = None,
    labels: str | Path | None = None,
    input_shape: list[int] | None = None,
    fixed: dict[str, float] | None = None,
    input_name: str | None = None,
    classes: list[str] | None = None,
    task: str | None = None,
    force: bool = False,
    devices_fit=None,
    recurrent: tuple[str, str] | None = None,
) -> ImportResult:
    """Import ``path`` as model ``name`` into the store (module docstring); ``devices_fit(card)``
    lists the device profiles it fits (the CLI passes the simulator's rule).

    ``recurrent=(state_in, state_out)`` marks a streaming graph: input ``state_in`` is fed the
    previous call's output ``state_out``; a sample is then ``steps`` calls in a row
    (``input_shape = [steps, *one step]``) and its MACs are ``steps`` × one call's."""
    from models import measure

    start = time.perf_counter()
    path = Path(path)
    store = store_dir()
    _check_name(name, force, store)
    sample_array = None
    if samples is not None:
        sample_array = load_samples(Path(samples), "--samples", None)
    if labels is not None and samples is None:
        raise ImportFailure(f"--labels {labels}: needs --samples (the inputs the labels belong to)")
    with tempfile.TemporaryDirectory(prefix="hometwin-import-") as tmp:
        torch_program = is_torch_program(path)
        model = _torch_program_to_onnx(path, Path(tmp)) if torch_program else read(path)
        sample_shape = list(sample_array.shape[1:]) if sample_array is not None else None
        steps = None
        if recurrent:
            full = input_shape or sample_shape
            if not full or len(full) < 2:
                raise ImportFailure(
                    f"{path}: --recurrent needs one sample's shape as steps,step shape (--input-shape 31,576 or --samples)"
                )
            steps, input_shape, sample_shape = full[0], full[1:], None
        prepared = prepare(
            path,
            model,
            input_name,
            input_shape,
            fixed,
            sample_shape,
            f"--samples {samples} (shape {list(sample_array.shape)})"
            if sample_array is not None
            else "--samples",
        )
        if recurrent:
            _check_recurrent(path, prepared, recurrent, steps)
        card_shape = [steps, *prepared.input_shape] if steps else prepared.input_shape
        if sample_array is not None:
            sample_array = load_samples(Path(samples), "--samples", card_shape)
        one = prepared.feeds(np.zeros((1, *prepared.input_shape), np.float32))
        counted = count(path, prepared.counting, one)
        if steps:
            counted.macs *= steps
            counted.macs_by_op = {op: m * steps for op, m in counted.macs_by_op.items()}
        class_names = _classes(classes, prepared.n_outputs, path)
        label_array = _load_labels(Path(labels), len(sample_array), len(class_names)) if labels else None
        staging = Path(tmp) / name
        staging.mkdir()
        onnx.save(prepared.stored, str(staging / "fp32.onnx"))
        card = _card(name, prepared, counted, class_names, task, staging, path)
        if steps:
            card.input_shape = card_shape
            card.extra["graph"]["recurrent"] = {"input": recurrent[0], "output": recurrent[1], "steps": steps}
        predictor = _predictor(staging, card)
        probe = sample_array if sample_array is not None else _probe_inputs(card_shape)
        card.extra["evaluation"] = evaluate(predictor, probe, label_array, None)
        card.accuracy = card.extra["evaluation"]["accuracy"]
        card.per_class_accuracy = card.extra["evaluation"].get("per_class", {})
        card.latency_ms_b1 = measure.host_latency_ms(
            predictor, card.input_shape, 1, repeats=_repeats(card.macs)
        )
        if 64 * card.macs <= B64_TIMING_MAX_MACS:
            card.latency_ms_b64 = measure.host_latency_ms(
                predictor, card.input_shape, 64, repeats=5, warmup=1
            )
        else:
            card.extra["latency_note"] = (
                f"b64 not timed: 64 × {card.macs:,} MACs is over {B64_TIMING_MAX_MACS:.0e}"
            )
        card.devices_fit = devices_fit(card) if devices_fit else []
        card.save(staging / "fp32.card.json")
        (staging / "fp32.layers.json").write_text(
            json.dumps([asdict(layer) for layer in counted.layers]) + "\n"
        )
        if sample_array is not None:
            np.save(staging / "samples.npy", sample_array[:MAX_STORED_SAMPLES])
        if label_array is not None:
            np.save(staging / "labels.npy", label_array[:MAX_STORED_SAMPLES])
        wall_s = time.perf_counter() - start
        source = {
            "file": str(path.resolve()),
            "format": "torch.export" if torch_program else "onnx",
            "opset": prepared.opset,
            "producer": prepared.producer,
            "fixed": fixed or {},
            "notes": prepared.notes,
            "import_wall_s": round(wall_s, 3),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        (staging / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n")
        if torch_program:
            shutil.copyfile(path, staging / "program.pt2")
        _install(staging, store / name)
    from models import runtime

    runtime.clear_cache()
    return ImportResult(card, counted, store / name, wall_s, prepared.notes)


def _check_recurrent(path: Path, prepared: Prepared, recurrent: tuple[str, str], steps: int) -> None:
    state_in, state_out = recurrent
    if state_in not in {a.name for a in prepared.aux_inputs}:
        raise ImportFailure(
            f"{path}: --recurrent {state_in}={state_out}: {state_in!r} is not a zero-fed float input "
            f"(those are: {', '.join(a.name for a in prepared.aux_inputs) or 'none'})"
        )
    outputs = [o.name for o in prepared.stored.graph.output]
    if state_out not in outputs:
        raise ImportFailure(
            f"{path}: --recurrent {state_in}={state_out}: the graph has no output {state_out!r} ({', '.join(outputs)})"
        )
    if steps < 1:
        raise ImportFailure(f"{path}: --recurrent: steps per sample must be ≥ 1, got {steps}")


def _repeats(macs: int) -> int:
    return int(max(3, min(50, 2e8 / max(macs, 1))))


def _probe_inputs(input_shape: list[int]) -> np.ndarray:
    """Without samples, agreement between variants is measured on seeded normal noise (said on the card)."""
    return np.random.default_rng(0).normal(size=(PROBE_SAMPLES, *input_shape)).astype(np.float32)


def evaluate(predictor, x: np.ndarray, y: np.ndarray | None, reference: np.ndarray | None) -> dict:
    """Accuracy on labels when given, else agreement of the top class with ``reference`` (the
    FP32 variant's predictions; FP32 itself agrees with itself); plus the predictions."""
    predicted = predictor.predict(x)
    result: dict = {"n": int(len(x))}
    if y is not None:
        result["accuracy"] = float(np.mean(predicted == y))
        result["accuracy_kind"] = "labelled samples (--labels)"
        result["per_class"] = {
            c: float(np.mean(predicted[y == i] == i))
            for i, c in enumerate(predictor.classes)
            if np.any(y == i)
        }
    else:
        base = predicted if reference is None else reference
        result["accuracy"] = float(np.mean(predicted == base))
        result["accuracy_kind"] = "agreement with fp32 on " + (
            "the import samples (no labels)"
            if reference is not None or len(x) != PROBE_SAMPLES
            else "seeded noise"
        )
    if reference is not None:
        result["agreement_with_fp32"] = float(np.mean(predicted == reference))
    return result


def _card(name: str, prepared: Prepared, counted: Count, classes: list[str], task, staging: Path, path: Path):
    graph_meta = {
        "input": prepared.input_name,
        "aux_inputs": [asdict(a) for a in prepared.aux_inputs],
        "output": prepared.output_name,
        "output_kind": prepared.output_kind,
        "batch": prepared.batch,
    }
    return ModelCard(
        model=name,
        variant="fp32",
        task=task or f"imported from {path.name}",
        classes=classes,
        input_shape=list(prepared.input_shape),
        precision="fp32",
        params=counted.params,
        macs=counted.macs,
        bytes=(staging / "fp32.onnx").stat().st_size,
        peak_activation_bytes=counted.peak_activation_bytes,
        accuracy=0.0,
        latency_ms_b1=0.0,
        latency_ms_b64=0.0,
        recipe="imported (onnxscript optimizer, onnx shape inference)",
        artifact="fp32.onnx",
        runtime="onnx-import",
        date=dt.date.today().isoformat(),
        extra={
            "origin": "imported",
            "graph": graph_meta,
            "ops": counted.ops,
            "macs_by_op": counted.macs_by_op,
            "uncounted_ops": counted.uncounted_ops,
            "activation_bytes": counted.activation_bytes,
            "counted_by": "onnx-tool",
        },
    )


def _predictor(folder: Path, card: ModelCard):
    from models.importer.predictor import ImportedPredictor

    return ImportedPredictor(folder / card.artifact, card)


def _install(staging: Path, final: Path) -> None:
    """Move the finished folder into the store; a replaced import goes only once the new one is in."""
    final.parent.mkdir(parents=True, exist_ok=True)
    incoming = Path(tempfile.mkdtemp(prefix=f".incoming-{final.name}-", dir=final.parent))
    shutil.copytree(staging, incoming, dirs_exist_ok=True)
    old = None
    if final.exists():
        old = final.with_name(f".replaced-{final.name}-{time.time_ns()}")
        final.rename(old)
    incoming.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
