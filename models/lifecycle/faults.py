"""Faults in a stored model's bytes: random bit flips, a corrupted download, targeted flips.

- :func:`flip_random`: each bit of the weight tensors flips with probability ``rate``
  (soft errors, worn flash cells).
- :func:`corrupt_download`: a span of the file's bytes arrives garbled (a transfer that the
  link layer's CRC let through, a truncated write).
- :func:`flip_targeted`: the bit-flip attack's first-order choice (Rakin et al., "Bit-Flip
  Attack", ICCV 2019): for each weight, flipping its most significant bit (the sign bit of
  an INT8 weight; the exponent's MSB of an FP32 one) changes the loss by about
  ``gradient × change``; the ``n_bits`` flips with the largest increase are made. The
  gradient is the loss's on the wearer's windows, through the stored model itself.
"""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn
from torch.nn import functional as F

from models.lifecycle.artifact import COMPUTE_OPS, StoredModel

INT8 = onnx.TensorProto.INT8
FLOAT = onnx.TensorProto.FLOAT


def _weight_tensors(model: onnx.ModelProto) -> list[onnx.TensorProto]:
    """Weight and bias tensors (INT8 or FP32 arrays with more than one value)."""
    return [t for t in model.graph.initializer if t.data_type in (INT8, FLOAT) and np.prod(t.dims) > 1]


def flip_random(stored: StoredModel, rate: float, rng: np.random.Generator) -> tuple[StoredModel, int]:
    """Each bit of every weight tensor flips with probability ``rate``; (model, flips)."""
    model = onnx.load_from_string(stored.data)
    flips = 0
    for tensor in _weight_tensors(model):
        raw = np.frombuffer(numpy_helper.to_array(tensor).tobytes(), np.uint8).copy()
        n = int(rng.binomial(raw.size * 8, rate))
        if n:
            positions = rng.choice(raw.size * 8, size=n, replace=False)
            np.bitwise_xor.at(raw, positions // 8, (1 << (positions % 8)).astype(np.uint8))
            array = np.frombuffer(raw.tobytes(), numpy_helper.to_array(tensor).dtype).reshape(tensor.dims)
            tensor.CopyFrom(numpy_helper.from_array(array, tensor.name))
            flips += n
    return stored.with_data(model.SerializeToString()), flips


def corrupt_download(stored: StoredModel, rng: np.random.Generator, span_bytes: int = 64) -> StoredModel:
    """The file with ``span_bytes`` consecutive bytes replaced by random ones."""
    data = bytearray(stored.data)
    start = int(rng.integers(0, max(len(data) - span_bytes, 1)))
    data[start : start + span_bytes] = rng.integers(
        0, 256, min(span_bytes, len(data) - start), np.uint8
    ).tobytes()
    return stored.with_data(bytes(data))


def _weight_gradients(stored: StoredModel, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    module = stored.to_module()
    layers = [m for m in module.modules() if isinstance(m, nn.Conv1d | nn.Linear)]
    loss = F.cross_entropy(module(torch.from_numpy(x)), torch.from_numpy(y))
    grads = torch.autograd.grad(loss, [layer.weight for layer in layers])
    return [g.detach().numpy() for g in grads]


def _best_flip(stored: StoredModel, x: np.ndarray, y: np.ndarray) -> tuple[str, int] | None:
    model = onnx.load_from_string(stored.data)
    init = {t.name: t for t in model.graph.initializer}
    produced = {n.output[0]: n for n in model.graph.node}
    compute = [n for n in model.graph.node if n.op_type in COMPUTE_OPS]
    best: tuple[float, str, int] | None = None
    for node, grad in zip(compute, _weight_gradients(stored, x, y), strict=True):
        name = node.input[1]
        if name in init:  # FP32 weight: the exponent's MSB multiplies |w| by 2**128 (or divides)
            w = numpy_helper.to_array(init[name]).astype(np.float64).ravel()
            change = np.where(np.abs(w) < 2.0, w * 2.0**128, -w)
        else:  # INT8 weight behind a DequantizeLinear: the sign bit moves it by ±128 steps
            dq = produced[name]
            name = dq.input[0]
            q = numpy_helper.to_array(init[name]).astype(np.float64)
            scale = numpy_helper.to_array(init[dq.input[1]]).astype(np.float64)
            shape = [-1] + [1] * (q.ndim - 1) if scale.ndim else []
            change = (np.where(q >= 0, -128.0, 128.0) * np.reshape(scale, shape)).ravel()
        gain = np.nan_to_num(grad.astype(np.float64).ravel() * change, posinf=1e300)
        index = int(np.argmax(gain))
        if gain[index] > 0 and (best is None or gain[index] > best[0]):
            best = (float(gain[index]), name, index)
    return None if best is None else best[1:]


def flip_targeted(stored: StoredModel, n_bits: int, x: np.ndarray, y: np.ndarray) -> tuple[StoredModel, int]:
    """``n_bits`` most-significant-bit flips, each the one that raises the loss most at
    first order given the flips before it (the attack's progressive bit search)."""
    flips = 0
    for _ in range(n_bits):
        choice = _best_flip(stored, x, y)
        if choice is None:
            break
        name, index = choice
        model = onnx.load_from_string(stored.data)
        tensor = next(t for t in model.graph.initializer if t.name == name)
        array = numpy_helper.to_array(tensor).copy()
        flat = array.reshape(-1).view(np.uint8 if array.dtype == np.int8 else np.uint32)
        flat[index] ^= np.uint8(0x80) if array.dtype == np.int8 else np.uint32(1 << 30)
        tensor.CopyFrom(numpy_helper.from_array(array, name))
        stored = stored.with_data(model.SerializeToString())
        flips += 1
    return stored, flips
