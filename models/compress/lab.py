"""The compression lab's bench: a trained FP32 model, its data, and how variants are measured.

A ``Workbench`` holds the FP32 model of one zoo entry (from ``artifacts/<model>/fp32.pt``) and
train/validation/test splits from the zoo's own generator (cached on disk, git-ignored).
Choices (thresholds, sensitive layers, best epochs) use validation data only; the accuracy on
a card is on the held-out test split. Every card number is measured here on the artifact.
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
from models.compress.common import Splits, predict_logits
from models.zoo import ZOO, ZooSpec

torch.set_num_threads(1)

CACHE_DIR = Path(__file__).resolve().parents[1] / "data" / "cache"
# (n_train, n_val, n_test, seed): fine-tuning needs less data than training from scratch.
DATA_SIZES: dict[str, tuple[int, int, int, int]] = {
    "camera_detector": (8000, 1600, 2000, 0),
    "keyword_spotter": (4200, 700, 2100, 0),
    "gesture_imu": (4200, 700, 2100, 0),
}
DEFAULT_DATA_SIZE = (8000, 2000, 2000, 0)
# A device "fits" a variant when it holds it in memory and answers within this time.
PLAUSIBLE_LATENCY_S = 0.5

Predict = Callable[[np.ndarray], np.ndarray]


class LabError(ValueError):
    """A problem the user can fix (unknown model, missing FP32 artifact...)."""


@cache
def _generators_fingerprint() -> str:
    """Hash of the data generators' source: a cached split is reused only while they are unchanged."""
    models_dir = Path(__file__).resolve().parents[1]
    sources = sorted((models_dir / "data").glob("*.py")) + [
        models_dir / "train.py",
        models_dir / "train_zoo.py",
    ]
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


def _subsample(data: tuple[np.ndarray, np.ndarray], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = data
    if len(x) <= n:
        return x, y
    index = np.sort(np.random.default_rng(seed).choice(len(x), n, replace=False))
    return x[index], y[index]


@dataclass(frozen=True)
class ModelSource:
    """What the lab needs of a model, from the zoo (``models.zoo.ZOO``) or the health registry
    (``models.train.REGISTRY``): the architecture, the classes and the three data splits."""

    name: str
    task: str
    classes: tuple[str, ...]
    input_shape: tuple[int, ...]
    build: Callable[[], nn.Module]
    load_splits: Callable[[], Splits]


def _zoo_source(spec: ZooSpec) -> ModelSource:
    n_train, n_val, n_test, seed = DATA_SIZES.get(spec.name, DEFAULT_DATA_SIZE)

    def load_splits() -> Splits:
        def split(name: str, n: int, seed: int):
            return _cached(f"{spec.name}-{name}-{n}-{seed}", lambda: spec.make_dataset(name, n, seed))

        # the test split is the one the zoo's fp32 card was measured on (same n and seed)
        return Splits(
            *split("train", n_train, seed + 1), *split("val", n_val, seed), *split("test", n_test, seed)
        )

    return ModelSource(
        spec.name, spec.task, tuple(spec.classes), tuple(spec.input_shape), spec.build, load_splits
    )


def _registry_source(recipe) -> ModelSource:
    n_train, n_val, _, _ = DEFAULT_DATA_SIZE

    def load_splits() -> Splits:
        seed = recipe.heldout_seed
        train = _cached(
            f"{recipe.name}-train-{n_train}", lambda: _subsample(recipe.training_data(), n_train, 0)
        )
        # validation: another held-out seed (other subjects/days); test: the fp32 card's held-out set
        val = _cached(
            f"{recipe.name}-val-{n_val}-{seed + 1}",
            lambda: _subsample(recipe.heldout_data(seed + 1), n_val, 0),
        )
        test = _cached(f"{recipe.name}-test-{seed}", lambda: recipe.heldout_data(seed))
        return Splits(*train, *val, *test)

    return ModelSource(
        recipe.name,
        recipe.task,
        tuple(recipe.classes),
        tuple(recipe.input_shape),
        recipe.build_model,
        load_splits,
    )


def known_models() -> list[str]:
    from models.train import REGISTRY

    return sorted(set(ZOO) | set(REGISTRY))


def model_source(model: str) -> ModelSource:
    """The lab's view of ``model``; ``LabError`` naming the known models when it is unknown."""
    if model in ZOO:
        return _zoo_source(ZOO[model])
    from models.train import REGISTRY

    if model in REGISTRY:
        return _registry_source(REGISTRY[model])
    raise LabError(f"unknown model {model!r}; expected one of: {', '.join(known_models())}")


@dataclass
class Workbench:
    """One model with its trained FP32 weights and data."""

    source: ModelSource
    fp32: nn.Module
    root: Path = ARTIFACTS_DIR

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


def open_workbench(model: str, root: Path = ARTIFACTS_DIR) -> Workbench:
    """The workbench of a trained model; ``LabError`` when it is unknown or untrained."""
    source = model_source(model)
    weights = Path(root) / model / "fp32.pt"
    if not weights.exists():
        raise LabError(f"model {model!r} has no trained FP32 weights at {weights}; train it first")
    net = source.build()
    try:
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except RuntimeError as error:
        raise LabError(f"{weights} does not match the current {model!r} architecture; retrain it") from error
    return Workbench(source=source, fp32=net.eval(), root=Path(root))


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


# ---------------------------------------------------------------- devices


def estimate_on(profile_name: str, card: ModelCard):
    """``simulator.compute.estimate`` for a card; mixed cards add their INT8 and FP32 parts."""
    from simulator.compute import estimate
    from simulator.profiles import load_profile

    profile = load_profile(profile_name)
    if card.precision in {"int8", "fp16", "fp32"}:
        return estimate(profile, card.macs, card.bytes, card.precision, card.peak_activation_bytes)
    macs_by_precision = card.extra.get("macs_by_precision") or {"fp32": card.macs}
    parts = [
        estimate(profile, macs, card.bytes * macs / max(card.macs, 1), precision, card.peak_activation_bytes)
        for precision, macs in macs_by_precision.items()
        if macs > 0
    ]
    latency = sum(p.latency_s for p in parts) - (len(parts) - 1) * profile.compute_overhead_s
    energy = sum(p.energy_j for p in parts)
    return type(parts[0])(
        latency_s=latency,
        energy_j=energy,
        fits_memory=all(p.fits_memory for p in parts),
        precision="mixed",
        engine_precision="+".join(p.engine_precision for p in parts),
        bound=parts[0].bound,
        memory_needed_bytes=card.bytes + card.peak_activation_bytes,
        memory_budget_bytes=parts[0].memory_budget_bytes,
    )


def devices_that_fit(card: ModelCard) -> list[str]:
    """Profiles that hold the variant in memory and run it within ``PLAUSIBLE_LATENCY_S``."""
    try:
        from simulator.profiles import available_profiles
    except ImportError:  # the simulator is optional for the model lab
        return []
    fits = []
    for name in available_profiles():
        cost = estimate_on(name, card)
        if cost.fits_memory and cost.latency_s <= PLAUSIBLE_LATENCY_S:
            fits.append(name)
    return fits


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
    card.devices_fit = devices_that_fit(card)
    return card
