"""Bit-exact NumPy models of the binary32 units in ``lutmix.rtl.f32_*``.

Each function takes and returns ``uint32`` bit patterns (arrays, vectorized) and rounds
exactly like the RTL: to nearest, ties to even, once, with subnormals, and every NaN output
replaced by :data:`lutmix.fp32.CANONICAL_NAN`.

* :func:`ref_int_to_f32`: NumPy's ``int64 -> float32`` cast, which rounds the integer once
  (not through float64).
* :func:`ref_f32_mul`: ``a * b * 2**shift`` is computed exactly in float64 and then rounded
  once with ``.astype(np.float32)``. Exact, because the product of two 24-bit significands has
  at most 48 bits (float64 holds 53), and ``|a * b| * 2**shift`` stays within float64's normal
  range: from ``2**-298 * 2**-512`` up to ``2**256 * 2**511``, for every float32 operand
  (subnormals included) and every shift of up to 10 bits.
* :func:`ref_f32_add`: float32 addition, which IEEE 754 rounds correctly by definition.

NumPy's overflow and invalid-operation warnings are expected here (``Inf`` results and
``Inf - Inf``) and suppressed locally.
"""

__all__ = ["ref_int_to_f32", "ref_f32_mul", "ref_f32_add", "MAX_SHIFT_BITS"]

import numpy as np

from lutmix import fp32

MAX_SHIFT_BITS = 10     # the widest shift the float64 argument above covers


def _bits(x, what):
    x = np.asarray(x)
    if x.dtype.kind not in "ui":
        raise TypeError(f"{what} must be integer bit patterns, not {x.dtype}")
    if x.size and (int(x.min()) < 0 or int(x.max()) > 0xFFFF_FFFF):
        raise ValueError(f"{what} must be 32-bit patterns in [0, 0xFFFFFFFF]")
    return x.astype(np.uint32)


def ref_int_to_f32(i):
    """Round integers to binary32, ties to even; ``0 -> +0``.

    Parameters
    ----------
    i : array_like of int
        Values that fit int64.

    Returns
    -------
    ndarray of uint32
        The binary32 words.
    """
    i = np.asarray(i)
    if i.dtype.kind not in "ui":
        raise TypeError(f"Integers expected, not {i.dtype}")
    if i.dtype == np.uint64 and i.size and int(i.max()) > np.iinfo(np.int64).max:
        raise ValueError("Integers must fit int64")
    return fp32.as_bits(i.astype(np.int64).astype(np.float32))


def ref_f32_mul(a_bits, b_bits, shift=0):
    """``RNE32(a * b * 2**shift)``, one rounding of the exact value.

    Parameters
    ----------
    a_bits, b_bits : array_like of uint32
        Binary32 words (broadcast together with ``shift``).
    shift : array_like of int
        The extra power of two, in ``[-2**9, 2**9 - 1]`` (at most 10 signed bits).

    Returns
    -------
    ndarray of uint32
        The binary32 words; ``Inf * 0`` and NaN operands give :data:`~lutmix.fp32.CANONICAL_NAN`.
    """
    a = fp32.as_float(_bits(a_bits, "a"))
    b = fp32.as_float(_bits(b_bits, "b"))
    shift = np.asarray(shift)
    if shift.dtype.kind not in "ui":
        raise TypeError(f"shift must be integers, not {shift.dtype}")
    lo, hi = fp32.shift_range(MAX_SHIFT_BITS)
    if shift.size and (int(shift.min()) < lo or int(shift.max()) > hi):
        raise ValueError(f"shift must be in [{lo}, {hi}]")
    with np.errstate(over="ignore", invalid="ignore"):    # signalling NaNs warn when cast
        a, b = a.astype(np.float64), b.astype(np.float64)   # exact
        exact = np.ldexp(a * b, shift.astype(np.int32))     # exact: see the module docstring
        rounded = exact.astype(np.float32)                  # the one rounding
    return fp32.canonicalize_nan(fp32.as_bits(rounded))


def ref_f32_add(a_bits, b_bits):
    """``RNE32(a + b)``: IEEE 754 addition (``x + -x = +0``, ``Inf - Inf = NaN``).

    Parameters
    ----------
    a_bits, b_bits : array_like of uint32
        Binary32 words (broadcast together).

    Returns
    -------
    ndarray of uint32
        The binary32 words, NaN canonicalized.
    """
    a = fp32.as_float(_bits(a_bits, "a"))
    b = fp32.as_float(_bits(b_bits, "b"))
    with np.errstate(over="ignore", invalid="ignore"):
        total = a + b
    return fp32.canonicalize_nan(fp32.as_bits(total))
