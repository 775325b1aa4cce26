"""Pruning that changes what is stored or computed, not just a mask.

* Unstructured: global magnitude pruning of Conv/Linear weights, fine-tuned with the mask held,
  then stored as CSR (values + column indices + row pointers, the smallest unsigned index type
  that fits) in a raw container with a JSON index. The bytes on the card are the file's bytes, index bytes
  included. At inference the weights are decoded back to dense: storage shrinks, compute does not.
* Structured: whole output channels of Conv (and hidden Linear) layers are removed, together with
  the matching BatchNorm entries, depthwise channels and the consumer's input columns (including
  the blocks of a Linear behind a flatten). Dependencies are found on the ``torch.fx`` graph; a
  layer whose output reaches an op we do not understand (a residual add, a concat) is left whole.
  The result is a genuinely smaller dense model; ``resize_to_state_dict`` rebuilds it from weights.
"""

from __future__ import annotations

import copy
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp
from torch.nn import functional as F

from models.compress.common import prunable_layers

# ---------------------------------------------------------------- unstructured + CSR


def magnitude_masks(model: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """Global magnitude masks: the smallest ``sparsity`` fraction of all Conv/Linear weights is zero."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    layers = prunable_layers(model)
    magnitudes = torch.cat([m.weight.detach().abs().flatten() for _, m in layers])
    k = int(round(sparsity * magnitudes.numel()))
    threshold = magnitudes.kthvalue(k).values if k > 0 else magnitudes.min() - 1
    return {name: (m.weight.detach().abs() > threshold).float() for name, m in layers}


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    modules = dict(model.named_modules())
    with torch.no_grad():
        for name, mask in masks.items():
            modules[name].weight.mul_(mask)


def weight_sparsity(model: nn.Module) -> float:
    """Fraction of exact zeros among Conv/Linear weights."""
    weights = [m.weight.detach() for _, m in prunable_layers(model)]
    total = sum(w.numel() for w in weights)
    return float(sum((w == 0).sum().item() for w in weights) / total)


def _index_dtype(max_value: int) -> np.dtype:
    for dtype in (np.uint8, np.uint16, np.uint32):
        if max_value <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


@dataclass
class CsrReport:
    """Byte accounting of one CSR file: every byte on disk is in one of these buckets."""

    value_bytes: int = 0
    index_bytes: int = 0  # column indices + row pointers
    dense_other_bytes: int = 0  # biases, BatchNorm, small tensors kept dense
    dense_equivalent_bytes: int = 0  # the same tensors stored dense fp32
    file_bytes: int = 0
    nnz: int = 0
    per_layer_sparsity: dict[str, float] = field(default_factory=dict)


_MAGIC = b"HTCSR1\n"


def _write_container(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Raw little-endian arrays behind a JSON index: no per-array padding or zip headers."""
    index, offset = [], 0
    for key, array in arrays.items():
        index.append({"key": key, "dtype": array.dtype.str, "shape": list(array.shape), "offset": offset})
        offset += array.nbytes
    header = json.dumps(index, separators=(",", ":")).encode()
    with open(path, "wb") as f:
        f.write(_MAGIC + struct.pack("<I", len(header)) + header)
        for array in arrays.values():
            f.write(np.ascontiguousarray(array).tobytes())


def _read_container(path: str | Path) -> dict[str, np.ndarray]:
    blob = Path(path).read_bytes()
    if not blob.startswith(_MAGIC):
        raise ValueError(f"{path} is not a CSR weight file")
    (header_len,) = struct.unpack_from("<I", blob, len(_MAGIC))
    start = len(_MAGIC) + 4
    index = json.loads(blob[start : start + header_len])
    data_start = start + header_len
    arrays = {}
    for entry in index:
        dtype = np.dtype(entry["dtype"])
        count = int(np.prod(entry["shape"])) if entry["shape"] else 1
        flat = np.frombuffer(blob, dtype=dtype, count=count, offset=data_start + entry["offset"])
        arrays[entry["key"]] = flat.reshape(entry["shape"]).copy()
    return arrays


def save_csr(model: nn.Module, path: str | Path) -> CsrReport:
    """Store Conv/Linear weights as CSR (rows = output channels), everything else dense."""
    report = CsrReport()
    arrays: dict[str, np.ndarray] = {}
    sparse_names = {f"{name}.weight" for name, _ in prunable_layers(model)}
    for key, tensor in model.state_dict().items():
        array = tensor.detach().cpu().numpy()
        report.dense_equivalent_bytes += array.nbytes
        if key not in sparse_names:
            arrays[f"dense::{key}"] = array
            report.dense_other_bytes += array.nbytes
            continue
        matrix = array.reshape(array.shape[0], -1)
        rows, cols = np.nonzero(matrix)
        values = matrix[rows, cols].astype(np.float32)
        col_index = cols.astype(_index_dtype(matrix.shape[1] - 1))
        row_ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=matrix.shape[0]))])
        row_ptr = row_ptr.astype(_index_dtype(len(values)))
        arrays[f"csr::{key}::values"] = values
        arrays[f"csr::{key}::cols"] = col_index
        arrays[f"csr::{key}::rowptr"] = row_ptr
        arrays[f"csr::{key}::shape"] = np.asarray(array.shape, dtype=np.int32)
        report.value_bytes += values.nbytes
        report.index_bytes += col_index.nbytes + row_ptr.nbytes
        report.nnz += len(values)
        report.per_layer_sparsity[key.removesuffix(".weight")] = 1.0 - len(values) / matrix.size
    _write_container(path, arrays)
    report.file_bytes = Path(path).stat().st_size
    return report


