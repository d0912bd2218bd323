"""Per-group dequantization: the golden model against float64 mathematics, every engine alike,
IEEE-like special values, and one-line errors for bad scales."""
import itertools
import zlib

import ml_dtypes
import numpy as np
import pytest

from lutmix.config import GemmConfig
from lutmix.errors import InputError
from lutmix.gemm_spec import gemm_spec
from lutmix.golden import dequant_gemm

BOUND = {"int8": 2.0 ** -16, "int16": 2.0 ** -16, "fp16": 2.0 ** -9, "bf16": 2.0 ** -9}


def activations(rng, act, M, K):
    if act == "int8":
        return rng.integers(-128, 128, size=(M, K)).astype(np.int8)
    if act == "int16":
        return rng.integers(-32768, 32768, size=(M, K)).astype(np.int16)
    x = rng.standard_normal((M, K)) * np.exp(rng.uniform(-3, 3, size=(M, 1)))
    x[:, ::17] *= 20                                      # outliers, as LLM activations have
    if act == "fp16":
        return x.astype(np.float16)
    return x.astype(ml_dtypes.bfloat16).astype(np.float32)


def quantized(rng, config, N, K):
    fmt = config.weight_format
    w = rng.choice(np.array(fmt.values), size=(N, K))
    groups = K // config.group_size if isinstance(config.group_size, int) else 1
    shape = (1, 1) if config.group_size == "tensor" else (N, groups)
    dtype = np.float16 if config.scale == "fp16" else np.float32
    s = rng.uniform(0.005, 0.05, size=shape).astype(dtype)
    z = None
    if not fmt.signed:
        if config.zero_point == "original":
            z = rng.integers(0, 1 << fmt.bits, size=shape)
        else:
            z = (s.astype(np.float64) * rng.uniform(0, (1 << fmt.bits) - 1, size=shape))
            z = z.astype(dtype)
    return w, s, z


def real_weights(config, w, s, z, K):
    rep = K // s.shape[1] if config.group_size != "tensor" else K
    S = np.broadcast_to(np.repeat(s.astype(np.float64), rep, axis=1), w.shape)
    q = w.astype(np.float64)
    if z is None:
        return q * S
    Z = np.broadcast_to(np.repeat(z.astype(np.float64), rep, axis=1), w.shape)
    return (q - Z) * S if config.zero_point == "original" else q * S - Z


def error_ratio(config, x, w, s, z, y):
    """max |y - y_ref| / sum_k |s (w - z) x|, against float64 mathematics."""
    K = x.shape[1]
    wr = real_weights(config, w, s, z, K)
    xf = x.astype(np.float64)
    ref = xf @ wr.T
    scale = np.abs(xf) @ np.abs(wr).T
    return float(np.max(np.abs(y.astype(np.float64) - ref) / np.maximum(scale, 1e-300)))


CASES = list(itertools.product(
    ["int8", "int16", "fp16", "bf16"],
    [("int4", "original"), ("uint4", "original"), ("uint4", "scaled"), ("uint3", "original"),
     ("int2", "original"), ("int8", "original")],
    [32, 64, 128, "channel", "tensor"],
))


@pytest.mark.parametrize("act,weight_zp,group", CASES)
def test_golden_within_the_bound_of_float64_math(act, weight_zp, group):
    weight, zp = weight_zp
    rng = np.random.default_rng(zlib.crc32(f"{act}/{weight}/{zp}/{group}".encode()))
    config = GemmConfig(weight=weight, activation=act, group_size=group, zero_point=zp,
                        k=3, max_k=256, scale="fp16" if group != 64 else "fp32")
    spec = gemm_spec(config)
    K = 384                                  # two K-tiles, blocks padded to whole groups of 3
    x = activations(rng, act, 4, K)
    w, s, z = quantized(rng, config, 9, K)
    y = dequant_gemm(x, w, spec, s, z)
    assert y.dtype == np.float32 and y.shape == (4, 9)
    assert error_ratio(config, x, w, s, z, y) <= BOUND[act]


