"""softmax_math: the exp tables against float64, the baselines' integer steps against their
defining formulas, the primitives, and the widths and error bound the datapath relies on."""
import math

import numpy as np
import pytest

from lutmix.config import SoftmaxConfig
from lutmix.softmax_math import (
    IBERT_COEF,
    bit_length,
    reciprocal,
    round_shift,
    softmax_spec,
)
from lutmix.softmax_rows import ACCURACY_LIMIT_LSB

SCALES = [2.0 ** -24, 2.0 ** -10, 0.01, 0.0625, 0.3, 1.0, 256.0]


def spec_of(**kwargs):
    return softmax_spec(SoftmaxConfig(**kwargs))


def all_inputs(spec):
    return np.arange(spec.x_min, spec.x_max + 1, dtype=np.int64)


@pytest.mark.parametrize("bits", [8, 10, 11, 16])
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("frac", [8, 16])
def test_exact_exp_is_correctly_rounded(bits, scale, frac):
    spec = spec_of(input_bits=bits, in_scale=scale, out_frac_bits=frac)
    W = spec.mant_bits
    x = all_inputs(spec)
    u, e = spec.exp_parts(x)
    assert ((u >= 1 << W) & (u < 1 << (W + 1))).all()
    # the mantissa against float64 2**(x*c - e); float64 is exact to ~1e-12 here
    want = 2.0 ** W * np.exp2(x * (scale / math.log(2)) - e)
    err = np.abs(u - want)
    if bits <= 10:
        assert err.max() <= 0.5 + 1e-6                  # one rounding
        assert spec.exp.split == 0
    else:
        assert err.max() <= 0.5 + 2 * 2.0 ** -3 * 2 + 1e-6    # two W+2-bit tables, a product
        assert spec.exp.split == (bits + 1) // 2
    assert spec.exp_rel_error <= 0.75 * 2.0 ** -W


@pytest.mark.parametrize("bits", [8, 11, 14, 16])
@pytest.mark.parametrize("frac", [8, 16])
def test_exact_exp_never_decreases(bits, frac):
    # (u, e) is non-decreasing in x at every scale, so the output words are too and the largest
    # logit always keeps the largest word; at tiny scales the split tables widen to keep it so
    for scale in np.geomspace(2.0 ** -24, 256.0, 25):
        spec = spec_of(input_bits=bits, in_scale=float(scale), out_frac_bits=frac)
        u, e = spec.exp_parts(all_inputs(spec))
        assert (np.diff((e << (spec.mant_bits + 1)) + u) >= 0).all()
        assert spec.exp.table_bits <= 30


@pytest.mark.parametrize("bits", [8, 12, 16])
@pytest.mark.parametrize("scale", SCALES[:-1])          # I-BERT needs in_scale <= 1
def test_ibert_steps_equal_the_formulas(bits, scale):
    # I-BERT: e = ceil(x / d), r = x - d*e in (-d, 0], z = r*(r + b_int) + c_int > 0; the RTL's
    # ceil by a magic multiply must be exact for every input
    spec = spec_of(input_bits=bits, in_scale=scale, method="ibert")
    ib = spec.exp
    a, b, c = IBERT_COEF
    assert ib.d == -math.floor(-0.6931 / scale)
    assert ib.b_int == math.floor(b / a / scale) and ib.c_int == math.floor(c / a / scale ** 2)
    x = all_inputs(spec)
    e, r, z = ib.parts(x)
    assert np.array_equal(e, -((-x) // ib.d))
    assert ((r > -ib.d) & (r <= 0)).all()
    assert np.array_equal(z, r * (r + ib.b_int) + ib.c_int) and (z > 0).all()
    u, _ = spec.exp_parts(x)
    assert (u < 1 << (spec.mant_bits + 1)).all() and u.max() >= 1 << spec.mant_bits


def test_ibert_polynomial_is_positive_over_the_allowed_scales():
    for scale in np.geomspace(2.0 ** -24, 1.0, 400):
        for bits in (8, 16):
            assert spec_of(input_bits=bits, in_scale=float(scale), method="ibert").u_min > 0


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("scale", SCALES)
def test_softermax_steps_equal_the_formulas(bits, scale):
    spec = spec_of(input_bits=bits, in_scale=scale, method="softermax")
    sm = spec.exp
    x = all_inputs(spec)
    y, e, f, mant = sm.parts(x)
    assert 2 ** 15 <= sm.cq <= 2 ** 16
    assert np.array_equal(y, np.floor(x * sm.cq / 2.0 ** sm.gs).astype(np.int64))
    assert np.array_equal(e * 16 + f, y) and ((f >= 0) & (f < 16)).all()
    # 4 linear pieces through 2**(s/4): within 0.5% of 2**frac, plus 8-bit rounding
    assert np.abs(mant / 256.0 - 2.0 ** (f / 16.0)).max() < 0.008
    line = (np.array(sm.slopes)[f // 4] * f + np.array(sm.intercepts)[f // 4] * 16) // 16
    assert np.array_equal(mant, line)


def test_primitives():
    rng = np.random.default_rng(0)
    v = rng.integers(0, 1 << 50, size=2000)
    sh = rng.integers(1, 55, size=2000)
    want = [int(math.floor(int(a) / 2 ** int(s) + 0.5)) for a, s in zip(v, sh)]
    assert round_shift(v, sh).tolist() == want
    a = np.concatenate([[0, 1, 2, 3, (1 << 62) - 1, 1 << 62], rng.integers(0, 1 << 60, 500)])
    assert bit_length(a).tolist() == [int(n).bit_length() for n in a]
    spec = spec_of()
    d = np.array([1 << spec.norm_bits, (1 << (spec.norm_bits + 1)) - 1, 0])
    assert reciprocal(d, spec).tolist() == [1 << (spec.norm_bits + 1),
                                            (1 << spec.recip_shift) // int(d[1]), 0]


@pytest.mark.parametrize("frac", [8, 16])
@pytest.mark.parametrize("bits,scale", [(8, 0.0625), (8, 1.0), (12, 0.01), (16, 2.0 ** -10),
                                        (16, 1.0), (16, 2.0 ** -24)])
@pytest.mark.parametrize("max_len,lanes", [(1, 1), (4096, 4), (65536, 1), (65536, 64)])
def test_error_bound_meets_the_requirement(frac, bits, scale, max_len, lanes):
    # the analytic bound of the exact method (exp rounding, truncated sum, normalization,
    # reciprocal, final rounding) is below the limit for every row up to max_len
    spec = spec_of(input_bits=bits, in_scale=scale, out_frac_bits=frac, max_len=max_len,
                   lanes=lanes)
    assert 0.5 < spec.error_bound_lsb < 0.52 < ACCURACY_LIMIT_LSB[frac]


def test_widths_and_latency():
    spec = spec_of()
    Q = spec.norm_bits
    assert (spec.mant_bits, Q, spec.recip_shift) == (16, 18, 37)
    assert spec.latency == Q + 10 == spec.divider_stages + 8
    assert spec.base_min >= 1
    assert spec.buffer_depth >= spec.max_beats + spec.latency
    assert spec.meta_depth >= spec.latency
    # the sum register holds the longest row of the largest mantissas
    assert spec.acc_bits == (spec.max_elems * spec.u_max << spec.guard_bits).bit_length()
    assert spec_of(method="ibert").error_bound_lsb is None
    with pytest.raises(TypeError, match="^config must be a SoftmaxConfig, not 3$"):
        softmax_spec(3)