def load_csr_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Decode a ``save_csr`` file back to a dense state dict."""
    data = _read_container(path)
    state: dict[str, torch.Tensor] = {}
    for key, array in data.items():
        if key.startswith("dense::"):
            state[key.removeprefix("dense::")] = torch.from_numpy(array)
        elif key.endswith("::values"):
            name = key.removeprefix("csr::").removesuffix("::values")
            shape = tuple(int(s) for s in data[f"csr::{name}::shape"])
            cols = data[f"csr::{name}::cols"].astype(np.int64)
            row_ptr = data[f"csr::{name}::rowptr"].astype(np.int64)
            matrix = np.zeros((shape[0], int(np.prod(shape[1:]))), dtype=np.float32)
            matrix[np.repeat(np.arange(shape[0]), np.diff(row_ptr)), cols] = array
            state[name] = torch.from_numpy(matrix.reshape(shape))
    return state


# ---------------------------------------------------------------- structured

_ELEMENTWISE_MODULES = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Tanh,
    nn.Sigmoid,
    nn.Dropout,
    nn.Identity,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
)
_ELEMENTWISE_FUNCTIONS = {
    F.relu,
    torch.relu,
    F.relu6,
    F.gelu,
    F.silu,
    F.leaky_relu,
    F.hardswish,
    torch.tanh,
    torch.sigmoid,
    F.dropout,
    F.max_pool1d,
    F.max_pool2d,
    F.avg_pool1d,
    F.avg_pool2d,
    F.adaptive_avg_pool1d,
    F.adaptive_avg_pool2d,
    F.adaptive_max_pool1d,
    F.adaptive_max_pool2d,
}
_ELEMENTWISE_METHODS = {"relu", "sigmoid", "tanh", "contiguous"}
_REDUCE = {"mean", "amax", "sum"}


Positions = tuple[int, ...]  # where the producer's channel block starts in a tensor's channel axis


@dataclass
class _Group:
    """One prunable producer and everything that must be sliced with its output channels.

    Each dependant carries the offsets at which the producer's channels sit in the tensor it
    sees (more than one after ``torch.cat([avg(h), max(h)], 1)``), and a Linear behind a
    flatten carries the spatial block size each channel was expanded to.
    """

    producer: str
    channels: int
    batchnorms: list[tuple[str, Positions]] = field(default_factory=list)
    depthwise: list[tuple[str, Positions]] = field(default_factory=list)
    consumers: list[tuple[str, Positions, int]] = field(default_factory=list)


def _is_depthwise(module: nn.Module) -> bool:
    return (
        isinstance(module, nn.Conv1d | nn.Conv2d)
        and module.groups > 1
        and module.groups == module.in_channels == module.out_channels
    )


def _channel_preserving(node: fx.Node, modules: dict[str, nn.Module]) -> bool:
    if node.op == "call_module":
        return isinstance(modules[node.target], _ELEMENTWISE_MODULES)
    if node.op == "call_function":
        return node.target in _ELEMENTWISE_FUNCTIONS
    if node.op == "call_method":
        return node.target in _ELEMENTWISE_METHODS
    return False


def _shape(node: fx.Node) -> tuple[int, ...]:
    return tuple(node.meta["tensor_meta"].shape)


def _reduces_spatial_only(node: fx.Node) -> bool:
    """``x.mean(-1)`` and friends on (N, C, ...) keep the channel axis."""
    if node.op != "call_method" or node.target not in _REDUCE:
        return False
    dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    if dims is None:
        return False
    rank = len(_shape(node.args[0]))
    dims = [dims] if isinstance(dims, int) else list(dims)
    return all(d % rank >= 2 for d in dims)


def _is_flatten(node: fx.Node, modules: dict[str, nn.Module]) -> bool:
    if node.op == "call_module":
        module = modules[node.target]
        return isinstance(module, nn.Flatten) and module.start_dim == 1
    if (node.op == "call_function" and node.target is torch.flatten) or (
        node.op == "call_method" and node.target == "flatten"
    ):
        return (node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)) == 1
    if node.op == "call_method" and node.target in {"view", "reshape"}:
        # x.view(x.size(0), -1): keeps the channel-major order, like flatten
        return len(node.args) == 3 and node.args[2] == -1
    return False


def _is_channel_cat(node: fx.Node) -> bool:
    if node.op != "call_function" or node.target is not torch.cat:
        return False
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    return dim == 1 or (dim < 0 and dim % len(_shape(node)) == 1)


def _trace_group(
    producer: fx.Node, nodes: list[fx.Node], modules: dict[str, nn.Module], call_counts: dict[str, int]
) -> _Group | None:
    """Everything that depends on ``producer``'s channels, or None when one path is not understood.

    Walks the graph in topological order, tracking for each tensor the offsets at which the
    producer's channels appear (and the spatial block once flattened).
    """
    group = _Group(producer=producer.target, channels=_shape(producer)[1])
    carried: dict[fx.Node, tuple[Positions, int]] = {producer: ((0,), 1)}
    for node in nodes[nodes.index(producer) + 1 :]:
        inputs = [arg for arg in node.all_input_nodes if arg in carried]
        if not inputs:
            continue
        module = modules.get(node.target) if node.op == "call_module" else None
        if module is not None and call_counts[node.target] > 1:
            return None
        if _is_channel_cat(node):
            offsets, position = [], 0
            for arg in node.args[0]:
                if arg in carried:
                    if carried[arg][1] != 1:
                        return None
                    offsets.extend(position + o for o in carried[arg][0])
                position += _shape(arg)[1]
            carried[node] = (tuple(offsets), 1)
            continue
        if len(inputs) != 1 or len(node.all_input_nodes) != 1:
            return None  # mixes the producer's tensor with another (residual add, mul, ...)
        offsets, block = carried[inputs[0]]
        if block > 1:  # after a flatten only a Linear may follow
            if not isinstance(module, nn.Linear):
                return None
            group.consumers.append((node.target, offsets, block))
        elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            group.batchnorms.append((node.target, offsets))
            carried[node] = (offsets, 1)
        elif module is not None and _is_depthwise(module):
            group.depthwise.append((node.target, offsets))
            carried[node] = (offsets, 1)
        elif isinstance(module, nn.Conv1d | nn.Conv2d) and module.groups == 1:
            group.consumers.append((node.target, offsets, 1))
        elif isinstance(module, nn.Linear):
            if len(_shape(inputs[0])) != 2:
                return None
            group.consumers.append((node.target, offsets, 1))
        elif _is_flatten(node, modules):
            in_shape = _shape(inputs[0])
            carried[node] = (offsets, int(np.prod(in_shape[2:])) if len(in_shape) > 2 else 1)
        elif _channel_preserving(node, modules) or _reduces_spatial_only(node):
            carried[node] = (offsets, 1)
        else:
            return None  # output node or an op whose channel semantics we do not know
    return group if group.consumers else None


def find_prunable_groups(model: nn.Module, example_input: torch.Tensor) -> list[_Group]:
    """Producers whose output channels can be removed, with their dependants, in graph order."""
    traced = fx.symbolic_trace(model)
    ShapeProp(traced).propagate(example_input)
    modules = dict(traced.named_modules())
    nodes = list(traced.graph.nodes)
    call_counts: dict[str, int] = {}
    for node in nodes:
        if node.op == "call_module":
            call_counts[node.target] = call_counts.get(node.target, 0) + 1
    groups = []
    for node in nodes:
        if node.op != "call_module" or call_counts[node.target] > 1:
            continue
        module = modules[node.target]
        is_conv = isinstance(module, nn.Conv1d | nn.Conv2d) and module.groups == 1
        if is_conv or isinstance(module, nn.Linear):
            group = _trace_group(node, nodes, modules, call_counts)
            if group is not None:
                groups.append(group)
    return groups


def _channel_importance(model_modules: dict[str, nn.Module], group: _Group) -> torch.Tensor:
    """Norm of each output filter as seen after the first BatchNorm (its scale folded in)."""
    weight = model_modules[group.producer].weight.detach()
    importance = weight.flatten(1).norm(dim=1)
    if group.batchnorms:
        name, offsets = group.batchnorms[0]
        bn = model_modules[name]
        index = torch.arange(group.channels) + offsets[0]
        importance = importance * (
            bn.weight.detach()[index].abs() / torch.sqrt(bn.running_var[index] + bn.eps)
        )
    return importance


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    module.train(getattr(parent, child).training)
    setattr(parent, child, module)


def _kept_positions(size: int, offsets: Positions, removed: torch.Tensor, block: int = 1) -> torch.Tensor:
    """Indices to keep along an axis of ``size`` once the removed channels at ``offsets`` go."""
    gone = torch.cat([offset + removed for offset in offsets])
    if block > 1:
        gone = (gone[:, None] * block + torch.arange(block)[None, :]).flatten()
    mask = torch.ones(size, dtype=torch.bool)
    mask[gone] = False
    return mask.nonzero().flatten()


def _sliced_conv(conv: nn.Module, out_keep: torch.Tensor | None, in_keep: torch.Tensor | None) -> nn.Module:
    weight = conv.weight.detach()
    bias = conv.bias.detach() if conv.bias is not None else None
    groups = conv.groups
    if out_keep is not None:
        weight = weight[out_keep]
        bias = bias[out_keep] if bias is not None else None
    if in_keep is not None:
        weight = weight[:, in_keep]
    in_channels = weight.shape[1] * groups
    if _is_depthwise(conv):
        groups = in_channels = weight.shape[0]
    new = type(conv)(
        in_channels,
        weight.shape[0],
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=groups,
        bias=bias is not None,
        padding_mode=conv.padding_mode,
    )
    new.weight = nn.Parameter(weight.clone())
    if bias is not None:
        new.bias = nn.Parameter(bias.clone())
    return new


def _sliced_linear(
    linear: nn.Linear, out_keep: torch.Tensor | None, in_cols: torch.Tensor | None
) -> nn.Linear:
    weight = linear.weight.detach()
    bias = linear.bias.detach() if linear.bias is not None else None
    if out_keep is not None:
        weight, bias = weight[out_keep], (bias[out_keep] if bias is not None else None)
    if in_cols is not None:
        weight = weight[:, in_cols]
    new = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    new.weight = nn.Parameter(weight.clone())
    if bias is not None:
        new.bias = nn.Parameter(bias.clone())
    return new


def _sliced_batchnorm(bn: nn.Module, keep: torch.Tensor) -> nn.Module:
    new = type(bn)(len(keep), eps=bn.eps, momentum=bn.momentum, affine=bn.affine)
    with torch.no_grad():
        if bn.affine:
            new.weight.copy_(bn.weight[keep])
            new.bias.copy_(bn.bias[keep])
        new.running_mean.copy_(bn.running_mean[keep])
        new.running_var.copy_(bn.running_var[keep])
        new.num_batches_tracked.copy_(bn.num_batches_tracked)
    return new


def _prune_group(model: nn.Module, group: _Group, keep: torch.Tensor) -> None:
    modules = dict(model.named_modules())
    removed = torch.tensor(sorted(set(range(group.channels)) - set(keep.tolist())), dtype=torch.long)
    producer = modules[group.producer]
    if isinstance(producer, nn.Linear):
        _set_module(model, group.producer, _sliced_linear(producer, keep, None))
    else:
        _set_module(model, group.producer, _sliced_conv(producer, keep, None))
    for name, offsets in group.batchnorms:
        bn = modules[name]
        _set_module(model, name, _sliced_batchnorm(bn, _kept_positions(bn.num_features, offsets, removed)))
    for name, offsets in group.depthwise:
        conv = modules[name]
        _set_module(
            model, name, _sliced_conv(conv, _kept_positions(conv.out_channels, offsets, removed), None)
        )
    for name, offsets, block in group.consumers:
        consumer = modules[name]
        if isinstance(consumer, nn.Linear):
            cols = _kept_positions(consumer.in_features, offsets, removed, block)
            _set_module(model, name, _sliced_linear(consumer, None, cols))
        else:
            _set_module(
                model,
                name,
                _sliced_conv(consumer, None, _kept_positions(consumer.in_channels, offsets, removed)),
            )


def structured_prune(
    model: nn.Module, example_input: torch.Tensor, amount: float, *, random_keep: bool = False
) -> tuple[nn.Module, dict[str, tuple[int, int]]]:
    """A copy of ``model`` with ``amount`` of the channels of every prunable layer removed.

    Channels with the smallest BN-scaled filter norm go (``random_keep`` picks at random, for
    building thin students). The graph is re-traced after each layer so offsets stay right.
    Returns the model and ``{layer: (channels_before, channels_after)}``.
    """
    if not 0.0 <= amount < 1.0:
        raise ValueError(f"amount must be in [0, 1), got {amount}")
    model = copy.deepcopy(model).eval()
    plan: dict[str, tuple[int, int]] = {}
    generator = torch.Generator().manual_seed(0)
    while True:
        pending = [g for g in find_prunable_groups(model, example_input) if g.producer not in plan]
        if not pending:
            return model, plan
        group = pending[0]
        n_keep = max(1, int(round(group.channels * (1.0 - amount))))
        plan[group.producer] = (group.channels, n_keep)
        if n_keep == group.channels:
            continue
        if random_keep:
            keep = torch.randperm(group.channels, generator=generator)[:n_keep].sort().values
        else:
            keep = _channel_importance(dict(model.named_modules()), group).topk(n_keep).indices.sort().values
        _prune_group(model, group, keep)


def resize_to_state_dict(model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """Shrink the layers of a freshly built ``model`` to the shapes in ``state``, then load it.

    This is how a structurally pruned (or thinned) variant is loaded: the architecture code is
    the zoo's, the widths come from the stored weights.
    """
    for name, module in list(model.named_modules()):
        key = f"{name}.weight"
        if key not in state:
            continue
        shape = tuple(state[key].shape)
        if isinstance(module, nn.Conv1d | nn.Conv2d) and tuple(module.weight.shape) != shape:
            depthwise = _is_depthwise(module)
            groups = shape[0] if depthwise else module.groups
            new = type(module)(
                shape[1] * groups,
                shape[0],
                module.kernel_size,
                stride=module.stride,
                padding=module.padding,
                dilation=module.dilation,
                groups=groups,
                bias=module.bias is not None,
                padding_mode=module.padding_mode,
            )
            _set_module(model, name, new)
        elif isinstance(module, nn.Linear) and tuple(module.weight.shape) != shape:
            _set_module(model, name, nn.Linear(shape[1], shape[0], bias=module.bias is not None))
        elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d) and module.num_features != shape[0]:
            _set_module(model, name, type(module)(shape[0], eps=module.eps, momentum=module.momentum))
    model.load_state_dict(state)
    return model.eval()


def channel_widths(model: nn.Module) -> dict[str, int]:
    """Output channels of each Conv/Linear layer (what structured pruning changes)."""
    return {name: int(m.weight.shape[0]) for name, m in prunable_layers(model)}


__all__ = [
    "CsrReport",
    "apply_masks",
    "channel_widths",
    "find_prunable_groups",
    "load_csr_state_dict",
    "magnitude_masks",
    "prunable_layers",
    "resize_to_state_dict",
    "save_csr",
    "structured_prune",
    "weight_sparsity",
]
