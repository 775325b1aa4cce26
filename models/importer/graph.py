"""Read, check and clean a user's ONNX graph; every refusal names the file and the node or field.

Cleaning is done by the libraries made for it: ``onnx_ir``'s passes drop initializers that
old exporters also list as graph inputs and lift weights held by ``Constant`` nodes into
initializers (so they count as parameters), ``onnxscript``'s optimizer folds constants and
inlines functions, ``onnx``'s shape inference (strict, with data propagation) fixes every
tensor's shape, ONNX Runtime proves the graph runs. Two graphs come out:

* the **stored** graph: one data input ``(batch, *input_shape)`` with a symbolic batch (or a
  fixed batch of 1 when the graph cannot take more), inputs the user fixed (``--fix sr=16000``)
  folded in as constants, other float inputs (recurrent state) fed zeros at run time;
* the **counting** graph: batch 1, every ``Shape``/``Size`` replaced by its value for that
  input and folded again, so branches that depend on shapes (``If``) disappear and a counter
  sees plain operators.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnx_ir as ir
from google.protobuf.message import DecodeError
from onnx import TensorProto, numpy_helper
from onnx_ir.passes import common as passes

# Shape-preserving ops between a classifier's squashing op and its output.
_PASS_THROUGH = {"Identity", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Transpose", "ReduceMean", "Cast"}
FLOAT_TYPES = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16, TensorProto.DOUBLE: np.float64}
BATCH = "batch"


class ImportFailure(ValueError):
    """A user's model or data the importer refuses; the message names the file and the node or field."""


@dataclass
class AuxInput:
    """A graph input other than the data input, fed zeros at run time (``batch`` → N)."""

    name: str
    shape: list[int | str]
    dtype: str

    def zeros(self, n: int) -> np.ndarray:
        return np.zeros([n if d == BATCH else d for d in self.shape], self.dtype)


@dataclass
class Prepared:
    """A cleaned graph ready to store and count (see module docstring)."""

    stored: onnx.ModelProto
    counting: onnx.ModelProto
    input_name: str
    input_shape: list[int]  # one sample, no batch
    aux_inputs: list[AuxInput]
    output_name: str
    output_kind: str  # "sigmoid", "softmax", "log_softmax" or "logits"
    n_outputs: int  # values per sample of the first output
    batch: str  # "dynamic" or "1"
    opset: int
    producer: str
    notes: list[str] = field(default_factory=list)

    def feeds(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """ORT feeds for a batch of data ``x``: the data input plus zeros for the others."""
        return {self.input_name: x, **{a.name: a.zeros(len(x)) for a in self.aux_inputs}}


def _dims(value: onnx.ValueInfoProto) -> list[int | str]:
    return [
        d.dim_param or (d.dim_value if d.HasField("dim_value") else "?")
        for d in value.type.tensor_type.shape.dim
    ]


def _dtype_name(elem_type: int) -> str:
    return onnx.helper.tensor_dtype_to_np_dtype(elem_type).name if elem_type else "undefined"


def read(path: Path) -> onnx.ModelProto:
    """The parsed model; ImportFailure for a missing, empty, non-ONNX or truncated file."""
    if not path.is_file():
        raise ImportFailure(f"{path}: no such file")
    data = path.read_bytes()
    if not data:
        raise ImportFailure(f"{path}: empty file, expected an ONNX model")
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, RuntimeError, ValueError) as error:
        # An ONNX file starts with field 1 (ir_version, a varint): tag byte 0x08.
        kind = "truncated or corrupt ONNX file" if data[:1] == b"\x08" else "not an ONNX file"
        raise ImportFailure(f"{path}: {kind} (protobuf parse failed: {error})") from None
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise ImportFailure(f"{path}: not an ONNX model (no ir_version or no graph nodes)")
    if model.graph.initializer and any(
        t.data_location == TensorProto.EXTERNAL for t in model.graph.initializer
    ):
        try:
            onnx.load_external_data_for_model(model, str(path.parent))
        except (OSError, ValueError) as error:
            raise ImportFailure(f"{path}: external weight data not found beside the file ({error})") from None
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as error:
        first = str(error).strip().splitlines()[0]
        raise ImportFailure(f"{path}: the ONNX checker refused the graph: {first}") from None
    return model


