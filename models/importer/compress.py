"""Compress an imported graph: the recipes that need only the graph (and the user's samples).

| recipe          | what it does                                                              |
|-----------------|---------------------------------------------------------------------------|
| ptq-minmax      | static INT8 (ORT QDQ, U8S8, per-channel weights), calibrated on the import samples |
| ptq-entropy     | the same, KL-optimal activation ranges                                    |
| ptq-percentile  | the same, ranges clipped at the 99.999th percentile                       |
| dynamic         | weights INT8, activations quantized per call (MatMul, Gemm, LSTM)         |
| fp16            | weights and activations FP16 (inputs and outputs stay FP32)               |

Pruning, QAT, distillation and early exit retrain a PyTorch module on labelled data: an
imported graph has neither, so those recipes are refused with a message that says so.
MACs are the FP32 graph's (no counter sees quantized ops, shared REFERENCE); a variant whose
quantized operators leave over 1 % of the MACs in FP32 is a ``mixed`` card with the split,
so the cost function charges each part at its precision.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx

from models.cards import ModelCard
from models.importer import ImportFailure, evaluate
from models.importer.graph import _quiet

STATIC = {"ptq-minmax": "minmax", "ptq-entropy": "entropy", "ptq-percentile": "percentile"}
GRAPH_RECIPES = (*STATIC, "dynamic", "fp16")
DYNAMIC_OPS = ["MatMul", "Gemm", "LSTM"]
QUANTIZED_BY_QDQ = {"Conv", "ConvTranspose", "Gemm", "MatMul"}
MIXED_SHARE = 0.01
PER_CHANNEL_OPSET = 13


def refuse(recipe: str, model: str) -> ImportFailure:
    return ImportFailure(
        f"recipe {recipe!r} retrains a PyTorch module on labelled training data; {model!r} is an imported "
        f"graph without either: use one of {', '.join(GRAPH_RECIPES)}"
    )


class _Reader:
    """ORT calibration batches: the data input plus the zero-fed inputs."""

    def __init__(self, x: np.ndarray, card: ModelCard, batch: int):
        self.x, self.card, self.batch = x, card, batch
        self.start = 0

    def get_next(self):
        if self.start >= len(self.x):
            return None
        chunk = self.x[self.start : self.start + self.batch]
        self.start += self.batch
        graph = self.card.extra["graph"]
        feeds = {graph["input"]: chunk}
        for aux in graph["aux_inputs"]:
            feeds[aux["name"]] = np.zeros(
                [len(chunk) if d == "batch" else d for d in aux["shape"]], aux["dtype"]
            )
        return feeds

    def rewind(self):
        self.start = 0


def _static(src: Path, out: Path, card: ModelCard, samples: np.ndarray, method: str) -> str:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    recurrent = card.extra["graph"].get("recurrent")
    if recurrent:  # calibrate on every step, each from a zero state
        samples = samples.reshape(-1, *card.input_shape[1:])
    methods = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }
    reader = type("Reader", (_Reader, CalibrationDataReader), {})(
        samples, card, 1 if card.extra["graph"]["batch"] == "1" else 64
    )
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        src = _at_least_opset(src, Path(tmp), PER_CHANNEL_OPSET)
        quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        # Same settings as the zoo's static INT8 (models/quantize.py): U8S8, per-channel, fp32 bias.
        quantize_static(
            str(prepared),
            str(out),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=methods[method],
            extra_options={"QuantizeBias": False},
        )
    return f"static INT8 QDQ ({method} on {len(samples)} import samples), ORT"


def _at_least_opset(src: Path, tmp: Path, opset: int) -> Path:
    """``src`` converted to ``opset`` when older (onnx's version converter): per-channel
    QDQ needs DequantizeLinear's ``axis``, which opset 13 added."""
    model = onnx.load(str(src))
    current = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), opset)
    if current >= opset:
        return src
    from onnx import version_converter

    out = tmp / f"opset{opset}.onnx"
    onnx.save(version_converter.convert_version(model, opset), str(out))
    return out


def _dynamic(src: Path, out: Path) -> str:
    from onnxruntime.quantization import quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        # Conv is left out: ORT's dynamic Conv was slower than fp32 here (shared REFERENCE).
        quantize_dynamic(str(prepared), str(out), op_types_to_quantize=DYNAMIC_OPS)
    return f"dynamic INT8 ({'+'.join(DYNAMIC_OPS)}), activations quantized at run time, ORT"


def _fp16(src: Path, out: Path) -> str:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(out))
    return "FP16 weights and activations (onnxruntime float16 converter), FP32 inputs/outputs"


