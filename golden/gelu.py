"""Bit-exact NumPy model of the GELU / SiLU unit.

:func:`gelu` computes, vectorized, the output word of every input word exactly as the RTL
does: a table read (``rom``), the pwq clamps and integer Horner steps (``pwq``) or I-BERT's
integer steps and the requantization (``ibert``), all from :mod:`lutmix.gelu_math`.
:func:`ref_gelu` writes each method out literally, one Python integer at a time (and for
``ibert`` re-derives I-BERT's constants the way its reference code does); the tests hold the
two equal.
"""

__all__ = ["gelu", "ref_gelu"]

import math

import numpy as np

from lutmix.arith import check_range
from lutmix.gelu_math import (
    GUARD_BITS,
    IBERT_A,
    IBERT_B,
    IBERT_K,
    GeluSpec,
    ibert_eval,
    pwq_eval,
)


def _check(x, spec):
    if not isinstance(spec, GeluSpec):
        raise TypeError(f"spec must be a GeluSpec, not {spec!r}")
    x = np.asarray(x)
    if x.size and not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"Input words must be integers, not {x.dtype}")
    x = x.astype(np.int64)
    check_range(x, spec.in_bits, "input words")
    return x


def gelu(x, spec):
    """Output words (int64, the shape of ``x``) of the unit ``spec`` for input words ``x``.

    Raises ``OverflowError`` if an input word does not fit ``input_bits``.
    """
    x = _check(x, spec)
    if spec.method == "rom":
        y = np.asarray(spec.rom, dtype=np.int64)[x - spec.x_min]
    elif spec.method == "pwq":
        y = pwq_eval(x, spec.pwq, spec)
    else:
        y = ibert_eval(x, spec.ibert, spec)
    check_range(y, spec.out_bits, "output words")
    return y


def _sat(v, spec):
    return min(max(v, spec.y_min), spec.y_max)


def _round_half_up(v, shift):
    return (v + (1 << (shift - 1))) >> shift if shift else v


def _ref_rom(x, spec):
    return spec.rom[x - spec.x_min]


def _ref_pwq(x, spec):
    p = spec.pwq
    if x < p.lo:
        return 0
    if x >= p.hi:
        d = spec.out_frac - spec.in_frac
        return _sat(x * 2 ** d if d >= 0 else _round_half_up(x, -d), spec)
    seg, u = divmod(x - p.lo, 2 ** p.seg_shift)
    b0, b1, b2 = p.coeffs[seg]
    h = b1 + (b2 * u) // 2 ** p.seg_shift
    z = b0 + (h * u) // 2 ** p.seg_shift
    return _sat(_round_half_up(z, GUARD_BITS), spec)


def _ibert_constants(spec):
    # I-BERT's IntGELU, in float64: b_int, c_int and 1 // scaling factor are floors of floats
    k = IBERT_K[spec.function]
    s_erf = 2.0 ** -spec.in_frac / k
    b_int = math.floor(IBERT_B / s_erf)
    c_int = math.floor((1 / IBERT_A) / s_erf ** 2)
    n = spec.ibert.erf_shift
    s_sig = s_erf ** 2 * IBERT_A * 2 ** n
    return b_int, c_int, n, math.floor(1.0 // s_sig)


def _ref_ibert(x, spec):
    b_int, c_int, n, shift_int = _ibert_constants(spec)
    sign = (x > 0) - (x < 0)
    erf = (sign * ((min(abs(x), -b_int) + b_int) ** 2 + c_int)) // 2 ** n
    p = x * (erf + shift_int)
    return _sat(_round_half_up(p * spec.ibert.m_int, spec.ibert.rq), spec)


def ref_gelu(x, spec):
    """:func:`gelu` written out one element at a time with Python integers."""
    x = _check(x, spec)
    one = {"rom": _ref_rom, "pwq": _ref_pwq, "ibert": _ref_ibert}[spec.method]
    return np.array([one(int(v), spec) for v in x.ravel()], dtype=np.int64).reshape(x.shape)
