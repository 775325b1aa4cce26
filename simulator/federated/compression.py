"""Update compression and the bytes on the wire.

Clients send deltas (trained − received weights), which are small and centred on zero.
``encode_float32`` is the uncompressed baseline; ``encode_int8`` quantizes each tensor
symmetrically to 8 bits with one float32 scale (about 4× fewer bytes). Secure aggregation
needs one fixed-point grid shared by every client (``quantize_fixed``): values clipped to
``±clip`` on ``2**bits`` levels, then packed ``bits`` at a time (``pack_bits``). Every
size reported by the app is ``len()`` of these real byte strings.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

_HEADER = struct.Struct("<4sII")  # magic, values, tensors


def encode_float32(delta: np.ndarray) -> bytes:
    """The delta as little-endian float32, with a small header."""
    values = np.ascontiguousarray(delta, dtype="<f4")
    return _HEADER.pack(b"F32 ", values.size, 1) + values.tobytes()


def decode_float32(blob: bytes) -> np.ndarray:
    magic, count, _ = _HEADER.unpack_from(blob)
    assert magic == b"F32 ", "not a float32 update"
    return np.frombuffer(blob, dtype="<f4", count=count, offset=_HEADER.size).astype(np.float32)


def encode_int8(delta: np.ndarray, sizes: Sequence[int]) -> bytes:
    """Per-tensor symmetric 8-bit quantization: for each tensor (``sizes`` split the flat
    delta) one float32 scale ``max|x| / 127`` and int8 values ``round(x / scale)``."""
    delta = np.asarray(delta, np.float32)
    assert sum(sizes) == delta.size, "tensor sizes do not cover the delta"
    bounds = np.cumsum([0, *sizes])
    scales = np.empty(len(sizes), "<f4")
    values = np.empty(delta.size, np.int8)
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        peak = float(np.abs(delta[lo:hi]).max()) if hi > lo else 0.0
        scale = peak / 127.0 if peak > 0 else 1.0
        scales[i] = scale
        values[lo:hi] = np.clip(np.rint(delta[lo:hi] / scale), -127, 127).astype(np.int8)
    return _HEADER.pack(b"INT8", delta.size, len(sizes)) + scales.tobytes() + values.tobytes()


def decode_int8(blob: bytes, sizes: Sequence[int]) -> np.ndarray:
    magic, count, tensors = _HEADER.unpack_from(blob)
    assert magic == b"INT8" and tensors == len(sizes), "not an int8 update of these tensors"
    scales = np.frombuffer(blob, "<f4", count=tensors, offset=_HEADER.size)
    values = np.frombuffer(blob, np.int8, count=count, offset=_HEADER.size + 4 * tensors)
    return (values.astype(np.float32) * np.repeat(scales, sizes)).astype(np.float32)


def quantize_fixed(values: np.ndarray, clip: float, bits: int) -> np.ndarray:
    """Offset-binary fixed point: ``values`` clipped to ``±clip``, rounded to the nearest of
    ``2**bits`` levels, as integers in ``[0, 2**bits)`` (uint64). The step is
    ``2·clip / (2**bits − 1)``, so rounding moves each value by at most half of it."""
    levels = (1 << bits) - 1
    scaled = (np.clip(values, -clip, clip) + clip) * (levels / (2.0 * clip))
    return np.rint(scaled).astype(np.uint64)


def fixed_step(clip: float, bits: int) -> float:
    """The fixed-point grid's step."""
    return 2.0 * clip / ((1 << bits) - 1)


def dequantize_sum(total: np.ndarray, count: int, clip: float, bits: int) -> np.ndarray:
    """The real-valued sum of ``count`` quantized vectors from the sum of their integers."""
    return total.astype(np.float64) * fixed_step(clip, bits) - count * clip


def pack_bits(values: np.ndarray, bits: int) -> bytes:
    """Non-negative integers below ``2**bits``, packed ``bits`` each, least significant
    bit first (value ``i`` in bits ``[i·bits, (i+1)·bits)`` of the little-endian string)."""
    values = np.asarray(values, np.uint64)
    shifts = np.arange(bits, dtype=np.uint64)
    bit_matrix = ((values[:, None] >> shifts) & np.uint64(1)).astype(np.uint8)
    return np.packbits(bit_matrix.ravel(), bitorder="little").tobytes()


def unpack_bits(blob: bytes, count: int, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`."""
    flat = np.unpackbits(np.frombuffer(blob, np.uint8), bitorder="little")[: count * bits]
    weights = np.left_shift(np.uint64(1), np.arange(bits, dtype=np.uint64))
    return (flat.reshape(count, bits).astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
