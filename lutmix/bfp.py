"""Block floating point: how fp16/bf16 activations become exact integers for the engines.

Within one dequantization block (one row, ``block`` activations along K), every finite
activation ``x = (-1)**s * S * 2**(E' - bias - frac)`` (``S`` the significand with its hidden bit,
``E' = max(E, 1)``) is aligned to the block's largest exponent ``Emax``:

    M = round_half_even(S * 2**guard / 2**(Emax - E'))       (signed by s)
    x ~= M * 2**shift,   shift = Emax - bias - frac - guard

The element with the largest exponent keeps its whole significand plus ``guard`` zero bits, so
``|M| < 2**15``: the engines compute with ``M`` exactly as with int16 activations, and the block's
result is scaled by ``2**shift`` once, in the dequantization. Elements ``2**d`` times smaller
than the block's largest lose ``max(0, d - guard)`` low bits (rounded to nearest even).

Zeros and subnormals align like any other value. NaN and +-Inf are *special*: they align to 0
and mark the block's row, and the engine makes every output of that row NaN (it does not track
the sign of ``Inf * w`` per column). A block with no finite nonzero element has ``Emax = 1``.
"""

__all__ = ["fields", "align", "ALIGNED_BITS"]

import numpy as np

ALIGNED_BITS = 16      # signed width of an aligned mantissa


def fields(bits, fmt):
    """Split ``uint16`` patterns into ``(sign, E', significand, special)``."""
    bits = np.asarray(bits, dtype=np.int64)
    e_all = (1 << fmt.exp_bits) - 1
    sign = (bits >> (fmt.exp_bits + fmt.frac_bits)) & 1
    exp = (bits >> fmt.frac_bits) & e_all
    frac = bits & ((1 << fmt.frac_bits) - 1)
    special = exp == e_all
    sig = np.where(exp == 0, frac, frac | (1 << fmt.frac_bits))
    eff = np.maximum(exp, 1)
    return sign, eff, sig, special


def _shift_rne(value, shift):
    """``value / 2**shift`` rounded to nearest, ties to even (value >= 0, shift >= 0)."""
    shift = np.minimum(shift, 62)
    q = value >> shift
    rem = value - (q << shift)
    half = np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 0)
    up = (shift > 0) & ((rem > half) | ((rem == half) & ((q & 1) == 1)))
    return q + up


def align(bits, fmt):
    """Align blocks of float activations.

    Parameters
    ----------
    bits : ndarray of uint16, shape (..., B)
        Bit patterns; the last axis is one block.
    fmt : ActivationFormat
        ``fp16`` or ``bf16``.

    Returns
    -------
    mantissas : ndarray of int64, shape (..., B)
        Signed aligned mantissas, ``|M| < 2**15``.
    shift : ndarray of int64, shape (...)
        The block's power of two, ``Emax - bias - frac - guard``.
    special : ndarray of bool, shape (...)
        Whether the block holds a NaN or an infinity.
    """
    sign, eff, sig, special = fields(bits, fmt)
    finite_nonzero = ~special & (sig != 0)
    emax = np.where(finite_nonzero, eff, 1).max(axis=-1)
    dist = emax[..., None] - eff
    mag = _shift_rne(sig << fmt.guard_bits, dist)
    mag = np.where(special, 0, mag)
    mantissas = np.where(sign == 1, -mag, mag)
    shift = emax - fmt.bias - fmt.frac_bits - fmt.guard_bits
    return mantissas, shift, special.any(axis=-1)
