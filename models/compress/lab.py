"""The compression lab's bench: a trained FP32 model, its data, and how variants are measured.

A ``Workbench`` holds the FP32 model of one zoo entry (from ``artifacts/<model>/fp32.pt``) and
train/validation/test splits from the zoo's own generator (cached on disk, git-ignored).
Choices (thresholds, sensitive layers, best epochs) use validation data only; the accuracy on
a card is on the held-out test split. Every card number is measured here on the artifact,
except which devices it fits: that is the simulator's cost model, so the caller passes it
(``open_workbench(model, devices_fit=...)``; ``python main.py compress`` does).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from models.cards import ARTIFACTS_DIR, ModelCard
from models.compress import dynamic_sparsity
from models.compress.common import Splits, predict_logits
from models.zoo import ZOO, ZooSpec
from models.zoo.health import HELDOUT_SEED

torch.set_num_threads(1)

CACHE_DIR = Path(__file__).resolve().parents[1] / "data" / "cache"
# (n_train, n_val, n_test, seed): fine-tuning needs less data than training from scratch.
# The test split is the one the fp32 card was measured on (same n and seed); ``None``: the
# whole held-out set (the health models' cards were measured on all of it).
DATA_SIZES: dict[str, tuple[int, int, int | None, int]] = {
    "camera_detector": (8000, 1600, 2000, 0),
    "keyword_spotter": (4200, 700, 2100, 0),
    "gesture_imu": (4200, 700, 2100, 0),
    "hr_screener": (8000, 2000, None, HELDOUT_SEED),
    "ecg_verifier": (8000, 2000, None, HELDOUT_SEED),
}
DEFAULT_DATA_SIZE = (8000, 2000, 2000, 0)
# Held-out samples the dynamic sparsity is measured on: on every zoo model the fraction on
# 1,000 samples is within 0.002 of the whole test split's (bench/dynamic_sparsity.py).
DYNAMIC_SPARSITY_SAMPLES = 1000

Predict = Callable[[np.ndarray], np.ndarray]
DevicesFit = Callable[[ModelCard], list[str]]


class LabError(ValueError):
    """A problem the user can fix (unknown model, missing FP32 artifact...)."""


@cache
def _generators_fingerprint() -> str:
    """Hash of the data generators' source: a cached split is reused only while they are unchanged."""
    models_dir = Path(__file__).resolve().parents[1]
    # the zoo modules define the health models' data sets on top of the generators
    sources = sorted((models_dir / "data").glob("*.py")) + sorted((models_dir / "zoo").glob("*.py"))
    digest = hashlib.sha1()
    for path in sources:
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _cached(key: str, make: Callable[[], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    path = CACHE_DIR / f"compress-{key}-{_generators_fingerprint()}.npz"
    if path.exists():
        with np.load(path) as data:
            return data["x"], data["y"]
    x, y = make()
    x, y = np.ascontiguousarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, y=y)
    return x, y


@dataclass(frozen=True)
class ModelSource:
    """What the lab needs of a model (from its zoo entry, or built by hand in tests): the
    architecture, the classes and the three data splits."""

    name: str
    task: str
    classes: tuple[str, ...]
    input_shape: tuple[int, ...]
    build: Callable[[], nn.Module]
    load_splits: Callable[[], Splits]


def _zoo_source(spec: ZooSpec) -> ModelSource:
    n_train, n_val, n_test, seed = DATA_SIZES.get(spec.name, DEFAULT_DATA_SIZE)

    def load_splits() -> Splits:
        def split(name: str, n: int | None, seed: int):
            return _cached(f"{spec.name}-{name}-{n}-{seed}", lambda: spec.make_dataset(name, n, seed))

        # the test split is the one the zoo's fp32 card was measured on (same n and seed)
        return Splits(
            *split("train", n_train, seed + 1), *split("val", n_val, seed), *split("test", n_test, seed)
        )

    return ModelSource(
        spec.name, spec.task, tuple(spec.classes), tuple(spec.input_shape), spec.build, load_splits
    )


def known_models() -> list[str]:
    return sorted(ZOO)


def model_source(model: str) -> ModelSource:
    """The lab's view of ``model``; ``LabError`` naming the known models when it is unknown."""
    if model not in ZOO:
        raise LabError(f"unknown model {model!r}; expected one of: {', '.join(known_models())}")
    return _zoo_source(ZOO[model])


@dataclass
class Workbench:
    """One model with its trained FP32 weights and data."""

    source: ModelSource
    fp32: nn.Module
    root: Path = ARTIFACTS_DIR
    devices_fit: DevicesFit | None = None  # fills the cards' devices_fit (empty without it)

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def classes(self) -> tuple[str, ...]:
        return self.source.classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.source.input_shape

    @property
    def artifact_dir(self) -> Path:
        return self.root / self.name

    def example_input(self) -> torch.Tensor:
        return torch.zeros(1, *self.input_shape)

    @cached_property
    def splits(self) -> Splits:
        return self.source.load_splits()

    @cached_property
    def fp32_card(self) -> ModelCard | None:
        path = self.artifact_dir / "fp32.card.json"
        return ModelCard.load(path) if path.exists() else None


def open_workbench(
    model: str, root: Path = ARTIFACTS_DIR, devices_fit: DevicesFit | None = None
) -> Workbench:
    """The workbench of a trained model; ``LabError`` when it is unknown or untrained.
    ``devices_fit(card)`` lists the device profiles a variant fits, for its card."""
    source = model_source(model)
    weights = Path(root) / model / "fp32.pt"
    if not weights.exists():
        raise LabError(f"model {model!r} has no trained FP32 weights at {weights}; train it first")
    net = source.build()
    try:
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except RuntimeError as error:
        raise LabError(f"{weights} does not match the current {model!r} architecture; retrain it") from error
    return Workbench(source=source, fp32=net.eval(), root=Path(root), devices_fit=devices_fit)


# ---------------------------------------------------------------- measuring


def count_macs(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs per sample on the float graph (FlopCounterMode counts 2 FLOPs per MAC)."""
    module.eval()
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        module(torch.zeros(1, *input_shape))
    return int(counter.get_total_flops() // 2)


def count_params(module: nn.Module) -> int:
    """Parameters of the deployed graph: BatchNorm folded into the preceding conv, as exporters do."""
    try:
        from torch.fx.experimental.optimization import fuse

        module = fuse(copy.deepcopy(module).eval())
    except Exception:  # untraceable modules are counted as they are  # noqa: BLE001
        pass
    return int(sum(p.numel() for p in module.parameters()))


def peak_activation_bytes(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Largest input + output pair of any leaf module for one sample, fp32 (a working-set bound)."""
    peak = 0

    def hook(_module, inputs, output):
        nonlocal peak
        size = sum(t.numel() for t in inputs if isinstance(t, torch.Tensor))
        if isinstance(output, torch.Tensor):
            size += output.numel()
        peak = max(peak, size * 4)

    handles = [m.register_forward_hook(hook) for m in module.modules() if not list(m.children())]
    try:
        with torch.inference_mode():
            module.eval()(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    return int(peak)


def host_latency_ms(predict: Predict, x: np.ndarray, batch: int, budget_s: float = 1.5) -> float:
    """Median wall time (ms) of ``predict`` on a batch, one thread, after warm-up."""
    sample = np.ascontiguousarray(np.resize(x, (batch, *x.shape[1:])).astype(np.float32))
    for _ in range(3):
        predict(sample)
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < 7 or (time.perf_counter() < deadline and len(times) < 400):
        start = time.perf_counter()
        predict(sample)
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def paired_latency_ms(
    predicts: list[Predict], x: np.ndarray, batch: int, budget_s: float = 3.0
) -> list[float]:
    """Median ms per call of several predictors timed in alternation on the same batch.

    The machine is shared: load drifts over seconds. Interleaving the calls makes every
    predictor see the same drift, so their ratio is stable even when absolute times are not.
    """
    sample = np.ascontiguousarray(np.resize(x, (batch, *x.shape[1:])).astype(np.float32))
    for predict in predicts:
        for _ in range(3):
            predict(sample)
    times: list[list[float]] = [[] for _ in predicts]
    deadline = time.perf_counter() + budget_s
    while len(times[0]) < 9 or (time.perf_counter() < deadline and len(times[0]) < 300):
        for i, predict in enumerate(predicts):
            start = time.perf_counter()
            predict(sample)
            times[i].append(time.perf_counter() - start)
    return [1000.0 * statistics.median(t) for t in times]


def ort_session(path: str | Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ort_predict(path: str | Path, batch_size: int = 256) -> Predict:
    session = ort_session(path)
    input_name = session.get_inputs()[0].name

    def predict(x: np.ndarray) -> np.ndarray:
        outs = [
            session.run(None, {input_name: np.ascontiguousarray(x[i : i + batch_size], dtype=np.float32)})[0]
            for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(outs)

    return predict


def torch_predict(module: nn.Module) -> Predict:
    module.eval()
    return lambda x: predict_logits(module, x)


@dataclass
class Evaluation:
    accuracy: float
    per_class_accuracy: dict[str, float]
    latency_ms_b1: float
    latency_ms_b64: float
    logits: np.ndarray = field(repr=False)


def evaluate(predict: Predict, bench: Workbench, latency: bool = True) -> Evaluation:
    """Held-out accuracy (overall and per class) and host latency at batch 1 and 64."""
    splits = bench.splits
    logits = predict(splits.x_test)
    hits = logits.argmax(1) == splits.y_test
    per_class = {
        cls: float(hits[splits.y_test == c].mean())
        for c, cls in enumerate(bench.classes)
        if (splits.y_test == c).any()
    }
    b1 = host_latency_ms(predict, splits.x_test, 1) if latency else float("nan")
    b64 = host_latency_ms(predict, splits.x_test, 64) if latency else float("nan")
    return Evaluation(float(hits.mean()), per_class, b1, b64, logits)


# ---------------------------------------------------------------- cards


def macs_by_layer(module: nn.Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """MACs per Conv/Linear layer for one sample (to split a mixed model's compute by precision)."""
    result: dict[str, int] = {}
    handles = []
    for name, layer in module.named_modules():
        if isinstance(layer, nn.Conv1d | nn.Conv2d):

            def conv_hook(mod, _inputs, output, name=name):
                kernel = int(np.prod(mod.kernel_size)) * mod.in_channels // mod.groups
                result[name] = int(output[0].numel() * kernel)

            handles.append(layer.register_forward_hook(conv_hook))
        elif isinstance(layer, nn.Linear):

            def linear_hook(mod, _inputs, output, name=name):
                result[name] = int(output[0].numel() * mod.in_features)

            handles.append(layer.register_forward_hook(linear_hook))
    try:
        with torch.inference_mode():
            module.eval()(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    return result


def make_card(
    bench: Workbench,
    *,
    variant: str,
    float_module: nn.Module,
    artifact: Path,
    runtime: str,
    evaluation: Evaluation,
    recipe: str,
    precision_per_layer: dict[str, str],
    sparsity: float = 0.0,
    macs: int | None = None,
    extra_bytes: list[Path] | None = None,
    extra: dict | None = None,
) -> ModelCard:
    """Measure and assemble the card of a variant; ``float_module`` is its float graph for counting."""
    kinds = set(precision_per_layer.values()) or {"fp32"}
    precision = kinds.pop() if len(kinds) == 1 else "mixed"
    layer_macs = macs_by_layer(float_module, bench.input_shape)
    extra = dict(extra or {})
    if precision == "mixed":
        by_precision: dict[str, int] = {}
        for layer, n in layer_macs.items():
            p = precision_per_layer.get(layer, "fp32")
            by_precision[p] = by_precision.get(p, 0) + n
        extra["macs_by_precision"] = by_precision
    total_bytes = artifact.stat().st_size + sum(p.stat().st_size for p in extra_bytes or [])
    extra["dynamic_sparsity"] = {
        **dynamic_sparsity.measure(float_module, bench.splits.x_test[:DYNAMIC_SPARSITY_SAMPLES]).to_dict(),
        "graph": "float graph of this variant (quantized variants: the graph they were quantized from)",
    }
    card = ModelCard(
        model=bench.name,
        variant=variant,
        task=bench.source.task,
        classes=list(bench.classes),
        input_shape=list(bench.input_shape),
        precision=precision,
        params=count_params(float_module),
        macs=int(macs if macs is not None else count_macs(float_module, bench.input_shape)),
        bytes=int(total_bytes),
        peak_activation_bytes=peak_activation_bytes(float_module, bench.input_shape),
        accuracy=evaluation.accuracy,
        latency_ms_b1=round(evaluation.latency_ms_b1, 4),
        latency_ms_b64=round(evaluation.latency_ms_b64, 4),
        recipe=recipe,
        artifact=artifact.name,
        runtime=runtime,
        per_class_accuracy=evaluation.per_class_accuracy,
        precision_per_layer=precision_per_layer,
        sparsity=round(float(sparsity), 4),
        privacy_level="on-device",
        version="1",
        date=dt.date.today().isoformat(),
        extra=extra,
    )
    card.devices_fit = bench.devices_fit(card) if bench.devices_fit is not None else []
    return card