def _opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _unknown_domains(path: Path, model: onnx.ModelProto) -> None:
    """Nodes of a custom domain (the checker skips them; ORT's error would be vaguer)."""
    import onnxruntime  # noqa: F401  (the domains it knows ship with it)

    known = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft", "ai.onnx.preview.training"}
    for node in model.graph.node:
        if node.domain not in known:
            raise ImportFailure(
                f"{path}: node {node.name or '(unnamed)'!r} is op {node.domain}:{node.op_type}, "
                f"which ONNX Runtime cannot run (no kernel for domain {node.domain!r})"
            )


def _fold_input(graph: onnx.GraphProto, value: onnx.ValueInfoProto, fill: float, path: Path) -> str:
    dims = _dims(value)
    if any(not isinstance(d, int) for d in dims):
        raise ImportFailure(
            f"{path}: --fix {value.name}: the input's shape {dims} is not fixed, so it cannot be a constant"
        )
    dtype = onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
    graph.initializer.append(numpy_helper.from_array(np.full(dims, fill, dtype), value.name))
    graph.input.remove(value)
    return f"input {value.name!r} fixed to {fill:g}"


def _resolve_shape(
    path: Path,
    value: onnx.ValueInfoProto,
    input_shape: list[int] | None,
    sample_shape: list[int] | None,
    samples_label: str = "--samples",
) -> tuple[int | str, list[int]]:
    """(batch dim as written, one sample's shape) of the data input, from the graph, the
    ``--input-shape`` or the samples; ImportFailure naming the dimension it cannot fix."""
    dims = _dims(value)
    if len(dims) < 2:
        raise ImportFailure(
            f"{path}: input {value.name!r} has shape {dims}: expected (batch, ...) with at least one data dimension"
        )
    batch, rest = dims[0], dims[1:]
    given, source = (input_shape, "--input-shape") if input_shape else (sample_shape, samples_label)
    if given is not None:
        if len(given) != len(rest):
            raise ImportFailure(
                f"{path}: input {value.name!r} has {len(rest)} data dimension(s) {rest} after the batch; "
                f"{source} gives {len(given)}: {given}"
            )
        for i, (d, g) in enumerate(zip(rest, given, strict=True)):
            if isinstance(d, int) and d > 0 and d != g:
                raise ImportFailure(
                    f"{path}: input {value.name!r} dimension {i + 1} is fixed at {d} in the graph; {source} gives {g}"
                )
        return batch, list(given)
    unknown = [(i + 1, d) for i, d in enumerate(rest) if not isinstance(d, int) or d <= 0]
    if unknown:
        i, d = unknown[0]
        raise ImportFailure(
            f"{path}: input {value.name!r} dimension {i} ({d!r}) is symbolic: give one sample's shape "
            f"with --input-shape (e.g. --input-shape {','.join(str(x) if isinstance(x, int) else 'N' for x in rest)}) "
            f"or --samples"
        )
    return batch, [int(d) for d in rest]


def _set_dims(value: onnx.ValueInfoProto, dims: list[int | str]) -> None:
    shape = value.type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        dim = shape.dim.add()
        if isinstance(d, str):
            dim.dim_param = d
        else:
            dim.dim_value = d


def _optimize(model: onnx.ModelProto, path: Path, step: str) -> onnx.ModelProto:
    """Constant folding (onnxscript), weights out of Constant nodes, strict shape inference."""
    import onnxscript.optimizer

    try:
        with _quiet():
            ir_model = ir.from_proto(model)
            ir_model = passes.RemoveInitializersFromInputsPass()(ir_model).model
            onnxscript.optimizer.optimize(ir_model)
            # size_limit: constants of 16+ values are weights; smaller ones stay as attributes.
            ir_model = passes.LiftConstantsToInitializersPass(lift_all_constants=False, size_limit=16)(
                ir_model
            ).model
            ir_model = passes.RemoveUnusedNodesPass()(ir_model).model
            cleaned = ir.to_proto(ir_model)
    except Exception as error:  # noqa: BLE001  (the optimizer raises many kinds; name the step)
        raise ImportFailure(f"{path}: {step}: the graph optimizer failed: {error}") from None
    del cleaned.graph.value_info[:]
    try:
        return onnx.shape_inference.infer_shapes(cleaned, strict_mode=True, data_prop=True)
    except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as error:
        first = str(error).strip().splitlines()[0]
        raise ImportFailure(f"{path}: {step}: shapes cannot be fixed: {first}") from None


@contextlib.contextmanager
def _quiet():
    previous = logging.root.level
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.disable(logging.NOTSET)
        logging.root.setLevel(previous)


