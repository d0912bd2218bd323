"""Post-training quantizers for running a float model on the GEMM engines.

Weights (round to nearest, no calibration data, no GPTQ error feedback):

* ``uint4-g128``: uint4 codes with integer zero points per group of 128 along K, the GPTQ
  layout (``w = (q - z) * s``): per group ``lo = min(w, 0)``, ``hi = max(w, 0)``,
  ``s = (hi - lo) / 15`` rounded to the scale format, ``z = round(-lo / s)``,
  ``q = clip(round(w / s) + z, 0, 15)``.
* ``int2-g64``: signed int2 codes {-2, -1, 0, 1} per group of 64 (``w = q * s``). ``absmax / 2``
  would leave +absmax a whole step short (q stops at +1), so the scale is the one of 24
  candidates ``absmax * r / 2``, ``r`` from 0.35 to 1.5 in steps of 0.05, with the least
  squared error over the group, still rounding to nearest.
* ``ternary``: {-1, 0, 1} with one absmean scale per tensor, as BitNet b1.58 does:
  ``s = mean(|w|)``, ``q = clip(round(w / s), -1, 1)``.

Activations: ``int8`` per token (row), symmetric: ``s = max|x| / 127``,
``q = clip(round(x / s), -127, 127)`` (a zero row gets ``s = 1``).

Scales are stored in the engine's scale format (``fp16`` or ``fp32``); every code is computed
against the stored scale, so :meth:`QuantWeight.dequantize` is exactly what the engine
multiplies by.
"""

__all__ = ["QUANTIZATIONS", "Quantization", "QuantWeight", "quantize_weight",
           "quantize_tokens", "quantize_uint", "quantize_int2", "quantize_ternary"]

from dataclasses import dataclass

import numpy as np

INT2_RATIOS = np.linspace(0.35, 1.5, 24)      # steps of 0.05, 1.0 included


@dataclass(frozen=True)
class Quantization:
    """A weight quantization: the engine's weight format and ``group_size``."""
    name: str
    weight: str
    group_size: int | str
    describe: str


QUANTIZATIONS = {
    "uint4-g128": Quantization("uint4-g128", "uint4", 128,
                               "uint4 + zero points, group 128 (RTN, GPTQ layout)"),
    "int2-g64": Quantization("int2-g64", "int2", 64, "int2, group 64 (RTN, MSE-searched scale)"),
    "ternary": Quantization("ternary", "ternary", "tensor",
                            "ternary, one absmean scale per tensor (BitNet b1.58)"),
}


@dataclass(frozen=True)
class QuantWeight:
    """A quantized ``(N, K)`` weight in the engine's operand layout.

    Attributes
    ----------
    q : ndarray of int8 or int16, (N, K)
        Values of the weight format (uint4 0..15, int2 -2..1, ternary -1..1).
    scales : ndarray of float16 or float32
        (N, K / group_size), or (1, 1) per tensor.
    zeros : ndarray of int64 or None
        Integer zero points, the shape of ``scales``; ``None`` for signed formats.
    group_size : int or str
    """
    q: np.ndarray
    scales: np.ndarray
    zeros: np.ndarray | None
    group_size: int | str

    def dequantize(self):
        """The real weight the engine computes with, float64 (N, K)."""
        N, K = self.q.shape
        s = self.scales.astype(np.float64)
        z = 0 if self.zeros is None else self.zeros.astype(np.float64)
        if self.group_size == "tensor":
            return (self.q - z) * s[0, 0]
        g = self.group_size
        q = self.q.reshape(N, K // g, g).astype(np.float64)
        z = z[..., None] if self.zeros is not None else 0
        return ((q - z) * s[..., None]).reshape(N, K)


def _groups(w, g):
    N, K = w.shape
    if K % g:
        raise ValueError(f"K = {K} is not a multiple of the group size {g}")
    return w.reshape(N, K // g, g)


def _stored(s, dtype):
    """Scales rounded to the scale format; a zero or subnormal-flushed scale becomes 1."""
    s = np.asarray(s).astype(dtype)
    return np.where(s > 0, s, dtype(1))


def quantize_uint(w, group_size=128, bits=4, scale_dtype=np.float16):
    """Asymmetric RTN with integer zero points (GPTQ's quantizer without error feedback)."""
    wg = _groups(np.asarray(w, np.float64), group_size)
    qmax = (1 << bits) - 1
    lo = np.minimum(wg.min(axis=-1), 0.0)
    hi = np.maximum(wg.max(axis=-1), 0.0)
    s = _stored((hi - lo) / qmax, scale_dtype)
    sf = s.astype(np.float64)
    z = np.clip(np.round(-lo / sf), 0, qmax).astype(np.int64)
    q = np.clip(np.round(wg / sf[..., None]) + z[..., None], 0, qmax)
    return QuantWeight(q=q.reshape(w.shape).astype(np.int16), scales=s, zeros=z,
                       group_size=group_size)


def quantize_int2(w, group_size=64, scale_dtype=np.float16):
    """Signed int2 {-2, -1, 0, 1} per group, scale searched for the least squared error."""
    wg = _groups(np.asarray(w, np.float64), group_size)
    amax = np.abs(wg).max(axis=-1)
    best_err = np.full(amax.shape, np.inf)
    best_s = np.ones(amax.shape, dtype=scale_dtype)
    for r in INT2_RATIOS:
        s = _stored(amax * r / 2, scale_dtype)
        sf = s.astype(np.float64)[..., None]
        err = ((np.clip(np.round(wg / sf), -2, 1) * sf - wg) ** 2).sum(axis=-1)
        better = err < best_err
        best_err = np.where(better, err, best_err)
        best_s = np.where(better, s, best_s)
    sf = best_s.astype(np.float64)[..., None]
    q = np.clip(np.round(wg / sf), -2, 1)
    return QuantWeight(q=q.reshape(w.shape).astype(np.int8), scales=best_s, zeros=None,
                       group_size=group_size)


def quantize_ternary(w, scale_dtype=np.float16):
    """BitNet b1.58: ``s = mean|w|`` per tensor, ``q = clip(round(w / s), -1, 1)``."""
    w = np.asarray(w, np.float64)
    s = _stored(np.abs(w).mean(), scale_dtype).reshape(1, 1)
    q = np.clip(np.round(w / s.astype(np.float64)[0, 0]), -1, 1)
    return QuantWeight(q=q.astype(np.int8), scales=s, zeros=None, group_size="tensor")


def quantize_weight(w, name, scale="fp16"):
    """Quantize ``w (N, K)`` with the quantization ``name`` of :data:`QUANTIZATIONS`."""
    if name not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {', '.join(map(repr, QUANTIZATIONS))}, "
                         f"not {name!r}")
    dtype = {"fp16": np.float16, "fp32": np.float32}[scale]
    qz = QUANTIZATIONS[name]
    if qz.weight == "uint4":
        return quantize_uint(w, qz.group_size, 4, dtype)
    if qz.weight == "int2":
        return quantize_int2(w, qz.group_size, dtype)
    return quantize_ternary(w, dtype)


def quantize_tokens(x, bits=8):
    """Symmetric per-row quantization: ``(q int8/int16 (M, K), s float64 (M,))``,
    ``x ~ q * s[:, None]``."""
    x = np.asarray(x, np.float64)
    qmax = (1 << (bits - 1)) - 1
    amax = np.abs(x).max(axis=-1)
    s = np.where(amax > 0, amax / qmax, 1.0)
    q = np.clip(np.round(x / s[:, None]), -qmax, qmax)
    return q.astype(np.int8 if bits == 8 else np.int16), s
