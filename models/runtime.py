"""Load a trained model variant and run it: the one place that knows which runtime runs what.

``load(model, variant)`` returns a cached :class:`Predictor` with ``.card`` and
``.predict_proba(x)``. Both variants of the health models run on ONNX Runtime, one thread:
measured on this host (2 shared cores), ORT fp32 beat torch eager fp32 3-4x at batch 1 and
1.1-2x at batch 64 (fp32 cards keep the torch numbers in ``extra``); INT8 is static QDQ on
ORT, the fastest INT8 path measured (shared REFERENCE). A card whose ``runtime`` is
``"torch"`` is run with torch eager instead (its artifact a ``.pt`` state dict); other
runtimes come from :func:`register_runtime` (the compression lab's loaders).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from models.cards import ARTIFACTS_DIR, ModelCard, card_path, find_card
from models.store import model_root

CHUNK = 256
_cache: dict[tuple[str, str, Path], Predictor] = {}
_lock = threading.RLock()  # a plugin loader may call load() again

# Card ``runtime`` -> loader(card, root) -> Predictor, for variants neither ONNX nor a plain
# state dict (pruned, CSR, early exit...). Modules that provide them are imported on demand.
RUNTIME_LOADERS: dict[str, Callable[[ModelCard, Path], Predictor]] = {}
RUNTIME_MODULES: tuple[str, ...] = ("models.importer.predictor", "models.compress.loaders")


def register_runtime(name: str, loader: Callable[[ModelCard, Path], Predictor]) -> None:
    """Teach :func:`load` to run cards whose ``runtime`` is ``name``."""
    RUNTIME_LOADERS[name] = loader


def _plugin_loader(runtime_name: str) -> Callable[[ModelCard, Path], Predictor] | None:
    for module_name in RUNTIME_MODULES:
        if runtime_name in RUNTIME_LOADERS:
            break
        module = importlib.import_module(module_name)
        # a module listing RUNTIMES with load_variant_module(card, root) -> nn.Module
        # is adapted without having to register itself
        if runtime_name in getattr(module, "RUNTIMES", ()) and hasattr(module, "load_variant_module"):

            def loader(card: ModelCard, root: Path, build=module.load_variant_module) -> Predictor:
                return TorchPredictor(build(card, root), card.input_shape, card.classes, card)

            register_runtime(runtime_name, loader)
    return RUNTIME_LOADERS.get(runtime_name)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


class Predictor:
    """A loaded model variant: ``predict_proba((N, *input_shape) float32) -> (N, n_classes)``."""

    def __init__(self, input_shape, classes, card: ModelCard | None = None, name: str = "model"):
        self.card = card
        self.input_shape = tuple(input_shape)
        self.classes = tuple(classes)
        self.name = f"{card.model}/{card.variant}" if card is not None else name

    def _logits(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, computed in chunks of :data:`CHUNK` samples."""
        logits = self.outputs(x)
        return _softmax(logits) if len(logits) else logits.astype(np.float32)

    def outputs(self, x: np.ndarray) -> np.ndarray:
        """The model's raw outputs (no softmax), in chunks: what an embedding model returns."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.shape[1:] != self.input_shape:
            raise ValueError(
                f"{self.name} expects input (N, {', '.join(map(str, self.input_shape))}), got {x.shape}"
            )
        if len(x) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        return np.concatenate([self._logits(x[i : i + CHUNK]) for i in range(0, len(x), CHUNK)])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Index of the most probable class for each sample."""
        return self.predict_proba(x).argmax(axis=1)


class OrtPredictor(Predictor):
    """An ONNX file on ONNX Runtime's CPU provider, one thread."""

    def __init__(self, onnx_path: Path, input_shape, classes, card: ModelCard | None = None):
        super().__init__(input_shape, classes, card, name=Path(onnx_path).name)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def _logits(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: x})[0]


class TorchPredictor(Predictor):
    """A torch module in eager mode, one thread."""

    def __init__(self, module, input_shape, classes, card: ModelCard | None = None):
        super().__init__(input_shape, classes, card, name=type(module).__name__)
        self.module = module.eval()

    def _logits(self, x: np.ndarray) -> np.ndarray:
        import torch

        torch.set_num_threads(1)
        with torch.inference_mode():
            return self.module(torch.from_numpy(x)).numpy()


def load(model: str, variant: str = "fp32", root: Path | None = None) -> Predictor:
    """The cached predictor for ``model``/``variant``; ValueError naming what exists if absent.

    Without ``root``: the zoo for a shipped model, the user's model store for an imported one."""
    root = Path(root) if root is not None else model_root(model)
    key = (model, variant, root)
    with _lock:
        if key in _cache:
            return _cache[key]
        card = find_card(model, variant, root)
        artifact = root / model / card.artifact
        if card.runtime == "onnxruntime":
            predictor: Predictor = OrtPredictor(artifact, card.input_shape, card.classes, card)
        elif card.runtime == "torch":
            module = load_torch(model, root, artifact)
            predictor = TorchPredictor(module, card.input_shape, card.classes, card)
        elif (plugin := _plugin_loader(card.runtime)) is not None:
            predictor = plugin(card, root)
        else:
            known = ", ".join(["onnxruntime", "torch", *RUNTIME_LOADERS])
            raise ValueError(
                f"{card_path(model, variant, root)}: unknown runtime {card.runtime!r}; known: {known}"
            )
        _cache[key] = predictor
        return predictor


def load_torch(model: str, root: Path = ARTIFACTS_DIR, weights: Path | None = None):
    """The trained fp32 torch module (for fine-tuning, pruning, distillation), eval mode."""
    import torch  # deferred: the ONNX Runtime variants (most of the simulator's) need no torch

    torch.set_num_threads(1)  # on these shared 2-core machines 2 threads ran 4–13× slower
    from models.zoo import ZOO  # deferred: the architectures are only needed here

    if model not in ZOO:
        raise ValueError(f"unknown model {model!r}; the zoo has {', '.join(ZOO)}")
    module = ZOO[model].build()
    path = weights or Path(root) / model / "fp32.pt"
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return module.eval()


def clear_cache() -> None:
    """Forget loaded predictors (after artifacts were regenerated)."""
    with _lock:
        _cache.clear()