@pytest.mark.parametrize("act", ["int8", "fp16"])
@pytest.mark.parametrize("zp", ["original", "scaled"])
def test_every_engine_gives_the_same_bits(act, zp):
    rng = np.random.default_rng(5)
    outs = []
    for engine in ("lut", "shiftadd", "mac"):
        config = GemmConfig(engine=engine, weight="uint4", activation=act, group_size=32,
                            zero_point=zp, k=4, planes_per_cycle=2, max_k=64)
        spec = gemm_spec(config)
        rng = np.random.default_rng(5)
        x = activations(rng, act, 3, 128)
        w, s, z = quantized(rng, config, 5, 128)
        y = dequant_gemm(x, w, spec, s, z)
        assert np.array_equal(y.view(np.uint32), dequant_gemm(x, w, spec, s, z, ref=True)
                              .view(np.uint32))
        outs.append(y.view(np.uint32))
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])


@pytest.mark.parametrize("act", ["fp16", "bf16"])
def test_nan_and_inf_activations(act):
    config = GemmConfig(weight="int4", activation=act, group_size=32, max_k=64)
    spec = gemm_spec(config)
    rng = np.random.default_rng(0)
    x = activations(rng, act, 4, 64)
    x[1, 40] = np.inf                        # row 1: +Inf in block 1
    x[2, 3] = -np.inf                        # row 2: -Inf in block 0
    x[3, 0] = np.nan                         # row 3: NaN
    w, s, z = quantized(rng, config, 6, 64)
    y = dequant_gemm(x, w, spec, s, z)
    assert np.isfinite(y[0]).all()
    for r in (1, 2, 3):
        assert (y[r].view(np.uint32) == 0x7FC00000).all()      # canonical quiet NaN
    clean = x.copy()
    clean[1:] = 0
    assert np.array_equal(dequant_gemm(clean, w, spec, s, z)[0].view(np.uint32),
                          y[0].view(np.uint32))


def test_overflow_gives_infinity():
    config = GemmConfig(weight="int8", activation="bf16", group_size=32, max_k=64,
                        scale="fp32")
    spec = gemm_spec(config)
    x = np.full((1, 64), 1e38, dtype=np.float32).astype(ml_dtypes.bfloat16).astype(np.float32)
    w = np.full((2, 64), 127)
    w[1] = -128
    s = np.full((2, 2), 1000, dtype=np.float32)
    y = dequant_gemm(x, w, spec, s)
    assert y[0, 0] == np.inf and y[0, 1] == -np.inf


@pytest.mark.parametrize("change,message", [
    (lambda s, z: (s.astype(np.float32), z), "S: dtype must be float16 for scale = 'fp16', "
                                              "not float32"),
    (lambda s, z: (np.where(np.arange(s.size).reshape(s.shape) == 3, np.nan, s)
                   .astype(np.float16), z), "S: scale nan at index (0, 3) is not finite"),
    (lambda s, z: (s[:, :2], z), "S: shape must be (5, 4) (N = 5 by 4 groups of 32), "
                                 "not (5, 2)"),
    (lambda s, z: (s, z.astype(np.float32)), "Z: zero points must be integers for zero_point = "
     "'original' (w = (q - z) * s), not float32; use zero_point = 'scaled' for fractional ones"),
    (lambda s, z: (s, z + 16), "Z: zero point "),
    (lambda s, z: (None, z), "S: group_size 32 needs scales"),
])
def test_bad_scales(change, message):
    config = GemmConfig(weight="uint4", group_size=32, max_k=64)
    spec = gemm_spec(config)
    rng = np.random.default_rng(0)
    x = activations(rng, "int8", 2, 128)
    w, s, z = quantized(rng, config, 5, 128)
    s, z = change(s, z)
    with pytest.raises(InputError) as info:
        dequant_gemm(x, w, spec, s, z)
    assert str(info.value).startswith(message)


def test_zero_points_refused_for_signed_weights_and_k_must_fill_groups():
    config = GemmConfig(weight="int4", group_size=32, max_k=64)
    spec = gemm_spec(config)
    s = np.ones((5, 2), dtype=np.float16)
    x = np.zeros((1, 64), dtype=np.int8)
    w = np.zeros((5, 64), dtype=np.int8)
    with pytest.raises(InputError, match="^Z: zero points are for unsigned weights; int4 "
                                         "weights are signed$"):
        dequant_gemm(x, w, spec, s, np.zeros((5, 2), dtype=np.int64))
    with pytest.raises(InputError, match="^X: K = 60 is not a multiple of group_size 32$"):
        dequant_gemm(x[:, :60], w[:, :60], spec, s)
