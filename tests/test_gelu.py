"""The GELU / SiLU unit's RTL against the golden model, bit for bit, on every input.

* Amaranth simulator: ``rtl_gelu`` (the unit run as a function, with random stalls) against
  ``ref_gelu`` on every 8-bit input, for each method and function.
* cocotb, Verilator and Icarus: ``verify`` streams every one of the ``2**input_bits`` inputs of
  each config of the matrix, in frames of random lengths, with random idle cycles on
  ``s_axis_x`` and backpressure on ``m_axis_y``; the scoreboard pairs each output frame with
  its prediction, so nothing may be lost, duplicated, reordered or misframed. On Icarus the
  16-bit configs run a 4096-input sample by default and exhaustively under ``-m slow``.
* Deliberately broken units must fail the bench.
"""
import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from lutmix.config import PRESETS, Config, GeluConfig
from lutmix.gelu_math import gelu_spec
from lutmix.golden import gelu, ref_gelu
from lutmix.rtl.axis import AxisTop
from lutmix.rtl.gelu import Gelu
from lutmix.rtl.generate import verilog as generate_verilog
from lutmix.rtl.generate import write_design
from lutmix.sim.gelu_run import run_gelu
from lutmix.sim.gelu_verify import verify_gelu
from lutmix.sim.tools import icarus_available
from lutmix.sim.verify import verify

from .conftest import simulators
from .test_golden_gelu import BOUND, FLOAT_SLACK, float_lsb, ibert_float


def rtl_gelu(config, words, *, stall=0.3, seed=0):
    """Run the unit as a function in the Amaranth simulator, with random stalls both sides."""
    dut = Gelu(config)
    lanes = dut.spec.lanes
    beats = np.asarray(words).reshape(-1, lanes)
    rng = np.random.default_rng(seed)
    out = []

    async def producer(ctx):
        for beat in beats:
            while rng.random() < stall:
                await ctx.tick()
            for i, v in enumerate(beat):
                ctx.set(dut.x.payload.data[i], int(v))
            ctx.set(dut.x.valid, 1)
            await ctx.tick().until(dut.x.ready)
            ctx.set(dut.x.valid, 0)

    async def consumer(ctx):
        while len(out) < len(beats):
            ready = rng.random() >= stall
            ctx.set(dut.y.ready, ready)
            _, _, valid, data = await ctx.tick().sample(dut.y.valid, dut.y.payload.data)
            if valid and ready:
                out.append([data[i] for i in range(lanes)])

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run()
    return np.array(out, dtype=np.int64).reshape(-1)


@pytest.mark.parametrize("lanes", [1, 3])
@pytest.mark.parametrize("method", ["rom", "pwq", "ibert"])
@pytest.mark.parametrize("function", ["gelu", "silu"])
def test_rtl_equals_reference_in_amaranth(function, method, lanes):
    config = GeluConfig(function=function, method=method, in_frac_bits=5, out_frac_bits=5,
                        lanes=lanes)
    spec = gelu_spec(config)
    x = np.random.default_rng(lanes).permutation(spec.inputs)
    x = np.concatenate([x, x[:-len(x) % lanes]])                # a whole number of beats
    assert np.array_equal(rtl_gelu(config, x, seed=lanes), ref_gelu(x, spec))


@pytest.mark.parametrize("kwargs", [
    # clamps only: no input needs the polynomial, a one-entry table
    dict(method="pwq", input_bits=16, in_frac_bits=15, out_bits=16, out_frac_bits=0),
    # integer inputs, outputs in [-1, 1): two-input segments
    dict(method="pwq", function="silu", input_bits=16, in_frac_bits=0, out_bits=16,
         out_frac_bits=15),
    dict(method="ibert", input_bits=16, in_frac_bits=0, out_bits=16, out_frac_bits=15),
    dict(method="rom", input_bits=10, in_frac_bits=0, out_bits=16, out_frac_bits=15, lanes=5),
], ids=["pwq-clamps-only", "pwq-integer-in", "ibert-integer-in", "rom-10bit-5lanes"])
def test_rtl_equals_reference_at_extreme_scales(kwargs):
    config = GeluConfig(**kwargs)
    spec = gelu_spec(config)
    x = spec.inputs
    if x.size > 1024:                       # both ends and a sample between
        x = np.concatenate([x[:200], x[-200:], np.random.default_rng(0).choice(x, 600)])
    x = np.concatenate([x, x[:-len(x) % config.lanes]])
    assert np.array_equal(rtl_gelu(config, x), ref_gelu(x, spec))


def test_constructor_checks_its_config():
    with pytest.raises(TypeError, match=r"^config must be a GeluConfig, not 3$"):
        Gelu(3)