def session(model: onnx.ModelProto | bytes | str):
    """An ONNX Runtime CPU session, one thread, quiet."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


_NODE = re.compile(r"node (?:with name )?'?([^'\s]+)'?|Node \(([^)]+)\)|node: ?([^\s,]+)", re.IGNORECASE)


def _runtime_error(path: Path, error: Exception, what: str) -> ImportFailure:
    text = str(error).strip().replace("\n", " ")
    match = _NODE.search(text)
    node = next((g for g in match.groups() if g), None) if match else None
    where = f"node {node!r}: " if node else ""
    return ImportFailure(f"{path}: {where}ONNX Runtime cannot {what}: {text[:400]}")


def _output_kind(graph: onnx.GraphProto, output: str) -> str:
    producer = {o: n for n in graph.node for o in n.output}
    node = producer.get(output)
    while node is not None and node.op_type in _PASS_THROUGH:
        node = producer.get(node.input[0])
    kinds = {"Sigmoid": "sigmoid", "Softmax": "softmax", "LogSoftmax": "log_softmax"}
    return kinds.get(node.op_type, "logits") if node is not None else "logits"


def _specialize(model: onnx.ModelProto, feeds: dict[str, np.ndarray], path: Path) -> onnx.ModelProto:
    """The graph for exactly these input shapes: ``Shape``/``Size`` outputs become constants."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    names = [o for n in probe.graph.node if n.op_type in ("Shape", "Size") for o in n.output]
    if not names:
        return _optimize(probe, path, "specializing to batch 1")
    for name in names:
        probe.graph.output.append(onnx.ValueInfoProto(name=name))
    try:
        values = session(probe).run(names, feeds)
    except Exception as error:  # noqa: BLE001
        raise _runtime_error(path, error, "evaluate the graph's shapes at batch 1") from None
    kept = [n for n in model.graph.node if n.op_type not in ("Shape", "Size")]
    specialized = onnx.ModelProto()
    specialized.CopyFrom(model)
    del specialized.graph.node[:]
    specialized.graph.node.extend(kept)
    specialized.graph.initializer.extend(
        numpy_helper.from_array(v, n) for n, v in zip(names, values, strict=True)
    )
    return _optimize(specialized, path, "specializing to batch 1")


