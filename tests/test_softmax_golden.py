"""The softmax golden model against float64 softmax (the issue's bound, every row shape), against
its literal element-by-element reference, and on the corners the unit promises."""
import dataclasses
import zlib

import numpy as np
import pytest

from lutmix.config import SoftmaxConfig
from lutmix.golden.softmax import (
    error_lsb,
    float_softmax,
    ref_softmax_words,
    softmax,
    softmax_words,
)
from lutmix.softmax_math import softmax_spec
from lutmix.softmax_rows import ACCURACY_LIMIT_LSB, SHAPES, make_rows, top1_preserved

EXACT = {
    "int8-f8": dict(input_bits=8, in_scale=0.0625, out_frac_bits=8, lanes=4),
    "int8-f16": dict(input_bits=8, in_scale=0.0625, out_frac_bits=16, lanes=1),
    "int10-f8-coarse": dict(input_bits=10, in_scale=0.25, out_frac_bits=8, lanes=3),
    "int12-f8": dict(input_bits=12, in_scale=0.01, out_frac_bits=8, lanes=8),
    "int16-f16": dict(input_bits=16, in_scale=2.0 ** -10, out_frac_bits=16, lanes=4),
    "int16-f8-fine": dict(input_bits=16, in_scale=2.0 ** -12, out_frac_bits=8, lanes=2),
}
LENGTHS = [1, 2, 7, 64, 333, 4096]


def seed_of(*parts):
    return zlib.crc32("/".join(map(str, parts)).encode())


@pytest.mark.parametrize("name", list(EXACT))
@pytest.mark.parametrize("shape", list(SHAPES))
def test_exact_within_the_bound_on_every_row(name, shape):
    # max |word/2**F - p| <= 0.6 LSB (F = 8) or 1 LSB (F = 16) against float64 softmax of
    # x * in_scale with masked entries excluded, and the analytic bound holds; top-1 preserved
    spec = softmax_spec(SoftmaxConfig(max_len=4096, **EXACT[name]))
    rng = np.random.default_rng(seed_of(name, shape))
    worst = 0.0
    for length in LENGTHS:
        rows = max(2, 6000 // length)
        x, mask = make_rows(shape, spec, rng, rows, length)
        words = softmax_words(x, mask, spec=spec)
        err = error_lsb(words, x, mask, spec)
        worst = max(worst, float(err.max()))
        assert top1_preserved(words, x, mask).all()
        assert (words[mask] == 0).all()
    assert worst <= spec.error_bound_lsb <= ACCURACY_LIMIT_LSB[spec.frac_bits]
    print(f"{name} {shape}: max error {worst:.4f} LSB (bound {spec.error_bound_lsb:.4f})")


@pytest.mark.parametrize("method", ["exact", "ibert", "softermax"])
@pytest.mark.parametrize("name", ["int8-f8", "int10-f8-coarse", "int12-f8", "int16-f16"])
def test_golden_equals_literal_reference(method, name):
    kwargs = dict(EXACT[name], max_len=200, method=method)
    if method == "ibert" and kwargs["in_scale"] > 1:
        pytest.skip("I-BERT needs in_scale <= 1")
    spec = softmax_spec(SoftmaxConfig(**kwargs))
    rng = np.random.default_rng(seed_of(method, name))
    for shape in SHAPES:
        for length in (1, 5, 37):
            x, mask = make_rows(shape, spec, rng, 3, length)
            assert np.array_equal(softmax_words(x, mask, spec=spec),
                                  ref_softmax_words(x, mask, spec=spec)), (shape, length)


@pytest.mark.parametrize("method", ["exact", "ibert", "softermax"])
def test_corners(method):
    spec = softmax_spec(SoftmaxConfig(lanes=4, max_len=64, method=method))
    one = spec.one
    x = np.array([[3, -7, 100, 5, 0, 2]])
    # a row of length 1, and a row with one unmasked element, give exactly 1.0
    assert softmax_words(x[:, :1], spec=spec).tolist() == [[one]]
    mask = np.ones(x.shape, dtype=bool)
    mask[0, 3] = False
    assert softmax_words(x, mask, spec=spec).tolist() == [[0, 0, 0, one, 0, 0]]
    # a fully masked row gives all zeros
    assert softmax_words(x, np.ones(x.shape, dtype=bool), spec=spec).tolist() == [[0] * 6]
    # all equal: 1/L each, rounded
    eq = np.full((1, 8), 17)
    assert softmax_words(eq, spec=spec).tolist() == [[one // 8] * 8]
    # extreme: all at min, one at max, saturates to exactly 1.0
    ex = np.full((1, 64), spec.x_min)
    ex[0, 9] = spec.x_max
    assert softmax_words(ex, spec=spec)[0, 9] == one
    # masked entries are excluded: masking changes nothing for the others
    m = np.zeros(x.shape, dtype=bool)
    m[0, 2] = True
    assert np.array_equal(softmax_words(x, m, spec=spec)[0, [0, 1, 3, 4, 5]],
                          softmax_words(x[:, [0, 1, 3, 4, 5]], spec=spec)[0])
    assert np.array_equal(softmax(x, m, spec=spec), softmax_words(x, m, spec=spec) / one)


def test_float_reference():
    p = float_softmax(np.array([[0, 16]]), None, 0.0625)
    assert np.allclose(p, [[1 / (1 + np.e), np.e / (1 + np.e)]], rtol=1e-15)
    mask = np.array([[True, False, True], [True, True, True]])
    p = float_softmax(np.array([[5, 1, -3], [0, 0, 0]]), mask, 1.0)
    assert p.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    big = float_softmax(np.array([[32767, -32768]]), None, 1.0)
    assert big.tolist() == [[1.0, 0.0]]


def test_baselines_are_the_worse_peers():
    # the baselines run in the same datapath; only the exp differs, and they do worse
    rng = np.random.default_rng(5)
    figures = {}
    for method in ("exact", "ibert", "softermax"):
        spec = softmax_spec(SoftmaxConfig(method=method))
        x, mask = make_rows("gauss3", spec, np.random.default_rng(7), 300, 64)
        figures[method] = float(error_lsb(softmax_words(x, mask, spec=spec), x, mask,
                                          spec).max())
    assert figures["exact"] < 0.51 < 1.0 < min(figures["ibert"], figures["softermax"])
    assert rng is not None
    print(figures)


def test_widths_are_checked():
    spec = softmax_spec(SoftmaxConfig(max_len=64))
    x = np.full((1, 64), spec.x_max)                       # the largest sum
    softmax_words(x, spec=spec)
    with pytest.raises(OverflowError, match="^sum: values in"):
        softmax_words(x, spec=dataclasses.replace(spec, acc_bits=spec.acc_bits - 1))


@pytest.mark.parametrize("x,mask,message", [
    (np.zeros(4, dtype=int), None, r"Expected X of shape \(rows, length\), not \(4,\)"),
    (np.zeros((2, 4)), None, "X must hold integers, not float64"),
    (np.full((2, 4), 128), None, r"X holds values in \[128, 128\], outside the 8-bit range"),
    (np.zeros((1, 65), dtype=int), None, "Rows of 65 are longer than max_len 64"),
    (np.zeros((2, 4), dtype=int), np.zeros((2, 5), bool),
     r"Mask shape \(2, 5\) does not match X \(2, 4\)"),
])
def test_bad_operands(x, mask, message):
    spec = softmax_spec(SoftmaxConfig(max_len=64))
    with pytest.raises(ValueError, match=message):
        softmax_words(x, mask, spec=spec)
