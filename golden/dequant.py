"""Bit-exact NumPy model of per-group dequantization, shared by every engine.

Per block (one group, or 128 activations for ``"channel"``/``"tensor"``) the array delivers the
exact dot products ``V[r, j]``, the activation sums ``xsum[r]`` and, for float activations, the
block's power of two ``2**shift[r]`` (:mod:`lutmix.bfp`). The dequantization unit then computes,
every step rounded to IEEE binary32, nearest-even:

* signed weights, or ``zero_point = "original"`` (integer z)::

      t = V - z * xsum                          (exact integer)
      v = RNE32(s * RNE32(t) * 2**shift)        (one rounding of the exact product)

* ``zero_point = "scaled"`` (z in the scale format)::

      v1 = RNE32(s * RNE32(V) * 2**shift),  v2 = RNE32(z * RNE32(xsum) * 2**shift)
      v  = RNE32(v1 - v2)

and accumulates ``y = v`` for a tile's first block, ``y = RNE32(y + v)`` for the next ones, in
K order. A row whose block holds a NaN or an infinity gives NaN in every column. Every NaN is
the canonical quiet NaN ``0x7fc00000``.
"""

__all__ = ["block_scales", "dequant_block", "accumulate", "canonical_nan", "CANONICAL_NAN"]

import numpy as np

from lutmix import fp32

from .fp32 import ref_f32_add, ref_f32_mul, ref_int_to_f32

CANONICAL_NAN = np.uint32(fp32.CANONICAL_NAN).view(np.float32)


def canonical_nan(y):
    """Replace every NaN of a float32 array by the canonical quiet NaN."""
    y = np.array(y, dtype=np.float32)
    y[np.isnan(y)] = CANONICAL_NAN
    return y


def _int_to_f32(t):
    return ref_int_to_f32(np.asarray(t, dtype=np.int64))


def _mul(a, b, shift):
    """RNE32(a * b * 2**shift) on binary32 words (one rounding of the exact value)."""
    a, b, shift = np.broadcast_arrays(a, b, np.asarray(shift, dtype=np.int64))
    return ref_f32_mul(a, b, shift)


def accumulate(y, v):
    """``RNE32(y + v)`` of float32 arrays, or ``v`` for the first block (``y is None``)."""
    if y is None:
        return v
    return fp32.as_float(ref_f32_add(fp32.as_bits(y), fp32.as_bits(v)))


def block_scales(scales, zeros, spec, blocks, N):
    """Scales and zero points per (output channel, block), from the user's per-group arrays.

    Returns ``(S, Z)``: ``S`` float32 of shape (N, blocks) (a ``"tensor"`` scale is repeated for
    every channel); ``Z`` int64 (``"original"``) or
    float32 (``"scaled"``) of the same shape, zeros for signed weights or when none are given.
    """
    c = spec.config
    s = np.asarray(scales).astype(np.float32)
    if c.group_size in ("channel", "tensor"):
        s = np.repeat(s, blocks, axis=1)
    z = None if zeros is None else np.asarray(zeros)
    if z is not None and c.group_size in ("channel", "tensor"):
        z = np.repeat(z, blocks, axis=1)
    if spec.has_zeros and c.zero_point == "scaled":
        z = np.zeros_like(s) if z is None else z.astype(np.float32)
    else:
        z = np.zeros(s.shape, dtype=np.int64) if z is None else z.astype(np.int64)
    s = np.broadcast_to(s, (N, blocks))
    return s, np.broadcast_to(z, (N, blocks))


def dequant_block(V, xsum, shift, special, s, z, spec):
    """One block's contribution ``v`` (M, N) from ``V`` (M, N), ``xsum``/``shift``/``special``
    (M,), ``s`` and ``z`` (N,)."""
    shift = np.asarray(shift)[:, None]
    s_bits = fp32.as_bits(np.asarray(s, dtype=np.float32))[None, :]
    if spec.config.zero_point == "scaled" and spec.has_zeros:
        z_bits = fp32.as_bits(np.asarray(z, dtype=np.float32))[None, :]
        v1 = _mul(s_bits, _int_to_f32(V), shift)
        v2 = _mul(z_bits, _int_to_f32(xsum)[:, None], shift)
        v = ref_f32_add(v1, v2 ^ np.uint32(fp32.SIGN_MASK))
    else:
        t = V - z[None, :].astype(np.int64) * xsum[:, None]
        v = _mul(s_bits, _int_to_f32(t), shift)
    v = fp32.as_float(v).copy()
    v[np.asarray(special, dtype=bool)] = np.nan
    return v