def prepare(
    path: Path,
    model: onnx.ModelProto,
    input_name: str | None = None,
    input_shape: list[int] | None = None,
    fixed: dict[str, float] | None = None,
    sample_shape: list[int] | None = None,
    samples_label: str = "--samples",
) -> Prepared:
    """Check and clean ``model`` (read from ``path``) into a :class:`Prepared` (module docstring);
    ``samples_label`` names where ``sample_shape`` came from in error messages."""
    fixed = dict(fixed or {})
    notes: list[str] = []
    _unknown_domains(path, model)
    work = onnx.ModelProto()
    work.CopyFrom(model)
    graph = work.graph
    initializer_names = {t.name for t in graph.initializer}
    listed = [v for v in graph.input if v.name in initializer_names]
    if listed:
        notes.append(f"{len(listed)} initializers also listed as graph inputs: dropped from the inputs")
        for v in listed:
            graph.input.remove(v)
    inputs = {v.name: v for v in graph.input}
    for name in fixed:
        if name not in inputs:
            raise ImportFailure(
                f"{path}: --fix {name}: the graph has no input {name!r} (inputs: {', '.join(inputs)})"
            )
    for name, fill in fixed.items():
        notes.append(_fold_input(graph, inputs.pop(name), fill, path))
    floats = [v for v in inputs.values() if v.type.tensor_type.elem_type in FLOAT_TYPES]
    if input_name is not None and input_name not in inputs:
        raise ImportFailure(f"{path}: --input {input_name}: the graph has no input {input_name!r}")
    if input_name is None:
        if not floats:
            raise ImportFailure(
                f"{path}: no float input to feed data to (inputs: {', '.join(inputs) or 'none'})"
            )
        input_name = floats[0].name
    data = inputs.pop(input_name)
    if data.type.tensor_type.elem_type != TensorProto.FLOAT:
        raise ImportFailure(
            f"{path}: input {input_name!r} is {_dtype_name(data.type.tensor_type.elem_type)}: expected float32 data"
        )
    batch, shape = _resolve_shape(path, data, input_shape, sample_shape, samples_label)
    if isinstance(batch, int) and batch > 1:
        raise ImportFailure(
            f"{path}: input {input_name!r} has a fixed batch of {batch}: export with a batch of 1 or a dynamic one"
        )
    batch_param = batch if isinstance(batch, str) and batch else BATCH
    aux: list[AuxInput] = []
    for value in inputs.values():
        elem = value.type.tensor_type.elem_type
        dims = _dims(value)
        if elem not in FLOAT_TYPES:
            raise ImportFailure(
                f"{path}: input {value.name!r} ({_dtype_name(elem)}, shape {dims}) is not the data input and "
                f"has no value: give one with --fix {value.name}=VALUE"
            )
        aux_dims: list[int | str] = []
        for i, d in enumerate(dims):
            if d == batch_param or (d == batch and isinstance(d, int)):
                aux_dims.append(BATCH)
            elif isinstance(d, int) and d > 0:
                aux_dims.append(d)
            else:
                raise ImportFailure(
                    f"{path}: input {value.name!r} dimension {i} ({d!r}) is symbolic and not the batch: "
                    f"fix the input with --fix {value.name}=VALUE or export it with a fixed shape"
                )
        aux.append(AuxInput(value.name, aux_dims, np.dtype(FLOAT_TYPES[elem]).name))
        _set_dims(value, [batch_param if d == BATCH else d for d in aux_dims])
        notes.append(f"input {value.name!r} {aux_dims} fed zeros at run time")
    _set_dims(data, [batch_param, *shape])
    for output in graph.output:  # stale exporter shapes would fight the fixed input
        output.type.tensor_type.ClearField("shape")
    stored = _optimize(work, path, "cleaning")
    prepared = Prepared(
        stored=stored,
        counting=stored,
        input_name=input_name,
        input_shape=shape,
        aux_inputs=aux,
        output_name=stored.graph.output[0].name,
        output_kind=_output_kind(stored.graph, stored.graph.output[0].name),
        n_outputs=0,
        batch="dynamic",
        opset=_opset(model),
        producer=f"{model.producer_name} {model.producer_version}".strip() or "unknown",
        notes=notes,
    )
    _check_runs(path, prepared, batch)
    one = prepared.feeds(np.zeros((1, *shape), np.float32))
    counting = onnx.ModelProto()
    counting.CopyFrom(prepared.stored)
    for value in counting.graph.input:
        _set_dims(value, list(one[value.name].shape))
    for output in counting.graph.output:
        output.type.tensor_type.ClearField("shape")
    del counting.graph.value_info[:]
    prepared.counting = _specialize(counting, one, path)
    return prepared


def _check_runs(path: Path, prepared: Prepared, batch: int | str) -> None:
    """Run the stored graph at batch 1 and 2; fall back to a fixed batch of 1 if it must."""
    try:
        run = session(prepared.stored)
    except Exception as error:  # noqa: BLE001  (ORT raises its own exception types)
        raise _runtime_error(path, error, "load the graph") from None
    x = np.zeros((1, *prepared.input_shape), np.float32)
    try:
        out = run.run([prepared.output_name], prepared.feeds(x))[0]
    except Exception as error:  # noqa: BLE001
        raise _runtime_error(path, error, f"run the graph on one input of shape {list(x.shape)}") from None
    out = np.asarray(out)
    if out.ndim == 0 or out.shape[0] != 1 or not np.issubdtype(out.dtype, np.floating):
        raise ImportFailure(
            f"{path}: output {prepared.output_name!r} is {out.dtype} {list(out.shape)} for one input: "
            f"expected float scores (batch, classes)"
        )
    prepared.n_outputs = int(np.prod(out.shape[1:])) if out.ndim > 1 else 1
    try:
        two = run.run(
            [prepared.output_name], prepared.feeds(np.zeros((2, *prepared.input_shape), np.float32))
        )[0]
        batched = np.asarray(two).shape[0] == 2
    except Exception:  # noqa: BLE001  (a graph written for one sample fails here: fine, run it per sample)
        batched = False
    if not batched:
        prepared.batch = "1"
        shapes = {a.name: [1 if d == BATCH else d for d in a.shape] for a in prepared.aux_inputs}
        shapes[prepared.input_name] = [1, *prepared.input_shape]
        for value in prepared.stored.graph.input:
            _set_dims(value, shapes[value.name])
        prepared.notes.append(
            "the graph takes one sample per call (batch 2 failed"
            + (f", batch written as {batch!r})" if batch else ")")
        )
