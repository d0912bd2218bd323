"""IEEE 754 binary32: the one definition of its bit fields, special values and rounding.

A binary32 word is ``sign (1) | exponent (8, biased by 127) | fraction (23)``:

=========== =========== =========================================
exponent    fraction    value
=========== =========== =========================================
0           0           ``(-1)**sign * 0``
0           f != 0      ``(-1)**sign * f * 2**-149`` (subnormal)
1 .. 254    f           ``(-1)**sign * (2**23 + f) * 2**(e - 150)``
255         0           ``(-1)**sign * inf``
255         f != 0      NaN; lutmix only ever outputs ``CANONICAL_NAN``
=========== =========== =========================================

Every unit rounds to nearest, ties to even (RNE), once, with subnormals and no flush to zero.

:func:`unpack` and :func:`pack` use only shifts, masks and ``|``, so the same functions work on
Python integers, NumPy ``uint32`` arrays and Amaranth values: the RTL (``lutmix.rtl.f32_*``) and
the golden models (:mod:`lutmix.golden.fp32`) both call them.

:func:`to_fraction` and :func:`round_fraction` define the rounding in exact rational
arithmetic, and ``exact_*`` write each operation out from IEEE 754 with them (one Python
integer at a time, slow): the tests and the bench use them to check that the golden models
round correctly, not just consistently.
"""

__all__ = [
    "SIGN_BIT", "EXP_BITS", "FRAC_BITS", "SIG_BITS", "BIAS", "EXP_MAX",
    "SIGN_MASK", "EXP_MASK", "FRAC_MASK", "MAG_MASK",
    "POS_ZERO", "NEG_ZERO", "POS_INF", "NEG_INF", "CANONICAL_NAN", "ONE",
    "MIN_SUBNORMAL", "MAX_SUBNORMAL", "MIN_NORMAL", "MAX_NORMAL",
    "unpack", "pack", "shift_range",
    "as_bits", "as_float", "is_nan", "canonicalize_nan",
    "to_fraction", "round_fraction", "exact_int_to_f32", "exact_f32_mul", "exact_f32_add",
]

from fractions import Fraction

import numpy as np

SIGN_BIT = 31
EXP_BITS = 8
FRAC_BITS = 23
SIG_BITS = FRAC_BITS + 1        # significand with its hidden bit
BIAS = 127
EXP_MAX = (1 << EXP_BITS) - 1   # exponent field of Inf and NaN

SIGN_MASK = 1 << SIGN_BIT
EXP_MASK = EXP_MAX << FRAC_BITS
FRAC_MASK = (1 << FRAC_BITS) - 1
MAG_MASK = SIGN_MASK - 1        # exponent and fraction: orders magnitudes as an integer

POS_ZERO = 0x00000000
NEG_ZERO = 0x80000000
POS_INF = 0x7F800000
NEG_INF = 0xFF800000
CANONICAL_NAN = 0x7FC00000      # quiet, positive, zero payload: the only NaN lutmix outputs
ONE = 0x3F800000
MIN_SUBNORMAL = 0x00000001      # 2**-149
MAX_SUBNORMAL = 0x007FFFFF      # (2**23 - 1) * 2**-149
MIN_NORMAL = 0x00800000         # 2**-126
MAX_NORMAL = 0x7F7FFFFF         # (2**24 - 1) * 2**104


def unpack(bits):
    """Split binary32 words into ``(sign, exponent, fraction)`` fields (ints, arrays or values)."""
    return (bits >> SIGN_BIT) & 1, (bits >> FRAC_BITS) & EXP_MAX, bits & FRAC_MASK


def pack(sign, exponent, fraction):
    """Join ``(sign, exponent, fraction)`` fields into binary32 words; inverse of :func:`unpack`.

    The fields must already fit their widths (1, 8 and 23 bits).
    """
    return (sign << SIGN_BIT) | (exponent << FRAC_BITS) | fraction


def shift_range(shift_bits):
    """The ``(lo, hi)`` range of a ``shift_bits``-wide signed power-of-two shift."""
    return -(1 << (shift_bits - 1)), (1 << (shift_bits - 1)) - 1


def as_bits(values):
    """Float values (anything NumPy converts to float32 exactly) to ``uint32`` bit patterns."""
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def as_float(bits):
    """``uint32`` bit patterns to ``float32`` values."""
    return np.asarray(bits, dtype=np.uint32).view(np.float32)


def is_nan(bits):
    """Whether binary32 words are NaN (exponent all ones, fraction non-zero)."""
    bits = np.asarray(bits, dtype=np.uint32)
    return (bits & MAG_MASK) > POS_INF


