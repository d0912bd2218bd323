"""Bit-exact NumPy model of the shift-add engine's array (MixPE style): one accumulation span.

Each processing element multiplies by shifting and adding: for each group of ``k``
activations and each chunk ``c`` of ``planes_per_cycle`` weight bit-planes::

    xs       = x[r, group] << c*p                      (table_reg_bits, shared by the n PEs)
    partial  = sum_t sum_pp (bit c*p+pp of code u[j,t]) ? xs[t] << pp : 0     (partial_bits)
    acc     += partial                                 (acc_bits)
    xsum    += sum_t x[r, t]                           (rowsum_bits, once per group)
    V = acc - bias * xsum                              (bias = 2**(b-1) for signed formats)

The codes ``u`` are unsigned (:mod:`lutmix.formats`), so ``acc = sum(x * u)`` and the signed
weights' offset comes out with the activation sum, exactly as a zero point would.
"""

__all__ = ["shiftadd_span", "ref_shiftadd_span"]

import numpy as np

from lutmix.arith import check_range

from .lut_gemm import finish_span


def shiftadd_span(x, codes, spec):
    """One span, vectorized: x (M, G*k) core integers, codes (N, G*k) -> (V, xsum)."""
    check_range(x << (spec.chunks - 1) * spec.config.planes_per_cycle, spec.table_reg_bits,
                "shifted activation")
    acc = np.rint(x.astype(np.float64) @ codes.astype(np.float64).T).astype(np.int64)
    xsum = x.sum(axis=1)
    return finish_span(acc, xsum, spec), xsum


def ref_shiftadd_span(x, codes, spec):
    """The engine's loop, written out."""
    c = spec.config
    k, p, b = c.k, c.planes_per_cycle, spec.weight_format.bits
    M, N = x.shape[0], codes.shape[0]
    codes = codes.astype(np.int64)
    acc = np.zeros((M, N), dtype=np.int64)
    xsum = np.zeros(M, dtype=np.int64)
    for g in range(x.shape[1] // k):
        xs = x[:, g * k:(g + 1) * k].astype(np.int64)          # (M, k)
        u = codes[:, g * k:(g + 1) * k]                         # (N, k)
        xsum += xs.sum(axis=1)
        for chunk in range(spec.chunks):
            partial = np.zeros_like(acc)
            for pp in range(p):
                plane = chunk * p + pp
                if plane < b:
                    bit = (u >> plane) & 1                       # (N, k)
                    partial += (xs << pp) @ bit.T
            check_range(partial, spec.partial_bits, "partial")
            acc += partial
            check_range(acc, spec.acc_bits, "accumulator")
            xs = xs << p
            if chunk < spec.chunks - 1:
                check_range(xs, spec.table_reg_bits, "shifted activation")
    return finish_span(acc, xsum, spec), xsum
