"""Tensors as goldens hold them, shared by the case generator and the capture of your own models."""

from __future__ import annotations

import hashlib
import math

import torch


class NonFiniteTensor(ValueError):
    """A tensor with NaN or ±Inf, which a golden cannot hold (JSON has no literal for them)."""


def encode_tensor(t: torch.Tensor) -> dict:
    """A tensor as {dtype, shape, sha256, data}. Python's float repr is the shortest decimal that
    parses back to the same binary64, and every float32 is exactly a binary64, so `data` survives
    JSON bit-exactly; sha256 over the little-endian bytes lets the loader prove it did."""
    t = t.detach().contiguous()
    array = t.numpy()
    if t.dtype == torch.int64:
        dtype, data = "int64", [int(v) for v in array.reshape(-1)]
        raw = array.astype("<i8").tobytes()
    else:
        dtype = {torch.float32: "float32", torch.float64: "float64"}[t.dtype]
        data = [float(v) for v in array.reshape(-1)]
        raw = array.astype("<f4" if dtype == "float32" else "<f8").tobytes()
        if not all(math.isfinite(v) for v in data):
            raise NonFiniteTensor(f"non-finite value in a {dtype} tensor of shape {list(t.shape)}")
    return {"dtype": dtype, "shape": list(t.shape), "sha256": hashlib.sha256(raw).hexdigest(), "data": data}
