"""Bit-exact NumPy model of the baseline MAC engine's array: one accumulation span.

Each processing element decodes its weights to signed integers and multiplies::

    partial  = sum_t x[r, t] * q[j, t]        (partial_bits; k multipliers per PE)
    acc     += partial                        (acc_bits)
    xsum    += sum_t x[r, t]                  (rowsum_bits, for the zero points)
    V = acc
"""

__all__ = ["mac_span", "ref_mac_span"]

import numpy as np

from lutmix.arith import check_range

from .lut_gemm import finish_span


def mac_span(x, codes, spec):
    """One span, vectorized: x (M, G*k) core integers, codes (N, G*k) -> (V, xsum)."""
    q = spec.weight_format.decode(codes).astype(np.float64)
    acc = np.rint(x.astype(np.float64) @ q.T).astype(np.int64)
    return finish_span(acc, x.sum(axis=1), spec), x.sum(axis=1)


def ref_mac_span(x, codes, spec):
    """The engine's loop, written out."""
    k = spec.config.k
    q = spec.weight_format.decode(codes)
    acc = np.zeros((x.shape[0], codes.shape[0]), dtype=np.int64)
    for g in range(x.shape[1] // k):
        xs = x[:, g * k:(g + 1) * k].astype(np.int64)
        partial = xs @ q[:, g * k:(g + 1) * k].T
        check_range(partial, spec.partial_bits, "partial")
        acc += partial
        check_range(acc, spec.acc_bits, "accumulator")
    return finish_span(acc, x.sum(axis=1), spec), x.sum(axis=1)
