"""Binary32 test operands: edge cases and seeded random patterns for the ``f32_*`` units.

Every function returns ``uint32`` bit patterns (or ``int64`` integers and shifts) as NumPy
arrays, so the same vectors drive the Amaranth tests, the golden models and the
exact-arithmetic checks.
"""

__all__ = [
    "EDGE_MAGNITUDES", "NANS", "edge_values", "edge_pairs",
    "random_bits", "near_one", "close_pairs", "scaled_products",
    "int_edges", "random_ints", "unit_vectors",
]

import itertools

import numpy as np

from lutmix import fp32

EDGE_MAGNITUDES = (
    fp32.POS_ZERO,
    fp32.MIN_SUBNORMAL, 0x00000002, 0x00000003, 0x00400000, fp32.MAX_SUBNORMAL,
    fp32.MIN_NORMAL, 0x00800001, 0x00FFFFFF, 0x01000000,
    0x1F800000,                 # 2**-64
    0x33800000, 0x34000000,     # 2**-24, 2**-23
    0x3EAAAAAB,                 # 1/3
    0x3F000000, 0x3F000001,     # 0.5, just above
    0x3F7FFFFF,                 # 1 - 2**-24
    fp32.ONE, 0x3F800001,       # 1, 1 + 2**-23
    0x3FC00000,                 # 1.5
    0x3FFFFFFE, 0x3FFFFFFF,     # just below 2: all-ones significands carry on rounding
    0x40400000,                 # 3
    0x4B800000,                 # 2**24
    0x5F800000,                 # 2**64
    0x7F000000,                 # 2**127
    0x7F7FFFFE, fp32.MAX_NORMAL,
    fp32.POS_INF,
)
NANS = (fp32.CANONICAL_NAN, 0x7F800001, 0x7FC12345, 0x7FFFFFFF, 0xFFC00000)


def edge_values():
    """Every edge magnitude with both signs, and the NaNs (quiet, signalling, negative)."""
    values = [m | s for m in EDGE_MAGNITUDES for s in (0, fp32.SIGN_MASK)] + list(NANS)
    return np.array(values, dtype=np.uint32)


def edge_pairs():
    """All ordered pairs of :func:`edge_values` (so every sign combination): ``(a, b)``."""
    pairs = np.array(list(itertools.product(edge_values().tolist(), repeat=2)), dtype=np.uint32)
    return pairs[:, 0], pairs[:, 1]


def random_bits(rng, n):
    """``n`` uniformly random 32-bit patterns (mostly huge or tiny normals, some NaNs)."""
    return rng.integers(0, 1 << 32, size=n, dtype=np.uint64).astype(np.uint32)


def _fractions(rng, n):
    # random fractions, with all-zeros, all-ones and one-bit patterns mixed in
    frac = rng.integers(0, 1 << fp32.FRAC_BITS, size=n, dtype=np.int64)
    kind = rng.integers(0, 8, size=n)
    frac = np.where(kind == 0, 0, frac)
    frac = np.where(kind == 1, fp32.FRAC_MASK, frac)
    frac = np.where(kind == 2, 1 << rng.integers(0, fp32.FRAC_BITS, size=n), frac)
    frac = np.where(kind == 3, fp32.FRAC_MASK - (1 << rng.integers(0, 8, size=n)) + 1, frac)
    return frac


def _words(sign, exponent, fraction):
    return fp32.pack(np.asarray(sign, np.uint32), np.asarray(exponent, np.uint32),
                     np.asarray(fraction, np.uint32)).astype(np.uint32)


def near_one(rng, n, spread=2):
    """``n`` values of either sign with exponents within ``spread`` of 1.0's, random fractions."""
    exponent = fp32.BIAS + rng.integers(-spread, spread + 1, size=n)
    return _words(rng.integers(0, 2, size=n), exponent, _fractions(rng, n))


def close_pairs(rng, n):
    """``(a, b)`` with exponents at most 3 apart and mostly opposite signs: cancellation.

    A quarter of ``b`` copies ``a``'s fraction give or take a few units, for massive
    cancellation; exponents span the whole range, subnormals included.
    """
    ea = rng.integers(0, fp32.EXP_MAX, size=n)
    eb = np.clip(ea + rng.integers(-3, 4, size=n), 0, fp32.EXP_MAX - 1)
    fa = _fractions(rng, n)
    fb = _fractions(rng, n)
    near = rng.random(n) < 0.25
    fb = np.where(near, np.clip(fa + rng.integers(-4, 5, size=n), 0, fp32.FRAC_MASK), fb)
    sa = rng.integers(0, 2, size=n)
    sb = np.where(rng.random(n) < 0.75, 1 - sa, sa)
    return _words(sa, ea, fa), _words(sb, eb, fb)


