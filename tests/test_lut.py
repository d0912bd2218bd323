"""The LUT math of lutmix.lut, checked against plain sums over sign patterns."""
import itertools

import numpy as np
import pytest

from lutmix import lut
from lutmix.arith import signed_bits


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_table_is_every_sign_pattern_with_top_positive(k):
    rng = np.random.default_rng(k)
    x = rng.integers(-128, 128, size=(6, 3 * k))
    table = lut.tables(x, k)
    assert table.shape == (6, 3, 1 << (k - 1))
    for j in range(1 << (k - 1)):
        signs = [1 if (j >> t) & 1 else -1 for t in range(k - 1)] + [1]
        expect = (x.reshape(6, 3, k) * np.array(signs)).sum(-1)
        assert np.array_equal(table[..., j], expect)
    assert np.array_equal(table, x.reshape(6, 3, k) @ lut.sign_patterns(k).T)


@pytest.mark.parametrize("k", [2, 3, 4, 5])
@pytest.mark.parametrize("bits", [1, 2, 3, 4, 8])
def test_index_words_select_the_plane_sum(k, bits):
    # Exhaustive over the codes of one group (sampled for wide codes): the looked-up value is
    # exactly sum_t x_t * (2*bit_t - 1) for every plane.
    rng = np.random.default_rng(bits * 10 + k)
    x = rng.integers(-128, 128, size=(1, k))
    table = lut.tables(x, k)[0]                               # (1, J)
    if (1 << bits) ** k <= 4096:
        all_codes = np.array(list(itertools.product(range(1 << bits), repeat=k)))
    else:
        all_codes = rng.integers(0, 1 << bits, size=(4096, k))
    words = lut.index_words(all_codes, bits, k)[:, 0, :]      # (C, bits)
    for i in range(bits):
        signs = 2 * ((all_codes >> i) & 1) - 1
        expect = signs @ x[0]
        got = lut.lookup(np.broadcast_to(table, (len(words), table.shape[-1])),
                         words[:, i:i + 1], k)[:, 0]
        assert np.array_equal(got, expect)
    assert np.array_equal(lut.codes_from_index_words(words[:, None, :], k), all_codes)


@pytest.mark.parametrize("k", [2, 3, 4, 5])
@pytest.mark.parametrize("lo,hi", [(-128, 127), (-32768, 32767)])
def test_table_bounds_are_tight(k, lo, hi):
    tmin, tmax = lut.table_bounds(k, lo, hi)
    extremes = np.array([[lo] * k, [hi] * k, [lo] * (k - 1) + [hi], [hi] * (k - 1) + [lo]])
    table = lut.tables(extremes, k)
    values = np.concatenate([table.ravel(), -table.ravel()])
    assert values.min() == tmin and values.max() == tmax


def test_signed_bits():
    assert signed_bits(-128, 127) == 8
    assert signed_bits(-129, 127) == 9
    assert signed_bits(-128, 128) == 9
    assert signed_bits(0, 0) == 1
    assert signed_bits(-1, 0) == 1