def canonicalize_nan(bits):
    """Replace every NaN among ``uint32`` words by :data:`CANONICAL_NAN`."""
    bits = np.asarray(bits, dtype=np.uint32)
    return np.where(is_nan(bits), np.uint32(CANONICAL_NAN), bits).astype(np.uint32)


def to_fraction(bits):
    """The exact value of a finite binary32 word as a :class:`~fractions.Fraction`.

    Raises ``ValueError`` for Inf and NaN. Both zeros give ``Fraction(0)``.
    """
    bits = int(bits)
    sign, exponent, fraction = unpack(bits)
    if exponent == EXP_MAX:
        raise ValueError(f"0x{bits:08X} is not finite")
    if exponent == 0:
        magnitude = Fraction(fraction, 1 << 149)
    else:
        magnitude = Fraction((1 << FRAC_BITS) | fraction) * Fraction(2) ** (exponent - 150)
    return -magnitude if sign else magnitude


def round_fraction(value, *, negative=False):
    """Round an exact rational to binary32, to nearest, ties to even, once.

    Parameters
    ----------
    value : Fraction or int
        The exact value.
    negative : bool
        The sign of the result when ``value`` is zero (``-0`` if true).

    Returns
    -------
    int
        The binary32 word: subnormals where the value is below ``2**-126``, ``+-0`` when it
        rounds to zero (keeping its sign), ``+-Inf`` when it rounds to ``2**128`` or above.
    """
    value = Fraction(value)
    sign = int(value < 0 or (value == 0 and negative))
    magnitude = abs(value)
    if magnitude == 0:
        return pack(sign, 0, 0)
    # e = floor(log2(magnitude)), from the bit lengths, corrected by one comparison
    e = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** e > magnitude:
        e -= 1
    quantum = Fraction(2) ** (max(e, 1 - BIAS) - FRAC_BITS)   # one unit in the last place
    n = round(magnitude / quantum)                             # Fraction rounds half to even
    if e < 1 - BIAS:                                           # subnormal range: n <= 2**23
        return pack(sign, 0, 0) | n                            # n == 2**23 is MIN_NORMAL
    if n == 1 << SIG_BITS:                                     # rounded up to the next binade
        n, e = n >> 1, e + 1
    if e + BIAS >= EXP_MAX:
        return pack(sign, EXP_MAX, 0)
    return pack(sign, e + BIAS, n - (1 << FRAC_BITS))


def _kind(bits):
    exponent, fraction = (bits >> FRAC_BITS) & EXP_MAX, bits & FRAC_MASK
    if exponent == EXP_MAX:
        return "nan" if fraction else "inf"
    return "zero" if exponent == 0 and fraction == 0 else "finite"


def exact_int_to_f32(i):
    """``int -> binary32`` in exact arithmetic: one rounding, ``0 -> +0``."""
    return round_fraction(Fraction(int(i)))


def exact_f32_mul(a, b, shift=0):
    """``RNE32(a * b * 2**shift)`` for binary32 words, from IEEE 754 in exact arithmetic.

    NaN operands and ``Inf * 0`` give :data:`CANONICAL_NAN`; otherwise the sign is
    ``sign(a) xor sign(b)``, Inf times anything else is Inf, and the exact finite product is
    rounded once (to a signed zero if it underflows).
    """
    a, b, shift = int(a), int(b), int(shift)
    ka, kb = _kind(a), _kind(b)
    negative = bool((a ^ b) >> SIGN_BIT)
    if "nan" in (ka, kb) or {ka, kb} == {"inf", "zero"}:
        return CANONICAL_NAN
    if "inf" in (ka, kb):
        return NEG_INF if negative else POS_INF
    return round_fraction(to_fraction(a) * to_fraction(b) * Fraction(2) ** shift,
                          negative=negative)


def exact_f32_add(a, b):
    """``RNE32(a + b)`` for binary32 words, from IEEE 754 in exact arithmetic.

    NaN operands and ``Inf - Inf`` give :data:`CANONICAL_NAN`; Inf plus anything else is that
    Inf; an exact zero sum is ``+0`` except ``(-0) + (-0) = -0``.
    """
    a, b = int(a), int(b)
    ka, kb = _kind(a), _kind(b)
    sa, sb = a >> SIGN_BIT, b >> SIGN_BIT
    if "nan" in (ka, kb) or (ka == kb == "inf" and sa != sb):
        return CANONICAL_NAN
    if "inf" in (ka, kb):
        return a if ka == "inf" else b
    return round_fraction(to_fraction(a) + to_fraction(b), negative=bool(sa and sb))