def scaled_products(rng, n, shift_bits):
    """``(a, b, shift)`` whose exact ``a * b * 2**shift`` lands near the edges of the range.

    The targets are the overflow threshold (binades 2**124 .. 2**128) and the subnormal
    range and its edges (2**-155 .. 2**-120); a fifth of the operands are subnormal.
    """
    lo, hi = fp32.shift_range(shift_bits)
    shift = rng.integers(lo, hi + 1, size=n)
    target = np.where(rng.random(n) < 0.3, rng.integers(124, 129, size=n),
                      rng.integers(-155, -119, size=n))
    ea = rng.integers(1, fp32.EXP_MAX, size=n)
    ea = np.where(rng.random(n) < 0.2, 0, ea)
    fa = _fractions(rng, n)
    fa = np.where((ea == 0) & (fa == 0), 1, fa)
    # unbiased exponent of a, as if normal (a subnormal's leading bit sits lower)
    ua = np.maximum(ea, 1) - fp32.BIAS
    eb = np.clip(target - ua - shift + fp32.BIAS, 1, fp32.EXP_MAX - 1)
    sign = rng.integers(0, 2, size=(2, n))
    a = _words(sign[0], ea, fa)
    b = _words(sign[1], eb, _fractions(rng, n))
    swap = rng.random(n) < 0.5
    return np.where(swap, b, a), np.where(swap, a, b), shift.astype(np.int64)


def int_edges(width):
    """Edge integers of a signed ``width``-bit input: extremes, powers of two and the rounding
    cases (exact ties to even, rounding up, carrying into the next power of two)."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    values = {0, 1, -1, 2, -2, 3, -3, lo, lo + 1, hi, hi - 1}
    for p in range(width - 1):
        values |= {1 << p, (1 << p) - 1, (1 << p) + 1}
        if p >= fp32.SIG_BITS:
            ulp = 1 << (p - fp32.FRAC_BITS)                # spacing of floats in [2**p, 2**(p+1))
            half = ulp >> 1
            for base in ((1 << p), (1 << p) + ulp, (1 << (p + 1)) - ulp):
                values |= {base + half - 1, base + half, base + half + 1}
            values |= {(1 << (p + 1)) - half, (1 << (p + 1)) - 1}
    values |= {-v for v in values}
    return np.array(sorted(v for v in values if lo <= v <= hi), dtype=np.int64)


def random_ints(rng, n, width):
    """``n`` integers of ``width`` signed bits: half uniform, half with uniform bit lengths."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    uniform = rng.integers(lo, hi, size=n // 2, endpoint=True, dtype=np.int64)
    length = rng.integers(1, width, size=n - n // 2)
    raw = rng.integers(0, 1 << 62, size=length.size, dtype=np.int64) | (
        rng.integers(0, 2, size=length.size, dtype=np.int64) << 62)
    magnitude = (raw >> (63 - length)) | (np.int64(1) << (length - 1))
    sign = rng.integers(0, 2, size=length.size) == 1
    return np.concatenate([uniform, np.where(sign, -magnitude, magnitude)])


def unit_vectors(unit, n, seed, *, width=64, shift_bits=10):
    """Every edge case of ``unit``, then ``n`` seeded random rows of each kind.

    ``unit`` is ``"int_to_f32"`` (returns ``(i,)``: edges and random integers of ``width``
    bits), ``"f32_add"`` (``(a, b)``: edge pairs, random bits, near 1.0, close pairs) or
    ``"f32_mul"`` (``(a, b, shift)``: edge pairs at random shifts, random bits at small shifts,
    near 1.0, products near the ends of the range).
    """
    rng = np.random.default_rng(seed)
    if unit == "int_to_f32":
        return (np.concatenate([int_edges(width), random_ints(rng, 2 * n, width)]),)
    if unit == "f32_add":
        rows = [edge_pairs(), (random_bits(rng, n), random_bits(rng, n)),
                (near_one(rng, n), near_one(rng, n)), close_pairs(rng, n)]
        return tuple(np.concatenate(x) for x in zip(*rows))
    if unit != "f32_mul":
        raise ValueError(f"Unit must be 'int_to_f32', 'f32_add' or 'f32_mul', not {unit!r}")
    lo, hi = fp32.shift_range(shift_bits)
    a0, b0 = edge_pairs()
    rows = [(a0, b0, rng.integers(lo, hi + 1, size=a0.size)),
            (random_bits(rng, n), random_bits(rng, n),
             np.clip(rng.integers(-40, 41, size=n), lo, hi)),
            (near_one(rng, n), near_one(rng, n), np.clip(rng.integers(-3, 4, size=n), lo, hi)),
            scaled_products(rng, n, shift_bits)]
    return tuple(np.concatenate(x).astype(np.int64 if k == 2 else np.uint32)
                 for k, x in enumerate(zip(*rows)))