def _quantized_op_types(path: Path) -> set[str]:
    """Op types whose weight arrives through DequantizeLinear (static) or that became integer ops."""
    graph = onnx.load(str(path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    found = set()
    for node in graph.node:
        if node.op_type in ("DynamicQuantizeLSTM", "MatMulInteger", "DynamicQuantizeMatMul"):
            found.add({"DynamicQuantizeLSTM": "LSTM"}.get(node.op_type, "MatMul"))
        if node.op_type in QUANTIZED_BY_QDQ and len(node.input) > 1:
            weight = producer.get(node.input[1])
            if weight is not None and weight.op_type == "DequantizeLinear":
                found.add(node.op_type)
    return found


def compress_imported(
    name: str, recipe: str, root: Path, devices_fit=None
) -> tuple[ModelCard, ModelCard, dict]:
    """Make variant ``recipe`` of imported model ``name`` (in ``root``); returns the FP32 card,
    the new card, and paired host latencies ``{"b1": [fp32_ms, variant_ms], "b64": [...]}``."""
    from models import runtime
    from models.compress.lab import paired_latency_ms
    from models.importer.predictor import ImportedPredictor

    folder = root / name
    base = ModelCard.load(folder / "fp32.card.json")
    if recipe not in GRAPH_RECIPES:
        raise refuse(recipe, name)
    samples = np.load(folder / "samples.npy") if (folder / "samples.npy").exists() else None
    labels = np.load(folder / "labels.npy") if (folder / "labels.npy").exists() else None
    if recipe in STATIC and samples is None:
        raise ImportFailure(
            f"recipe {recipe!r} calibrates on samples: {name!r} was imported without --samples; "
            f"import it again with --samples X.npy --force"
        )
    variant = recipe
    src = folder / base.artifact
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{variant}.onnx"
        with _quiet():
            try:
                if recipe in STATIC:
                    how = _static(src, out, base, samples, STATIC[recipe])
                elif recipe == "dynamic":
                    how = _dynamic(src, out)
                else:
                    how = _fp16(src, out)
            except Exception as error:  # noqa: BLE001  (ORT's quantizer raises bare exceptions)
                raise ImportFailure(f"{src}: recipe {recipe!r} failed on this graph: {error}") from None
        card = ModelCard.from_dict({**base.to_dict(), "extra": dict(base.extra)})
        card.variant, card.artifact, card.recipe = variant, f"{variant}.onnx", how
        card.bytes = out.stat().st_size
        quantized = _quantized_op_types(out) if recipe != "fp16" else set()
        card.precision = "fp16" if recipe == "fp16" else "int8"
        if recipe != "fp16":
            by_op = base.extra.get("macs_by_op", {})
            int8_macs = sum(m for op, m in by_op.items() if op in quantized)
            fp32_macs = max(base.macs - int8_macs, 0)
            card.extra["quantized_ops"] = sorted(quantized)
            if not quantized:
                raise ImportFailure(
                    f"{src}: recipe {recipe!r} quantized no operator of this graph "
                    f"(its ops: {', '.join(base.extra.get('ops', {}))}); nothing to gain"
                )
            if fp32_macs > MIXED_SHARE * base.macs:
                card.precision = "mixed"
                card.extra["macs_by_precision"] = {"int8": int8_macs, "fp32": fp32_macs}
        card.peak_activation_bytes = base.peak_activation_bytes // (2 if recipe == "fp16" else 1)
        shutil.copyfile(out, folder / card.artifact)
    try:
        after = ImportedPredictor(folder / card.artifact, card)
    except Exception as error:  # noqa: BLE001
        (folder / card.artifact).unlink(missing_ok=True)
        raise ImportFailure(
            f"{folder / card.artifact}: ONNX Runtime cannot run the {recipe} variant: {error}"
        ) from None
    before = runtime.load(name, "fp32", root)
    probe = samples if samples is not None else np.random.default_rng(0).normal(size=(64, *base.input_shape))
    probe = probe.astype(np.float32)
    reference = before.predict(probe)
    card.extra["evaluation"] = evaluate(after, probe, labels, reference)
    card.accuracy = card.extra["evaluation"]["accuracy"]
    card.per_class_accuracy = card.extra["evaluation"].get("per_class", {})
    big = 64 * base.macs > 2e9
    latency = {
        "b1": paired_latency_ms([before.predict_proba, after.predict_proba], probe, 1, 1.5),
        "b64": [0.0, 0.0]
        if big
        else paired_latency_ms([before.predict_proba, after.predict_proba], probe, 64),
    }
    card.latency_ms_b1, card.latency_ms_b64 = latency["b1"][1], latency["b64"][1]
    card.devices_fit = devices_fit(card) if devices_fit else []
    card.save(folder / f"{variant}.card.json")
    (folder / f"{variant}.compress.json").write_text(json.dumps({"recipe": recipe, "how": how}) + "\n")
    runtime.clear_cache()
    return base, card, latency
