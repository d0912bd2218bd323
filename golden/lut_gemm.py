"""Bit-exact NumPy model of the LUT engine's array: one accumulation span.

Over a span of ``G`` groups (a weight tile for integer results, one block with dequantization)
the engine computes::

    table[r, g]  = tables(x[r, g*k : g*k+k])                     (entry_bits)
    for c in chunks:                                             (bit-serial, LSB first)
        partial  = sum_pp lookup(table << c*p, word[j, g, c*p+pp]) << pp   (partial_bits)
        acc     += partial                                       (acc_bits)
    xsum        += table[r, g, all-ones index]                   (rowsum_bits)
    V = (acc + offset * xsum) >> log2(denom)                     (sum_bits, then y_bits)

:func:`ref_lut_span` runs exactly that loop; :func:`lut_span` computes the same integers
vectorized: the lookups are a product of the tables with a signed one-hot matrix of the index
words, which float64 BLAS computes exactly because every partial sum is an integer far below
2**53. Both check every value against the RTL's register widths and raise ``OverflowError`` if
one would not fit.
"""

__all__ = ["lut_span", "ref_lut_span", "finish_span"]

import numpy as np

from lutmix import lut
from lutmix.arith import check_range


def finish_span(acc, xsum, spec):
    """Check ``acc`` and ``xsum`` and apply the engine's correction to the dot product V."""
    fmt = spec.weight_format
    engine = spec.config.engine
    check_range(acc, spec.acc_bits, "accumulator")
    check_range(xsum, spec.rowsum_bits, "row sum")
    if engine == "lut":
        total = acc + fmt.offset * xsum[:, None]
        denom = fmt.denom
    elif engine == "shiftadd":
        bias = (1 << (fmt.bits - 1)) if fmt.signed else 0
        total = acc - bias * xsum[:, None]
        denom = 1
    else:
        total = acc
        denom = 1
    check_range(total, spec.sum_bits, "corrected sum")
    if denom == 2:
        assert not (total & 1).any(), "odd corrected sum: the remap is wrong"
        total = total >> 1
    check_range(total, spec.y_bits, "result")
    return total


def lut_span(x, codes, spec, columns=512):
    """One span, vectorized: x (M, G*k) core integers, codes (N, G*k) -> (V, xsum)."""
    k = spec.config.k
    b = spec.weight_format.bits
    J = lut.table_size(k)
    table = lut.tables(x, k)                                   # (M, G, J)
    check_range(table, spec.entry_bits, "table entry")
    check_range(table << (spec.chunks - 1) * spec.config.planes_per_cycle,
                spec.table_reg_bits, "shifted table entry")
    M, G, _ = table.shape
    xsum = table[..., J - 1].sum(axis=1)
    words = lut.index_words(codes, b, k).astype(np.int64)      # (N, G, b)
    low = words & (J - 1)
    sign = np.where((words >> (k - 1)) & 1, 1.0, -1.0) * (1 << np.arange(b))
    flat = table.reshape(M, G * J).astype(np.float64)
    N = codes.shape[0]
    acc = np.empty((M, N), dtype=np.int64)
    for n0 in range(0, N, columns):
        n1 = min(n0 + columns, N)
        onehot = np.zeros((n1 - n0, G, J))
        rows = np.arange(n1 - n0)[:, None]
        cols = np.arange(G)[None, :]
        for i in range(b):
            np.add.at(onehot, (rows, cols, low[n0:n1, :, i]), sign[n0:n1, :, i])
        acc[:, n0:n1] = np.rint(flat @ onehot.reshape(n1 - n0, G * J).T).astype(np.int64)
    return finish_span(acc, xsum, spec), xsum


def ref_lut_span(x, codes, spec):
    """The engine's loop, written out: group by group, chunk by chunk, slot by slot."""
    c = spec.config
    k, p, b = c.k, c.planes_per_cycle, spec.weight_format.bits
    J = lut.table_size(k)
    M, N = x.shape[0], codes.shape[0]
    words = lut.index_words(codes, b, k)                       # (N, G, b)
    acc = np.zeros((M, N), dtype=np.int64)
    xsum = np.zeros(M, dtype=np.int64)
    for g in range(x.shape[1] // k):
        table = lut.tables(x[:, g * k:(g + 1) * k], k)[:, 0, :]   # (M, J)
        check_range(table, spec.entry_bits, "table entry")
        xsum += table[:, J - 1]
        for chunk in range(spec.chunks):
            partial = np.zeros_like(acc)
            for pp in range(p):
                plane = chunk * p + pp
                if plane < b:
                    picked = lut.lookup(table[:, None, :].repeat(N, 1),
                                        words[None, :, g, plane, None].repeat(M, 0), k)
                    partial += picked[..., 0] << pp
            check_range(partial, spec.partial_bits, "partial")
            acc += partial
            check_range(acc, spec.acc_bits, "accumulator")
            table = table << p
            if chunk < spec.chunks - 1:
                check_range(table, spec.table_reg_bits, "shifted table entry")
    return finish_span(acc, xsum, spec), xsum
