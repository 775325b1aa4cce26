"""Read per-layer facts back from an ONNX artifact (what the file holds, not what we meant).

ONNX nodes are matched to torch layers by order: the weighted nodes of an exported chain
appear in the graph in the order the Conv/Linear modules execute (pass that order as
``layer_order``). Without it, a layer is named by its weight initializer, which the exporter
takes from the module path unless an optimisation pass (BN folding) renamed it.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto

WEIGHTED_OPS = {"Conv", "Gemm", "MatMul", "ConvInteger", "MatMulInteger", "QLinearConv", "QLinearMatMul"}
_PRECISION = {
    TensorProto.FLOAT: "fp32",
    TensorProto.FLOAT16: "fp16",
    TensorProto.INT8: "int8",
    TensorProto.UINT8: "int8",
}


def _layer_name(weight: str) -> str:
    return weight.removesuffix(".weight").removesuffix("_quantized").removesuffix(".weight")


def _named(pairs: list[tuple[str, str]], layer_order: list[str] | None) -> list[tuple[str, str]]:
    """Replace the fallback names by ``layer_order`` when it lines up one to one."""
    if layer_order is not None and len(layer_order) == len(pairs):
        return [(layer, value) for layer, (_, value) in zip(layer_order, pairs, strict=True)]
    return pairs


def weighted_nodes(path: str | Path, layer_order: list[str] | None = None) -> dict[str, str]:
    """``{onnx node name: layer name}`` for the FP32 Conv/Gemm/MatMul nodes of a graph."""
    graph = onnx.load(str(path), load_external_data=False).graph
    initializers = {init.name for init in graph.initializer}
    pairs = [
        (_layer_name(node.input[1]), node.name)
        for node in graph.node
        if node.op_type in {"Conv", "Gemm", "MatMul"}
        and len(node.input) > 1
        and node.input[1] in initializers
    ]
    return {node: layer for layer, node in _named(pairs, layer_order)}


def layer_precisions(path: str | Path, layer_order: list[str] | None = None) -> dict[str, str]:
    """``{layer: "int8" | "fp16" | "fp32"}`` read from the weights each weighted node consumes.

    Handles QDQ graphs (weight → DequantizeLinear → Conv), operator-style dynamic graphs
    (ConvInteger/MatMulInteger) and plain float graphs.
    """
    graph = onnx.load(str(path), load_external_data=False).graph
    initializers = {init.name: init for init in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    pairs: list[tuple[str, str]] = []
    for node in graph.node:
        if node.op_type not in WEIGHTED_OPS:
            continue
        weight_input = node.input[3] if node.op_type in {"QLinearConv", "QLinearMatMul"} else node.input[1]
        source = weight_input
        producer = producers.get(source)
        while producer is not None and producer.op_type in {
            "DequantizeLinear",
            "Transpose",
            "Reshape",
            "Cast",
        }:
            if producer.op_type == "DequantizeLinear" and producer.input[0] in initializers:
                source = producer.input[0]
                break
            source = producer.input[0]
            producer = producers.get(source)
        if source not in initializers:
            continue
        layer = _layer_name(weight_input if weight_input in initializers else source)
        pairs.append((layer, _PRECISION.get(initializers[source].data_type, "fp32")))
    return dict(_named(pairs, layer_order))


def dominant_precision(precisions: dict[str, str]) -> str:
    """``int8``/``fp16``/``fp32`` when all weighted layers agree, else ``mixed``."""
    kinds = set(precisions.values())
    return kinds.pop() if len(kinds) == 1 else "mixed"


def strip_export_metadata(path: str | Path) -> None:
    """Drop what only the exporter's debugging needs (export signature, per-node stack traces, doc
    strings, stale shape annotations): bytes the runtime never reads but a device would store."""
    model = onnx.load(str(path))
    del model.metadata_props[:]
    del model.graph.metadata_props[:]
    del model.graph.value_info[:]
    model.doc_string = model.graph.doc_string = ""
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    onnx.save(model, str(path))
