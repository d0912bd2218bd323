"""Bit-exact NumPy model of the softmax unit, and the float64 softmax it approximates.

:func:`softmax_words` computes the unit's output words for a batch of rows, vectorized over
rows and stepping through beats as pass 1 does (the truncations of the running sum depend on
the order). :func:`ref_softmax_words` writes the hardware's steps out literally with Python
integers, element by element, from the methods' defining formulas; the tests hold the two
equal. :func:`float_softmax` is plain float64 mathematics, the reference for the error figures.
"""

__all__ = ["softmax_words", "softmax", "ref_softmax_words", "float_softmax", "error_lsb"]

import numpy as np

from lutmix.softmax_math import (
    ExactExp,
    IbertExp,
    SoftermaxExp,
    SoftmaxSpec,
    accumulate,
    normalize,
    output_words,
    reciprocal,
)


def _check_unsigned(values, bits, what):
    values = np.asarray(values)
    if values.size and (values.min() < 0 or values.max() >= (1 << bits)):
        raise OverflowError(f"{what}: values in [{values.min()}, {values.max()}] do not fit "
                            f"{bits} unsigned bits")


def _prepare(x, mask, spec):
    if not isinstance(spec, SoftmaxSpec):
        raise TypeError(f"spec must be a SoftmaxSpec, not {spec!r}")
    x = np.asarray(x)
    if x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"Expected X of shape (rows, length), not {x.shape}")
    if not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"X must hold integers, not {x.dtype}")
    if x.min() < spec.x_min or x.max() > spec.x_max:
        raise ValueError(f"X holds values in [{x.min()}, {x.max()}], outside the "
                         f"{spec.in_bits}-bit range")
    if x.shape[1] > spec.max_elems:
        raise ValueError(f"Rows of {x.shape[1]} are longer than max_len {spec.config.max_len}")
    mask = np.zeros(x.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if mask.shape != x.shape:
        raise ValueError(f"Mask shape {mask.shape} does not match X {x.shape}")
    pad = -x.shape[1] % spec.lanes                  # the last beat's unused lanes are masked
    x = np.pad(x.astype(np.int64), ((0, 0), (0, pad)))
    mask = np.pad(mask, ((0, 0), (0, pad)), constant_values=True)
    return x, mask


def softmax_words(x, mask=None, *, spec):
    """The unit's output words for rows ``x``, bit for bit.

    Parameters
    ----------
    x : ndarray of int, shape (rows, length)
        Logits in the spec's input range; ``length <= max_len``.
    mask : ndarray of bool, shape (rows, length), optional
        True masks an element out: its probability is exactly 0.
    spec : SoftmaxSpec

    Returns
    -------
    ndarray of int64, shape (rows, length)
        Words of ``out_frac_bits`` fractional bits, in ``[0, 2**out_frac_bits]``. A row with
        every element masked gives zeros.
    """
    length = np.shape(x)[1] if np.ndim(x) == 2 else 0
    x, mask = _prepare(x, mask, spec)
    u, e = spec.exp(x)
    um = np.where(mask, 0, u)
    em = np.where(mask, spec.exp_min, e)
    rows, P = x.shape[0], spec.lanes
    A = np.zeros(rows, dtype=np.int64)
    E = np.full(rows, spec.exp_min, dtype=np.int64)
    for j in range(0, x.shape[1], P):
        A, E = accumulate(A, E, um[:, j:j + P], em[:, j:j + P], spec)
    _check_unsigned(A, spec.acc_bits, "sum")
    abar, B = normalize(A, spec)
    R = reciprocal(abar, spec)
    full = A > 0
    _check_unsigned(R, spec.recip_bits, "reciprocal")
    _check_unsigned(B[full], spec.base_bits, "output shift base")
    _check_unsigned(u[:, :1] * R[:, None], spec.prod_bits, "product")
    return output_words(u, e, mask, R, B, E, spec)[:, :length]


def softmax(x, mask=None, *, spec):
    """:func:`softmax_words` as float64 probabilities: the exact values of the words."""
    return softmax_words(x, mask, spec=spec) / float(spec.one)


def _ref_exp(x, spec):
    """``(u, e)`` of one logit, from the method's definition, in Python integers."""
    exp, W = spec.exp, spec.mant_bits
    if isinstance(exp, ExactExp):
        if not exp.split:
            i = x - exp.x_min
            return exp.tables["u"][i], exp.tables["e"][i]
        k, tb = exp.split, exp.table_bits
        xh, xl = x >> k, x & ((1 << k) - 1)
        uh, eh = exp.tables["hi_u"][xh - exp.xh_min], exp.tables["hi_e"][xh - exp.xh_min]
        ul, el = exp.tables["lo_u"][xl], exp.tables["lo_e"][xl]
        pr, e = uh * ul, eh + el
        sh = 2 * tb - W
        if pr >= 1 << (2 * tb + 1):
            sh, e = sh + 1, e + 1
        u = (pr + (1 << (sh - 1))) >> sh
        if u == 1 << (W + 1):
            u, e = u >> 1, e + 1
        return u, e
    if isinstance(exp, IbertExp):
        e = -((-x) // exp.d)                            # ceil(x / d)
        r = x - exp.d * e
        z = r * (r + exp.b_int) + exp.c_int
        return (z << exp.shift if exp.shift >= 0 else z >> -exp.shift), e
    assert isinstance(exp, SoftermaxExp)
    y = (x * exp.cq) // (1 << exp.gs) if exp.gs >= 0 else x * exp.cq * (1 << -exp.gs)
    af = exp.arg_frac
    e, f = y // (1 << af), y % (1 << af)
    seg = f * 4 // (1 << af)
    mant = (exp.slopes[seg] * f + exp.intercepts[seg] * (1 << af)) // (1 << af)
    return mant << exp.shift, e


def ref_softmax_words(x, mask=None, *, spec):
    """The unit's steps written out, element by element, in Python integers (slow)."""
    length = np.shape(x)[1]
    x, mask = _prepare(x, mask, spec)
    P, G, Q, K = spec.lanes, spec.guard_bits, spec.norm_bits, spec.recip_shift
    out = np.zeros(x.shape, dtype=np.int64)
    for row in range(x.shape[0]):
        parts = [_ref_exp(int(v), spec) for v in x[row]]
        live = [not m for m in mask[row]]
        A, E = 0, spec.exp_min
        for j in range(0, len(parts), P):
            beat = [(u, e) for (u, e), ok in zip(parts[j:j + P], live[j:j + P]) if ok]
            E2 = max([E] + [e for _, e in beat])
            A = (A >> (E2 - E)) + sum((u << G) >> (E2 - e) for u, e in beat)
            E = E2
        if A == 0:
            continue                                    # every element masked: zeros
        bl = A.bit_length()
        abar = A >> (bl - Q - 1) if bl > Q + 1 else A << (Q + 1 - bl)
        R = (1 << K) // abar
        B = bl + K - (Q + 1) - G - spec.frac_bits
        for i, ((u, e), ok) in enumerate(zip(parts, live)):
            if ok:
                sh = B + E - e
                out[row, i] = min(spec.one, (u * R + (1 << (sh - 1))) >> sh)
    return out[:, :length]


def float_softmax(x, mask=None, in_scale=1.0):
    """Plain float64 softmax of ``x * in_scale`` over each row; masked entries are excluded
    and get 0, and a row with every entry masked is all zeros."""
    z = np.asarray(x, dtype=np.float64) * in_scale
    mask = np.zeros(z.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    z = np.where(mask, -np.inf, z)
    top = z.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    ez = np.where(mask, 0.0, np.exp(z - top))
    total = ez.sum(axis=-1, keepdims=True)
    return np.divide(ez, total, out=np.zeros_like(ez), where=total > 0)


def error_lsb(words, x, mask, spec):
    """``|words / 2**F - float_softmax|`` in units of ``2**-F`` (shape of ``words``)."""
    p = float_softmax(x, mask, spec.config.in_scale)
    return np.abs(np.asarray(words, dtype=np.float64) - p * spec.one)
