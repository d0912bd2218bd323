"""Dequantized GEMM against float64 mathematics: the reference, the error measure and the bound.

The issue's bound is stated per output element, relative to the magnitude of its terms::

    |y - y_ref| <= bound * sum_k |s * (w - z) * x|

with ``bound`` = 2^-16 for integer activations and 2^-9 for fp16 / bf16 ones. The tests and
``bench/dequant_bench.py`` both measure against this module, so there is one definition.
"""

import ml_dtypes
import numpy as np

__all__ = ["BOUND", "random_activations", "random_quantized", "real_weights", "error_ratio"]

BOUND = {"int8": 2.0 ** -16, "int16": 2.0 ** -16, "fp16": 2.0 ** -9, "bf16": 2.0 ** -9}


def random_activations(rng, act, M, K):
    """Activations of format ``act``; float ones have per-row magnitudes over e^±3 and outliers
    in every 17th column, as LLM activations have."""
    if act == "int8":
        return rng.integers(-128, 128, size=(M, K)).astype(np.int8)
    if act == "int16":
        return rng.integers(-32768, 32768, size=(M, K)).astype(np.int16)
    x = rng.standard_normal((M, K)) * np.exp(rng.uniform(-3, 3, size=(M, 1)))
    x[:, ::17] *= 20
    if act == "fp16":
        return x.astype(np.float16)
    return x.astype(ml_dtypes.bfloat16).astype(np.float32)


def random_quantized(rng, config, N, K):
    """Weight codes, scales and zero points (or ``None``) for a :class:`GemmConfig`."""
    fmt = config.weight_format
    w = rng.choice(np.array(fmt.values), size=(N, K))
    groups = K // config.group_size if isinstance(config.group_size, int) else 1
    shape = (1, 1) if config.group_size == "tensor" else (N, groups)
    dtype = np.float16 if config.scale == "fp16" else np.float32
    s = rng.uniform(0.005, 0.05, size=shape).astype(dtype)
    z = None
    if not fmt.signed:
        if config.zero_point == "original":
            z = rng.integers(0, 1 << fmt.bits, size=shape)
        else:
            z = (s.astype(np.float64) * rng.uniform(0, (1 << fmt.bits) - 1, size=shape))
            z = z.astype(dtype)
    return w, s, z


def real_weights(config, w, s, z):
    """The real weights in float64: ``(q - z) * s`` or ``q * s - z`` per ``zero_point``."""
    K = w.shape[1]
    rep = K // s.shape[1] if config.group_size != "tensor" else K
    S = np.broadcast_to(np.repeat(s.astype(np.float64), rep, axis=1), w.shape)
    q = w.astype(np.float64)
    if z is None:
        return q * S
    Z = np.broadcast_to(np.repeat(z.astype(np.float64), rep, axis=1), w.shape)
    return (q - Z) * S if config.zero_point == "original" else q * S - Z


def error_ratio(config, x, w, s, z, y):
    """Per-element ``|y - y_ref| / sum_k |s (w - z) x|`` against float64 mathematics."""
    wr = real_weights(config, w, s, z)
    xf = x.astype(np.float64)
    ref = xf @ wr.T
    scale = np.abs(xf) @ np.abs(wr).T
    return np.abs(y.astype(np.float64) - ref) / np.maximum(scale, 1e-300)
