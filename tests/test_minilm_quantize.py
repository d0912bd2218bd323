"""The quantizers of lutmix.models.quantize: codes in range, round-trip bounds, the layout."""

import numpy as np
import pytest

from lutmix.config import GemmConfig
from lutmix.formats import weight_format
from lutmix.gemm_spec import gemm_spec
from lutmix.golden.gemm import gemm
from lutmix.models.quantize import (
    QUANTIZATIONS,
    quantize_int2,
    quantize_ternary,
    quantize_tokens,
    quantize_uint,
    quantize_weight,
)


def weights(seed, N=24, K=256, outliers=True):
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.05, size=(N, K))
    if outliers:
        w[rng.integers(0, N, 8), rng.integers(0, K, 8)] *= 20
    w[0, :128] = 0.0                      # an all-zero group
    w[1, :128] = np.abs(w[1, :128])        # an all-positive group
    return w


def per_element_scale(qw, shape):
    N, K = shape
    s = qw.scales.astype(np.float64)
    if qw.group_size == "tensor":
        return np.full(shape, s[0, 0])
    return np.repeat(s, qw.group_size, axis=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_uint4_round_trip(seed, dtype):
    w = weights(seed)
    qw = quantize_uint(w, 128, 4, dtype)
    assert qw.q.min() >= 0 and qw.q.max() <= 15
    assert qw.scales.dtype == dtype and qw.scales.shape == (24, 2)
    assert qw.zeros.shape == (24, 2) and qw.zeros.min() >= 0 and qw.zeros.max() <= 15
    err = np.abs(qw.dequantize() - w)
    s = per_element_scale(qw, w.shape)
    # half a step, plus the scale's rounding to the scale format over 15 steps
    assert (err <= s * (0.5 + 15 * 2.0 ** -10)).all(), (err / s).max()
    assert (qw.dequantize()[0, :128] == 0).all()          # zero stays exactly zero
    # the dequantized weight is (q - z) * s exactly as the engine computes it
    z = np.repeat(qw.zeros, 128, axis=1)
    np.testing.assert_array_equal(qw.dequantize(), (qw.q - z) * s)


@pytest.mark.parametrize("seed", [0, 1])
def test_int2_round_trip(seed):
    w = weights(seed, K=128)
    qw = quantize_int2(w, 64)
    assert set(np.unique(qw.q)) <= {-2, -1, 0, 1} and qw.zeros is None
    s = per_element_scale(qw, w.shape)
    inside = (w >= -2.5 * s) & (w <= 1.5 * s)
    err = np.abs(qw.dequantize() - w)
    assert (err[inside] <= s[inside] / 2 * (1 + 1e-12)).all()
    # the searched scale is never worse than absmax / 2 (one of the candidates)
    g = w.reshape(24, 2, 64)
    s0 = (np.abs(g).max(-1) / 2).astype(np.float16).astype(np.float64)[..., None]
    s0 = np.where(s0 > 0, s0, 1.0)
    plain = ((np.clip(np.round(g / s0), -2, 1) * s0 - g) ** 2).sum(-1)
    ours = ((qw.dequantize().reshape(24, 2, 64) - g) ** 2).sum(-1)
    assert (ours <= plain * (1 + 1e-12)).all()


def test_ternary_is_bitnets_absmean():
    w = weights(3)
    qw = quantize_ternary(w)
    assert qw.scales.shape == (1, 1) and qw.scales.dtype == np.float16
    assert float(qw.scales[0, 0]) == float(np.float16(np.abs(w).mean()))
    assert set(np.unique(qw.q)) <= {-1, 0, 1}
    s = float(qw.scales[0, 0])
    inside = np.abs(w) <= 1.5 * s
    assert (np.abs(qw.dequantize() - w)[inside] <= s / 2).all()


@pytest.mark.parametrize("bits", [8, 16])
def test_tokens_round_trip(bits):
    rng = np.random.default_rng(bits)
    x = rng.normal(0, 1, size=(7, 384)) * rng.uniform(0.01, 30, size=(7, 1))
    x[3] = 0.0
    q, s = quantize_tokens(x, bits)
    qmax = (1 << (bits - 1)) - 1
    assert q.dtype == (np.int8 if bits == 8 else np.int16)
    assert (np.abs(q).max(axis=1)[[0, 1, 2, 4, 5, 6]] == qmax).all() and s[3] == 1.0
    assert (np.abs(q * s[:, None] - x) <= s[:, None] / 2 * (1 + 1e-12)).all()


def test_unknown_quantization():
    with pytest.raises(ValueError) as info:
        quantize_weight(np.zeros((4, 128)), "int3-g128")
    assert str(info.value) == ("quantization must be one of 'uint4-g128', 'int2-g64', "
                               "'ternary', not 'int3-g128'")


@pytest.mark.parametrize("name", list(QUANTIZATIONS))
def test_layout_is_what_the_engine_takes(name):
    """The golden engine with the quantization's format and group size computes
    x @ dequantize().T (to float32 rounding) from the codes, scales and zero points."""
    qz = QUANTIZATIONS[name]
    w = weights(4, N=16, K=256, outliers=False)
    qw = quantize_weight(w, name)
    fmt = weight_format(qz.weight)
    assert np.isin(qw.q, fmt.values).all()
    x, sx = quantize_tokens(np.random.default_rng(5).normal(size=(3, 256)))
    spec = gemm_spec(GemmConfig(weight=qz.weight, activation="int8", group_size=qz.group_size,
                                m=2, n=8, k=4, max_k=256))
    y = gemm(x, qw.q, spec, qw.scales, qw.zeros).astype(np.float64)
    exact = x.astype(np.float64) @ qw.dequantize().T
    np.testing.assert_allclose(y, exact, rtol=1e-5, atol=1e-5 * np.abs(exact).max())