# The RTL matrix: gelu and silu, every method, 8 to 16 bits, several scales and lane counts.
RTL_CONFIGS = {
    "gelu-rom-i8f4-o8f4-l1": GeluConfig(function="gelu", method="rom", lanes=1),
    "silu-pwq-i8f5-o8f6-l2": GeluConfig(function="silu", method="pwq", in_frac_bits=5,
                                        out_frac_bits=6, lanes=2),
    "gelu-ibert-i8f4-o8f4-l3": GeluConfig(function="gelu", method="ibert", lanes=3),
    "silu-rom-i10f7-o12f9-l2": GeluConfig(function="silu", method="rom", input_bits=10,
                                          in_frac_bits=7, out_bits=12, out_frac_bits=9,
                                          lanes=2),
    "gelu-auto-i12f8-o8f4-l2": GeluConfig(function="gelu", input_bits=12, in_frac_bits=8,
                                          out_bits=8, out_frac_bits=4, lanes=2),
    "gelu-pwq-i16f12-o16f12-l4": PRESETS["gelu16"].gelu,
    "silu-pwq-i16f10-o16f11-l4": GeluConfig(function="silu", method="pwq", input_bits=16,
                                            in_frac_bits=10, out_bits=16, out_frac_bits=11,
                                            lanes=4),
    "silu-ibert-i16f11-o16f12-l4": GeluConfig(function="silu", method="ibert", input_bits=16,
                                              in_frac_bits=11, out_bits=16, out_frac_bits=12,
                                              lanes=4),
}
VECTORS = 24
ICARUS_SAMPLE = 4096


@pytest.mark.parametrize("name", list(RTL_CONFIGS))
def test_golden_within_bound_on_every_input(name):
    # the other half of the exhaustive check of each matrix config: golden vs float64
    spec = gelu_spec(RTL_CONFIGS[name])
    x = spec.inputs
    y = gelu(x, spec)
    if spec.method == "ibert":      # no bound of its own: I-BERT's result, rounded
        assert np.abs(y - ibert_float(spec, x)).max() <= 0.5 + 2 ** -6 + FLOAT_SLACK
    else:
        assert np.abs(y - float_lsb(spec, x)).max() <= BOUND[spec.method] + FLOAT_SLACK


def check_report(report):
    assert not report.stream_errors, report.stream_errors
    assert not report.failed, report.failed[0]
    assert len(report.vectors) == VECTORS


@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("name", list(RTL_CONFIGS))
def test_unit_matches_golden_on_every_input(name, sim, sim_cache, tmp_path):
    cfg = RTL_CONFIGS[name]
    spec = gelu_spec(cfg)
    if sim == "icarus" and cfg.input_bits == 16:
        report = verify_gelu(Config(gelu=cfg), vectors=VECTORS, seed=5, sim=sim, waves=False,
                             workdir=tmp_path, cache_dir=sim_cache, sample=ICARUS_SAMPLE)
        check_report(report)
        assert "sampled" in report.detail
        return
    (report,) = verify(Config(gelu=cfg), vectors=VECTORS, seed=5, sim=sim, workdir=tmp_path,
                       cache_dir=sim_cache)
    check_report(report)
    assert f"(all {spec.inputs.size} inputs" in report.detail


@pytest.mark.slow
@pytest.mark.skipif(not icarus_available(), reason="iverilog not installed")
@pytest.mark.parametrize("name", [n for n, c in RTL_CONFIGS.items() if c.input_bits == 16])
def test_icarus_exhaustive_16_bit(name, sim_cache, tmp_path):
    (report,) = verify(Config(gelu=RTL_CONFIGS[name]), vectors=VECTORS, seed=6, sim="icarus",
                       workdir=tmp_path, cache_dir=sim_cache)
    check_report(report)
    assert "(all 65536 inputs" in report.detail


def test_heavy_stalls_lose_nothing(sim_cache, tmp_path):
    # 80% idle input and 85% backpressure, frames of 1024 beats: run gelu returns every word
    cfg = RTL_CONFIGS["gelu-ibert-i8f4-o8f4-l3"]
    spec = gelu_spec(cfg)
    x = np.random.default_rng(2).integers(spec.x_min, spec.x_max + 1, size=(7, 151))
    run = run_gelu(cfg, x, workdir=tmp_path, cache_dir=sim_cache, pause={"x": 0.8, "y": 0.85},
                   seed=3)
    assert run.golden_ok
    assert np.array_equal(run.words, gelu(x, spec))
    assert run.cycles > 3 * run.beats                     # the stalls did happen


