"""The symmetrized lookup table of LUT Tensor Core, defined once for RTL, golden model and drivers.

For a group of ``k`` activations ``x[0..k-1]`` and one weight bit-plane, each weight bit reads
as a sign ``s[t] = 2*u[t] - 1``. The dot product of the group with that plane is one of the
``2**k`` signed sums. Because the sum for ``s`` is minus the sum for ``-s``, only the half with
``s[k-1] = +1`` is stored:

    table[j] = x[k-1] + sum_{t < k-1} (+x[t] if bit t of j else -x[t]),   j < 2**(k-1)

A plane's ``k`` code bits become an *index word* of ``k`` bits when weights are packed: bit
``k-1`` is the code's top bit (1 = use the entry, 0 = negate it) and the low ``k-1`` bits are
the code's low bits, inverted when the top bit is 0. The hardware looks up ``table[low]`` and
negates it when the top bit is 0; it never inverts an index.

The table is built by doubling: start from ``[x[k-1]]`` and, for ``t = k-2`` down to ``0``,
replace every partial sum ``v`` by ``v - x[t]`` (bit ``t`` clear) and ``v + x[t]`` (set).
That takes ``2**k - 2`` adders; the RTL and :func:`tables` share this order.
"""

__all__ = [
    "table_size", "sign_patterns", "table_bounds", "tables", "index_words",
    "codes_from_index_words", "lookup",
]

import numpy as np


def table_size(k):
    """Entries in one symmetrized table: ``2**(k-1)``."""
    return 1 << (k - 1)


def sign_patterns(k):
    """The ``(2**(k-1), k)`` matrix of +-1 signs: ``tables(x) == x @ sign_patterns(k).T``."""
    j = np.arange(table_size(k))[:, None]
    t = np.arange(k)[None, :]
    s = np.where((j >> t) & 1, 1, -1)
    s[:, k - 1] = 1
    return s.astype(np.int64)


def table_bounds(k, lo, hi):
    """Exact ``(min, max)`` of table entries and of their negations for activations in ``[lo, hi]``.

    Entries have ``s[k-1] = +1``; ``x[k-1] in [lo, hi]``, the other terms in ``[-hi', hi']`` with
    ``hi' = max(|lo|, |hi|)``. Negation mirrors the range, so the bound covers both.
    """
    other = max(abs(lo), abs(hi))
    tmin = lo - (k - 1) * other
    tmax = hi + (k - 1) * other
    return min(tmin, -tmax), max(tmax, -tmin)


def tables(x, k):
    """Build the symmetrized tables of activation groups.

    Parameters
    ----------
    x : ndarray of int, shape (..., G*k)
        Activations; the last axis is split into groups of ``k``.
    k : int
        LUT group size.

    Returns
    -------
    ndarray of int64, shape (..., G, 2**(k-1))
        ``table[..., g, j]`` as in the module docstring.
    """
    x = np.asarray(x, dtype=np.int64)
    if x.shape[-1] % k:
        raise ValueError(f"Activation length {x.shape[-1]} is not a multiple of k={k}")
    xg = x.reshape(*x.shape[:-1], x.shape[-1] // k, k)
    entries = xg[..., k - 1:k]
    for t in range(k - 2, -1, -1):
        xt = xg[..., t:t + 1]
        # the new bit t becomes the lowest bit of the index: interleave (v - x_t, v + x_t)
        entries = np.stack([entries - xt, entries + xt], axis=-1).reshape(
            *entries.shape[:-1], -1)
    # Each doubling makes the new x[t] the lowest index bit and shifts earlier ones up, so
    # after t=0 the position of an entry is j with bit t = sign of x[t].
    return entries


def index_words(codes, bits, k):
    """Turn weight codes into the per-plane index words the hardware reads.

    Parameters
    ----------
    codes : ndarray of uint, shape (..., G*k)
        Weight codes (see :mod:`lutmix.formats`); the last axis is split into groups of ``k``.
    bits : int
        Code width (number of bit-planes).
    k : int
        LUT group size.

    Returns
    -------
    ndarray of uint8, shape (..., G, bits)
        For each group and plane ``i`` (LSB first), the ``k``-bit index word: bit ``k-1`` is the
        sign select (1 = positive), the low ``k-1`` bits index the table.
    """
    codes = np.asarray(codes, dtype=np.int64)
    cg = codes.reshape(*codes.shape[:-1], codes.shape[-1] // k, k)
    planes = (cg[..., None, :] >> np.arange(bits)[:, None]) & 1       # (..., G, bits, k)
    top = planes[..., k - 1]
    low = np.zeros_like(top)
    for t in range(k - 1):
        low |= planes[..., t] << t
    low ^= np.where(top == 1, 0, table_size(k) - 1)
    return (low | (top << (k - 1))).astype(np.uint8)


def codes_from_index_words(words, k):
    """Invert :func:`index_words`: ``(..., G, bits)`` index words to ``(..., G*k)`` codes."""
    words = np.asarray(words, dtype=np.int64)
    top = (words >> (k - 1)) & 1
    low = (words & (table_size(k) - 1)) ^ np.where(top == 1, 0, table_size(k) - 1)
    planes = np.concatenate(
        [(low[..., None] >> np.arange(k - 1)) & 1, top[..., None]], axis=-1)  # (..., G, bits, k)
    codes = (planes << np.arange(words.shape[-1])[:, None]).sum(axis=-2)     # (..., G, k)
    return codes.reshape(*codes.shape[:-2], -1).astype(np.uint8)


def lookup(table, word, k):
    """The signed table value an index word selects: ``table[low]`` or ``-table[low]``."""
    word = np.asarray(word, dtype=np.int64)
    low = word & (table_size(k) - 1)
    top = (word >> (k - 1)) & 1
    value = np.take_along_axis(table, low, axis=-1)
    return np.where(top == 1, value, -value)
