"""The LUT engine's RTL in cocotb, over the config matrix, against the golden model.

Every case streams corner and random vectors with random idle cycles on both inputs and
backpressure on the output; the bench's scoreboard must pair every result tile with its
prediction (nothing lost, duplicated or reordered) and find them bit-exact.
"""
import numpy as np
import pytest
from amaranth.back import verilog

from lutmix.cli import _print_failure
from lutmix.config import PRESETS, Config, GemmConfig
from lutmix.formats import WEIGHT_FORMATS
from lutmix.rtl.axis import AxisTop
from lutmix.rtl.gemm_engine import GemmEngine
from lutmix.sim.gemm_run import run_gemm
from lutmix.sim.verify import verify

from .conftest import simulators

SHAPES = {
    # the paper's elongated tile, bit-serial
    "m2n64k4": lambda bits: dict(m=2, n=64, k=4, planes_per_cycle=1, max_k=256),
    # every plane in one cycle, smallest group
    "m1n8k2-allplanes": lambda bits: dict(m=1, n=8, k=2, planes_per_cycle=bits, max_k=64),
    # odd sizes, two planes a cycle (int3: the last chunk has an empty slot)
    "m3n5k5-2planes": lambda bits: dict(m=3, n=5, k=5, planes_per_cycle=min(2, bits),
                                        max_k=100),
}
VECTORS = {"verilator": 24, "icarus": 12}
ACTS = ["int8", "int16"]


def gemm_config(weight, activation, shape):
    bits = WEIGHT_FORMATS[weight].bits
    return GemmConfig(weight=weight, activation=activation, **SHAPES[shape](bits))


def default_cases():
    """Every weight format on every shape, with both activation formats among its three
    cases; Icarus on a few of them. Every pair of (weight, activation), (weight, shape) and
    (activation, shape) meets. The full product is :func:`test_full_matrix` (``slow``)."""
    cases = []
    for i, weight in enumerate(WEIGHT_FORMATS):
        cases.append((weight, ACTS[i % 2], "m1n8k2-allplanes", "verilator"))
        cases.append((weight, ACTS[(i + 1) % 2], "m3n5k5-2planes", "verilator"))
        cases.append((weight, ACTS[i % 2], "m2n64k4", "verilator"))
    if "icarus" in simulators():
        cases += [("ternary", "int16", "m1n8k2-allplanes", "icarus"),
                  ("int3", "int8", "m3n5k5-2planes", "icarus"),
                  ("uint4", "int16", "m3n5k5-2planes", "icarus"),
                  ("int2", "int8", "m2n64k4", "icarus")]
    return cases


def check_engine(weight, activation, shape, sim, sim_cache, tmp_path):
    config = Config(gemm=gemm_config(weight, activation, shape))
    (report,) = verify(config, vectors=VECTORS[sim], seed=7, sim=sim, workdir=tmp_path,
                       cache_dir=sim_cache)
    assert len(report.vectors) == VECTORS[sim]
    assert not report.stream_errors
    assert not report.failed, report.failed[0]


@pytest.mark.parametrize("weight,activation,shape,sim", default_cases())
def test_engine_matches_golden_under_stalls(weight, activation, shape, sim, sim_cache,
                                            tmp_path):
    check_engine(weight, activation, shape, sim, sim_cache, tmp_path)


def test_default_cases_cover_every_pair():
    cases = default_cases()
    assert {(w, a) for w, a, _, _ in cases} == {(w, a) for w in WEIGHT_FORMATS for a in ACTS}
    assert {(w, s) for w, _, s, _ in cases} == {(w, s) for w in WEIGHT_FORMATS for s in SHAPES}
    assert {(a, s) for _, a, s, _ in cases} == {(a, s) for a in ACTS for s in SHAPES}


@pytest.mark.slow
@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("weight", list(WEIGHT_FORMATS))
def test_full_matrix(weight, activation, shape, sim, sim_cache, tmp_path):
    check_engine(weight, activation, shape, sim, sim_cache, tmp_path)


@pytest.mark.parametrize("sim", simulators())
def test_run_gemm_any_shape(sim, sim_cache, tmp_path):
    # M, N, K that are not multiples of the tile, and K longer than max_k (three K-tiles)
    config = GemmConfig(weight="uint3", m=2, n=8, k=3, max_k=30)
    rng = np.random.default_rng(3)
    w = rng.integers(0, 8, size=(13, 70))
    x = rng.integers(-128, 128, size=(5, 70)).astype(np.int8)
    run = run_gemm(config, w, x, sim=sim, workdir=tmp_path, cache_dir=sim_cache)
    assert np.array_equal(run.y, x.astype(np.int64) @ w.T)
    assert run.golden_ok
    assert run.tiles == 2 * 3 * 3                       # N-tiles x K-tiles x M-tiles
    assert 0 < run.utilization <= 1


class DropsCorrection(GemmEngine):
    """A broken engine: lane 0 of every result is forced to 0."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.y.payload.data[0].eq(0)
        return m


class IgnoresStall(GemmEngine):
    """A broken engine: takes activations even while its output is stalled."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.x.ready.eq(self.x.valid)
        return m


@pytest.mark.parametrize("broken,kind", [(DropsCorrection, "value"), (IgnoresStall, "stream")])
def test_bench_catches_a_broken_engine(broken, kind, sim_cache, tmp_path, capsys):
    # the regression must be able to fail: run it on deliberately broken RTL
    cfg = GemmConfig(weight="int2", m=1, n=4, k=2, max_k=16)
    text = verilog.convert(AxisTop(broken(cfg)), name="lutmix_gemm", emit_src=False)
    (report,) = verify(Config(gemm=cfg), vectors=16, seed=1, sim="verilator",
                       workdir=tmp_path, cache_dir=sim_cache, verilog={"gemm": text})
    assert not report.passed
    assert report.failed or report.stream_errors
    if kind == "value":
        first = report.failed[0]
        assert first.difference["col"] == 0 and first.difference["actual"] == 0
        assert first.expected is not None and first.actual is not None
    assert report.waves is not None and report.waves.exists()
    _print_failure(report)
    out = capsys.readouterr().out
    assert ("first failing: vector" in out) == bool(report.failed)
    assert f"waveform: {report.waves}" in out


@pytest.mark.slow
@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("name", [n for n, c in PRESETS.items() if c.gemm is not None])
def test_presets_long_regression(name, sim, sim_cache, tmp_path):
    """Every preset at its full size: 200 vectors, and the benchmark shape through run gemm."""
    (report,) = verify(PRESETS[name], vectors=200, seed=11, sim=sim, workdir=tmp_path / "v",
                       cache_dir=sim_cache)
    assert report.passed, (report.failed[:1], report.stream_errors)
    config = PRESETS[name].gemm
    rng = np.random.default_rng(5)
    w = rng.choice(np.array(config.weight_format.values), size=(384, 384))
    x = rng.integers(-128, 128, size=(16, 384)).astype(config.activation_format.dtype)
    run = run_gemm(config, w, x, sim=sim, workdir=tmp_path / "r", cache_dir=sim_cache)
    assert np.array_equal(run.y, x.astype(np.int64) @ w.T)
