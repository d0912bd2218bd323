"""The engines' integer golden models against plain integer matmul, and against the engines'
literal loops."""
import dataclasses
import itertools
import zlib

import numpy as np
import pytest

from lutmix.config import SHIFTADD_WEIGHTS, GemmConfig
from lutmix.formats import ACTIVATION_FORMATS, WEIGHT_FORMATS
from lutmix.gemm_spec import gemm_spec
from lutmix.golden import int_gemm, lut_gemm

INT_ACTS = ["int8", "int16"]
ENGINE_WEIGHTS = [(e, w) for e in ("lut", "shiftadd", "mac") for w in WEIGHT_FORMATS
                  if e != "shiftadd" or w in SHIFTADD_WEIGHTS]


def matmul(x, w):
    return np.asarray(x, dtype=np.int64) @ np.asarray(w, dtype=np.int64).T


def random_operands(rng, fmt, afmt, M, N, K):
    w = rng.choice(np.array(fmt.values), size=(N, K))
    x = rng.integers(afmt.min, afmt.max + 1, size=(M, K)).astype(afmt.dtype)
    return w, x


@pytest.mark.parametrize("engine,weight", ENGINE_WEIGHTS)
@pytest.mark.parametrize("activation", INT_ACTS)
@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_golden_equals_matmul_random_and_corners(engine, weight, activation, k):
    fmt, afmt = WEIGHT_FORMATS[weight], ACTIVATION_FORMATS[activation]
    rng = np.random.default_rng(zlib.crc32(f"{engine}/{weight}/{activation}/{k}".encode()))
    for p in sorted({1, fmt.bits, max(1, fmt.bits - 1)}):
        spec = gemm_spec(GemmConfig(engine=engine, weight=weight, activation=activation, k=k,
                                    planes_per_cycle=p, max_k=24))
        w, x = random_operands(rng, fmt, afmt, 5, 7, 61)     # K not a multiple of k, 3 tiles
        x[0], w[0] = afmt.min, fmt.min
        x[1], w[1] = afmt.max, fmt.max
        x[2], w[2] = afmt.min, fmt.max
        x[3] = 0
        y = int_gemm(x, w, spec)
        assert y.dtype == np.int64
        assert np.array_equal(y, matmul(x, w))
        assert np.array_equal(int_gemm(x[:3, :30], w[:4, :30], spec, ref=True),
                              matmul(x[:3, :30], w[:4, :30]))


@pytest.mark.parametrize("weight", [n for n, f in WEIGHT_FORMATS.items() if f.bits <= 4])
def test_exhaustive_one_group_of_two(weight):
    # every int8 activation pair against every weight pair of the format
    fmt = WEIGHT_FORMATS[weight]
    spec = gemm_spec(GemmConfig(weight=weight, k=2, max_k=2))
    a = np.arange(-128, 128)
    x = np.stack(np.meshgrid(a, a, indexing="ij"), -1).reshape(-1, 2).astype(np.int8)
    w = np.array(list(itertools.product(fmt.values, repeat=2)))
    assert np.array_equal(lut_gemm(x, w, spec), matmul(x, w))


@pytest.mark.parametrize("weight,k", [(n, k) for n, f in WEIGHT_FORMATS.items()
                                      for k in (4, 5) if len(f.values) ** k <= 70000])
def test_exhaustive_weight_groups(weight, k):
    # every weight group of the format against extreme and random activations
    fmt = WEIGHT_FORMATS[weight]
    spec = gemm_spec(GemmConfig(weight=weight, k=k, max_k=k))
    w = np.array(list(itertools.product(fmt.values, repeat=k)))
    rng = np.random.default_rng(k)
    x = np.concatenate([np.array(list(itertools.product([-128, 127], repeat=k))),
                        rng.integers(-128, 128, size=(64, k))]).astype(np.int8)
    assert np.array_equal(lut_gemm(x, w, spec), matmul(x, w))


@pytest.mark.parametrize("engine,weight", ENGINE_WEIGHTS)
@pytest.mark.parametrize("activation", INT_ACTS)
def test_widths_hold_the_worst_case_at_full_max_k(engine, weight, activation):
    # the accumulator and result widths are exact enough for the extreme tile, and the golden
    # model notices a register one bit too narrow
    fmt, afmt = WEIGHT_FORMATS[weight], ACTIVATION_FORMATS[activation]
    spec = gemm_spec(GemmConfig(engine=engine, weight=weight, activation=activation,
                                max_k=2048))
    K = 2048
    worst = [(afmt.min, fmt.min), (afmt.min, fmt.max), (afmt.max, fmt.max)]
    x = np.array([[a] * K for a, _ in worst], dtype=afmt.dtype)
    w = np.array([[q] * K for _, q in worst])
    y = int_gemm(x, w, spec)
    assert np.array_equal(y, matmul(x, w))
    narrow = dataclasses.replace(spec, y_bits=spec.y_bits - 1)
    with pytest.raises(OverflowError, match="^result: values in"):
        int_gemm(x, w, narrow)
    narrow = dataclasses.replace(spec, acc_bits=spec.acc_bits - 1)
    with pytest.raises(OverflowError, match="^accumulator: values in"):
        int_gemm(x, w, narrow)


@pytest.mark.parametrize("engine", ["lut", "shiftadd", "mac"])
def test_narrow_partial_is_caught(engine):
    spec = gemm_spec(GemmConfig(engine=engine, weight="int4", max_k=64))
    x = np.full((1, 64), -128, dtype=np.int8)
    w = np.full((1, 64), 7)                   # all code bits set
    with pytest.raises(OverflowError, match="^partial: values in"):
        int_gemm(x, w, dataclasses.replace(spec, partial_bits=spec.partial_bits - 2), ref=True)


def test_bad_operands():
    spec = gemm_spec(GemmConfig())
    with pytest.raises(ValueError, match="^W: value 2 at index \\(0, 0\\) is not an int2 weight"):
        lut_gemm(np.zeros((1, 4), np.int8), np.full((1, 4), 2), spec)
    with pytest.raises(ValueError, match="^X: K = 4 does not match W's K = 5$"):
        lut_gemm(np.zeros((1, 4), np.int8), np.zeros((1, 5), np.int64), spec)


def test_large_gemm_is_vectorized():
    # 4096 x 4096 int2 weights, 16 tokens: seconds, not minutes (not timed; see bench/)
    rng = np.random.default_rng(0)
    spec = gemm_spec(GemmConfig(max_k=4096))
    w = rng.integers(-2, 2, size=(4096, 4096))
    x = rng.integers(-128, 128, size=(16, 4096)).astype(np.int8)
    assert np.array_equal(lut_gemm(x, w, spec), matmul(x, w))
