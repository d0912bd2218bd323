"""Bit-exact NumPy model of the LUT mpGEMM engine.

The engine computes, for each weight tile of at most ``max_groups`` LUT groups::

    table[r, g]  = tables(x[r, g*k : g*k+k])                     (entry_bits)
    for c in chunks:                                             (bit-serial, LSB first)
        partial  = sum_pp lookup(table << c*p, word[j, g, c*p+pp]) << pp   (partial_bits)
        acc     += partial                                       (acc_bits)
    rowsum      += table[r, g, all-ones index]                   (rowsum_bits)
    y = (acc + offset * rowsum) >> log2(denom)                   (sum_bits, then y_bits)

and the drivers add the tiles of a K longer than ``max_k``. :func:`ref_lut_gemm` runs exactly
that loop; :func:`lut_gemm` computes the same integers vectorized: the lookups of a tile are a
product of the tables with a signed one-hot matrix of the index words, which float64 BLAS
computes exactly because every partial sum is an integer far below 2**53. Both check every
value against the RTL's register widths and raise ``OverflowError`` if one would not fit.
"""

__all__ = ["lut_gemm", "ref_lut_gemm", "k_tiles"]

import numpy as np

from lutmix import lut
from lutmix.arith import check_range
from lutmix.gemm_spec import GemmSpec


def _prepare(x, w, spec):
    if not isinstance(spec, GemmSpec):
        raise TypeError(f"spec must be a GemmSpec, not {spec!r}")
    x = np.asarray(x)
    w = np.asarray(w)
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(f"Expected X (M, K) and W (N, K), not {x.shape} and {w.shape}")
    spec.weight_format.check(w)
    k = spec.config.k
    pad = -x.shape[1] % k
    x = np.pad(x.astype(np.int64), ((0, 0), (0, pad)))
    codes = np.pad(spec.weight_format.encode(w), ((0, 0), (0, pad)))
    return x, codes


def k_tiles(K, spec):
    """The ``[start, stop)`` column ranges of the weight tiles a length-``K`` reduction uses.

    ``K`` is first padded to a multiple of ``k``; each tile holds at most ``max_groups`` groups.
    """
    k = spec.config.k
    kp = -(-K // k) * k
    step = spec.max_groups * k
    return [(s, min(s + step, kp)) for s in range(0, max(kp, 1), step)]


def _finish(acc, rowsum, spec):
    fmt = spec.weight_format
    check_range(acc, spec.acc_bits, "accumulator")
    check_range(rowsum, spec.rowsum_bits, "row sum")
    total = acc + fmt.offset * rowsum[:, None]
    check_range(total, spec.sum_bits, "corrected sum")
    if fmt.denom == 2:
        assert not (total & 1).any(), "odd corrected sum: the remap is wrong"
        total = total >> 1
    check_range(total, spec.y_bits, "result")
    return total


def _tile(x, codes, spec, columns=512):
    """One weight tile, vectorized: x (M, G*k), codes (N, G*k) -> y (M, N)."""
    k = spec.config.k
    b = spec.weight_format.bits
    J = lut.table_size(k)
    table = lut.tables(x, k)                                   # (M, G, J)
    check_range(table, spec.entry_bits, "table entry")
    check_range(table << (spec.chunks - 1) * spec.config.planes_per_cycle,
                spec.table_reg_bits, "shifted table entry")
    M, G, _ = table.shape
    rowsum = table[..., J - 1].sum(axis=1)
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
    return _finish(acc, rowsum, spec)


def lut_gemm(x, w, spec):
    """``X @ W.T`` computed as the LUT engine computes it, bit for bit.

    Parameters
    ----------
    x : ndarray of int, shape (M, K)
        Activations in the spec's activation format.
    w : ndarray of int, shape (N, K)
        Weights in the spec's weight format (values, not codes).
    spec : GemmSpec

    Returns
    -------
    ndarray of int64, shape (M, N)
    """
    x, codes = _prepare(x, w, spec)
    y = np.zeros((x.shape[0], codes.shape[0]), dtype=np.int64)
    for k0, k1 in k_tiles(x.shape[1], spec):
        y += _tile(x[:, k0:k1], codes[:, k0:k1], spec)
    return y


def ref_lut_gemm(x, w, spec):
    """The engine's loop, written out: group by group, chunk by chunk, slot by slot.

    Slow; for checking :func:`lut_gemm` on small shapes.
    """
    x, codes = _prepare(x, w, spec)
    c = spec.config
    k, p, b = c.k, c.planes_per_cycle, spec.weight_format.bits
    J = lut.table_size(k)
    y = np.zeros((x.shape[0], codes.shape[0]), dtype=np.int64)
    for k0, k1 in k_tiles(x.shape[1], spec):
        words = lut.index_words(codes[:, k0:k1], b, k)           # (N, G, b)
        acc = np.zeros_like(y)
        rowsum = np.zeros(x.shape[0], dtype=np.int64)
        for g in range((k1 - k0) // k):
            table = lut.tables(x[:, k0 + g * k:k0 + (g + 1) * k], k)[:, 0, :]   # (M, J)
            check_range(table, spec.entry_bits, "table entry")
            rowsum += table[:, J - 1]
            for chunk in range(spec.chunks):
                partial = np.zeros_like(y)
                for pp in range(p):
                    plane = chunk * p + pp
                    if plane < b:
                        picked = lut.lookup(table[:, None, :].repeat(len(words), 1),
                                            words[None, :, g, plane, None].repeat(len(x), 0), k)
                        partial += picked[..., 0] << pp
                check_range(partial, spec.partial_bits, "partial")
                acc += partial
                check_range(acc, spec.acc_bits, "accumulator")
                table = table << p
                if chunk < spec.chunks - 1:
                    check_range(table, spec.table_reg_bits, "shifted table entry")
        y += _finish(acc, rowsum, spec)
    return y