def test_full_throughput_without_stalls(sim_cache, tmp_path):
    cfg = RTL_CONFIGS["gelu-ibert-i8f4-o8f4-l3"]
    x = np.arange(-128, 127).reshape(5, 51)
    run = run_gelu(cfg, x, workdir=tmp_path, cache_dir=sim_cache)
    assert run.golden_ok and np.array_equal(run.words, gelu(x, gelu_spec(cfg)))
    assert run.beats == 85
    # one beat per cycle: the last result leaves latency cycles after the last input
    assert run.cycles <= run.beats + gelu_spec(cfg).latency + 2


class WrongCoefficient(Gelu):
    """A broken unit: segment 1's constant term is one output LSB too high."""

    def __init__(self, config):
        super().__init__(config)
        p = self._spec.pwq
        coeffs = list(p.coeffs)
        b0, b1, b2 = coeffs[1]
        coeffs[1] = (b0 + (1 << 8), b1, b2)
        self._spec = dataclasses.replace(self._spec,
                                         pwq=dataclasses.replace(p, coeffs=tuple(coeffs)))


class IgnoresBackpressure(Gelu):
    """A broken unit: takes input beats even while its output is stalled."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.x.ready.eq(1)
        return m


@pytest.mark.parametrize("broken,kind", [(WrongCoefficient, "value"),
                                         (IgnoresBackpressure, "stream")])
def test_bench_catches_a_broken_unit(broken, kind, sim_cache, tmp_path):
    cfg = GeluConfig(function="silu", method="pwq", lanes=1)
    text = verilog.convert(AxisTop(broken(cfg)), name="lutmix_gelu", emit_src=False)
    (report,) = verify(Config(gelu=cfg), vectors=8, seed=1, sim="verilator", workdir=tmp_path,
                       cache_dir=sim_cache, verilog={"gelu": text})
    assert not report.passed
    assert report.waves is not None and report.waves.exists()
    if kind == "value":
        first = report.failed[0].difference
        p = gelu_spec(cfg).pwq
        assert p.lo + (1 << p.seg_shift) <= first["input"] < p.lo + (2 << p.seg_shift)
        assert first["actual"] == first["expected"] + 1
    else:
        assert report.failed or report.stream_errors


def test_top_reads_as_axi4_stream(tmp_path):
    paths = write_design(PRESETS["gelu16"], tmp_path)
    assert [p.name for p in paths] == ["lutmix_gelu.v", "manifest.json"]
    text = paths[0].read_text()
    header = text[text.index("module lutmix_gelu("):].split(";")[0]
    assert sorted(p.strip() for p in header.split("(")[1].rstrip(")").split(",")) == sorted([
        "aclk", "aresetn", "s_axis_x_tdata", "s_axis_x_tvalid", "s_axis_x_tready",
        "s_axis_x_tlast", "m_axis_y_tdata", "m_axis_y_tvalid", "m_axis_y_tready",
        "m_axis_y_tlast"])
    assert "input [63:0] s_axis_x_tdata;" in text and "output [63:0] m_axis_y_tdata;" in text
    unit = json.loads(paths[1].read_text())["units"]["gelu"]
    assert unit["method"] == "pwq" and unit["latency_cycles"] == 3
    assert unit["pwq"]["segments"] == gelu_spec(PRESETS["gelu16"].gelu).pwq.segments
    assert unit["streams"]["s_axis_x"]["lanes"] == 4


def test_same_config_gives_byte_identical_verilog():
    script = ("import sys; from lutmix.config import PRESETS; "
              "from lutmix.rtl.generate import verilog; "
              "sys.stdout.write(verilog('gelu', PRESETS[sys.argv[1]].gelu))")
    for name in ("silu16", "gelu8"):
        outs = [subprocess.run([sys.executable, "-c", script, name], check=True,
                               capture_output=True, text=True,
                               env=dict(os.environ, PYTHONHASHSEED=seed)).stdout
                for seed in ("1", "2")]
        assert outs[0] == outs[1] == generate_verilog("gelu", PRESETS[name].gelu)


@pytest.mark.parametrize("name", [n for n, c in PRESETS.items() if c.gelu is not None])
def test_every_gelu_preset_generates(name):
    assert "module lutmix_gelu(" in generate_verilog("gelu", PRESETS[name].gelu)


def test_generation_leaves_nothing_unelaborated(tmp_path):
    script = ("import sys; from lutmix.config import PRESETS; "
              "from lutmix.rtl.generate import write_design; "
              "write_design(PRESETS['silu16'], sys.argv[1]); import gc; gc.collect()")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True,
                         capture_output=True, text=True)
    assert "never used" not in out.stderr
