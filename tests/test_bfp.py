"""Block-floating-point alignment of fp16/bf16 activations, against exact arithmetic."""
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from lutmix import bfp
from lutmix.formats import activation_format


def exact_align(values, fmt):
    """The alignment written out with Fractions: round(x / 2**shift) to nearest even."""
    finite = [v for v in values if np.isfinite(v) and v != 0]
    if finite:
        emax = max(max(int(np.frexp(v)[1]) - 1 + fmt.bias, 1) for v in finite)
    else:
        emax = 1
    shift = emax - fmt.bias - fmt.frac_bits - fmt.guard_bits
    out = []
    for v in values:
        if not np.isfinite(v):
            out.append(0)
            continue
        q = Fraction(float(v)) / Fraction(2) ** shift
        out.append(round(q))               # Python rounds halves to even
    return out, shift


@pytest.mark.parametrize("name", ["fp16", "bf16"])
def test_align_matches_exact_rounding(name):
    fmt = activation_format(name)
    rng = np.random.default_rng(1)
    dtype = np.float16 if name == "fp16" else ml_dtypes.bfloat16
    blocks = [
        rng.standard_normal(32) * np.exp(rng.uniform(-6, 6)),
        np.r_[rng.standard_normal(31), 300.0],                     # one outlier
        np.zeros(32), -np.zeros(32),
        np.r_[np.full(31, 2.0 ** -14), 1.0],                       # subnormal-sized (fp16)
        np.r_[1.0, np.full(31, 3.0 * 2.0 ** -20)],                 # exact ties in the shift
        np.linspace(-1, 1, 32),
    ]
    for block in blocks:
        values = np.asarray(block).astype(dtype).astype(np.float64)
        mant, shift, special = bfp.align(fmt.to_bits(values)[None, :], fmt)
        expect, expect_shift = exact_align(values, fmt)
        assert mant[0].tolist() == expect
        assert int(shift[0]) == expect_shift and not special[0]
        assert np.abs(mant).max() <= fmt.core_max
        # the block's largest element is exact
        big = np.argmax(np.abs(values))
        assert mant[0, big] * 2.0 ** shift[0] == values[big]


@pytest.mark.parametrize("name", ["fp16", "bf16"])
def test_specials_mark_the_block(name):
    fmt = activation_format(name)
    x = np.array([[1.0, np.inf, 2.0], [1.0, 2.0, 3.0], [np.nan, 0.0, -1.0]], dtype=np.float32)
    mant, shift, special = bfp.align(fmt.to_bits(x), fmt)
    assert special.tolist() == [True, False, True]
    assert mant[0, 1] == 0 and mant[2, 0] == 0


def test_alignment_error_relative_to_the_block_maximum():
    # half an aligned LSB: |x - M * 2**shift| <= 2**(shift-1) <= 2**-(frac+guard+1) * max|x|
    fmt = activation_format("fp16")
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((2000, 64)) * np.exp(rng.uniform(-4, 4, (2000, 1))))
    x = x.astype(np.float16)
    mant, shift, _ = bfp.align(fmt.to_bits(x), fmt)
    err = np.abs(mant * 2.0 ** shift[:, None] - x.astype(np.float64))
    assert (err.max(axis=1) <= 2.0 ** -15 * np.abs(x.astype(np.float64)).max(axis=1)).all()
    assert (err <= 2.0 ** (shift[:, None] - 1)).all()
