"""Parameters, MACs and activation bytes of a graph, layer by layer, counted by onnx-tool.

onnx-tool (``onnx_tool.Model(...).graph.profile()``) carries a profiler per ONNX operator
(convolutions, matmuls, recurrent cells, element-wise ops, ...); we only add up what it
reports. A node whose operator it has no profiler for counts 0 MACs: such operators are
listed in ``uncounted_ops`` so the card says what it does not cover.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from models.importer.graph import ImportFailure, _quiet


@dataclass
class Layer:
    """One node: its operator, MACs, parameters and the bytes of the activations it writes."""

    name: str
    op: str
    macs: int
    params: int
    activation_bytes: int
    output_shape: list[int]


@dataclass
class Count:
    params: int
    macs: int
    peak_activation_bytes: int  # largest (activation inputs + outputs) of one node, one sample
    activation_bytes: int  # every node's outputs, one sample
    ops: dict[str, int]  # op type -> nodes
    macs_by_op: dict[str, int]
    uncounted_ops: list[str]
    layers: list[Layer] = field(default_factory=list)


def count(path: Path, model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> Count:
    """Profile ``model`` (the counting graph: batch 1, shapes fixed) on inputs shaped like ``feeds``."""
    import onnx_tool
    from onnx_tool.utils import NODE_REGISTRY

    try:
        with _quiet(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = onnx_tool.Model(model).graph
            graph.shape_infer({k: v for k, v in feeds.items()})
            graph.profile()
    except Exception as error:  # noqa: BLE001  (onnx-tool raises bare exceptions per op)
        raise ImportFailure(f"{path}: onnx-tool cannot count the graph: {error}") from None
    if not graph.valid_profile:
        raise ImportFailure(f"{path}: onnx-tool could not profile the graph (shapes not fixed)")
    initials = set(graph.initials)
    layers, ops, macs_by_op, uncounted = [], {}, {}, set()
    peak = 0
    for name, node in graph.nodemap.items():
        if node.op_type == "Constant":
            continue
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
        macs = int(round(node.macs[0]))
        macs_by_op[node.op_type] = macs_by_op.get(node.op_type, 0) + macs
        if NODE_REGISTRY.get(node.op_type + "Node") is None:
            uncounted.add(node.op_type)
        written = sum(int(graph.tensormap[o].get_memsize()) for o in node.output)
        read = sum(int(graph.tensormap[i].get_memsize()) for i in node.input if i and i not in initials)
        peak = max(peak, read + written)
        shape = graph.tensormap[node.output[0]].get_shape() if node.output else []
        layers.append(Layer(name, node.op_type, macs, int(node.params), written, [int(d) for d in shape]))
    return Count(
        params=int(graph.params),
        macs=int(round(graph.macs[0])),
        peak_activation_bytes=int(peak),
        activation_bytes=int(sum(layer.activation_bytes for layer in layers)),
        ops=dict(sorted(ops.items())),
        macs_by_op=dict(sorted(macs_by_op.items(), key=lambda kv: -kv[1])),
        uncounted_ops=sorted(uncounted),
        layers=layers,
    )
