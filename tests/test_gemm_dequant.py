"""The engines with per-group dequantization, in cocotb, against the golden model.

Every engine, activation format, group size and zero-point convention appears, and every pair
of them appears together in at least one case (a pairwise covering of the four factors); the
full cross product is behind the ``slow`` marker. Each case streams corner and random vectors
(extreme scales, and NaN/Inf for float activations) with random stalls on every stream.
"""
import itertools

import ml_dtypes
import numpy as np
import pytest

from lutmix.config import Config, GemmConfig
from lutmix.gemm_spec import gemm_spec
from lutmix.golden import dequant_gemm
from lutmix.sim.gemm_run import run_gemm
from lutmix.sim.verify import verify

from .conftest import simulators

ENGINES = ["lut", "shiftadd", "mac"]
ACTS = ["int8", "int16", "fp16", "bf16"]
GROUPS = [32, 64, 128, "channel", "tensor"]
ZPS = ["original", "scaled"]


def hardware_cases():
    """Every (engine, activation) pair once; group sizes 32/64/128 and both zero-point
    conventions spread so that every pair of factors meets (``"channel"`` and ``"tensor"``
    build the same hardware as 128, see :func:`whole_k_cases`)."""
    cases = []
    for e, engine in enumerate(ENGINES):
        for a, act in enumerate(ACTS):
            group = [32, 64, 128][(e + a) % 3]
            zp = ZPS[(a == 3) ^ (e == 2)]
            weight = "uint3" if (e + 2 * a) % 4 == 0 else "uint4"
            cases.append((engine, act, group, zp, weight))
    return cases


def whole_k_cases():
    """The 128 cases again with one scale per channel and per tensor: the same builds."""
    return [(e, a, whole, zp, w) for e, a, g, zp, w in hardware_cases() if g == 128
            for whole in ("channel", "tensor")]


PAIRWISE = hardware_cases() + whole_k_cases()


def test_the_cases_cover_every_pair():
    factors = [ENGINES, ACTS, GROUPS, ZPS]
    for i, j in itertools.combinations(range(4), 2):
        seen = {(case[i], case[j]) for case in PAIRWISE}
        assert seen == set(itertools.product(factors[i], factors[j])), (i, j)


def dequant_config(engine, act, group, zp, weight="uint4"):
    return GemmConfig(engine=engine, weight=weight, activation=act, group_size=group,
                      zero_point=zp, m=2, n=3, k=4 if engine != "mac" else 3,
                      planes_per_cycle=2 if engine != "mac" else 1, max_k=256,
                      scale="fp16" if act != "bf16" else "fp32")


@pytest.mark.parametrize("engine,act,group,zp,weight", PAIRWISE)
def test_dequant_engine_matches_golden(engine, act, group, zp, weight, sim_cache, tmp_path):
    config = Config(gemm=dequant_config(engine, act, group, zp, weight))
    (report,) = verify(config, vectors=12, seed=5, sim="verilator", workdir=tmp_path,
                       cache_dir=sim_cache)
    assert len(report.vectors) == 12
    assert not report.stream_errors
    assert not report.failed, report.failed[0]


@pytest.mark.parametrize("engine,weight", [("lut", "int2"), ("shiftadd", "int8"),
                                           ("mac", "int4")])
def test_signed_weights_without_zero_points(engine, weight, sim_cache, tmp_path):
    config = Config(gemm=dequant_config(engine, "int8", 64, "original", weight))
    (report,) = verify(config, vectors=10, seed=6, sim="verilator", workdir=tmp_path,
                       cache_dir=sim_cache)
    assert report.passed, (report.failed[:1], report.stream_errors)


@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("act,zp", [("fp16", "scaled"), ("int8", "original")])
def test_both_simulators(act, zp, sim, sim_cache, tmp_path):
    config = Config(gemm=dequant_config("lut", act, 32, zp))
    (report,) = verify(config, vectors=10, seed=7, sim=sim, workdir=tmp_path,
                       cache_dir=sim_cache)
    assert report.passed, (report.failed[:1], report.stream_errors)


def test_run_gemm_with_scales_any_shape(sim_cache, tmp_path):
    # M, N not multiples of the tile; K spanning two K-tiles; fp16 activations with zeros
    config = dequant_config("shiftadd", "fp16", 64, "original")
    rng = np.random.default_rng(9)
    M, N, K = 3, 5, 320
    x = rng.standard_normal((M, K)).astype(np.float16)
    w = rng.integers(0, 16, size=(N, K))
    s = rng.uniform(0.01, 0.1, size=(N, K // 64)).astype(np.float16)
    z = rng.integers(0, 16, size=(N, K // 64))
    run = run_gemm(config, w, x, s, z, sim="verilator", workdir=tmp_path, cache_dir=sim_cache)
    expect = dequant_gemm(x, w, gemm_spec(config), s, z)
    assert run.y.dtype == np.float32
    assert np.array_equal(run.y.view(np.uint32), expect.view(np.uint32))
    assert run.golden_ok


def test_run_gemm_bf16_tensor_scale(sim_cache, tmp_path):
    config = dequant_config("mac", "bf16", "tensor", "original", "int4")
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 200)).astype(ml_dtypes.bfloat16).astype(np.float32)
    w = rng.integers(-8, 8, size=(4, 200))
    s = np.array([[0.03125]], dtype=np.float32)
    run = run_gemm(config, w, x, s, sim="verilator", workdir=tmp_path, cache_dir=sim_cache)
    expect = dequant_gemm(x, w, gemm_spec(config), s)
    assert np.array_equal(run.y.view(np.uint32), expect.view(np.uint32))


@pytest.mark.slow
@pytest.mark.parametrize("zp", ZPS)
@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("engine", ENGINES)
def test_full_cross_product(engine, act, group, zp, sim_cache, tmp_path):
    config = Config(gemm=dequant_config(engine, act, group, zp))
    (report,) = verify(config, vectors=24, seed=8, sim="verilator", workdir=tmp_path,
                       cache_dir=sim_cache)
    assert report.passed, (report.failed[:1], report.stream_errors)
