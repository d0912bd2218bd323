"""The softmax unit's RTL in cocotb, against the golden model, with stalls; throughput and latency
measured in cycles; deliberately broken units shown to fail.

Every verify case streams corner rows (one-hot, all equal, extreme, peaky, length 1, max_len,
heavy and full masking) and random rows with random idle cycles on the input and backpressure on
the output; the scoreboard must pair every output row with its prediction and find it bit-exact,
and for the exact method every row must be within the accuracy bound of float64 softmax.
"""
import numpy as np
import pytest
from amaranth import Module
from amaranth.back import verilog
from amaranth.lib import wiring

from lutmix.cli import _print_failure
from lutmix.config import PRESETS, Config, SoftmaxConfig
from lutmix.rtl.axis import AxisTop
from lutmix.rtl.softmax import Softmax, softmax_signature
from lutmix.sim.session import simulate_job
from lutmix.sim.softmax_job import SoftmaxJob
from lutmix.sim.tools import icarus_available
from lutmix.sim.verify import verify
from lutmix.softmax_math import softmax_spec
from lutmix.softmax_rows import make_rows

CASES = {
    # max_len 4096, four lanes: the corner rows include three of 4096 elements
    "int8-4096": PRESETS["softmax-int8"].softmax,
    # split exp tables and a product, 16-bit words
    "int16-f16": SoftmaxConfig(input_bits=16, in_scale=2.0 ** -10, out_frac_bits=16, lanes=2,
                               max_len=512),
    # the baselines, at odd sizes
    "ibert-int12-3lanes": SoftmaxConfig(input_bits=12, in_scale=0.01, lanes=3, max_len=100,
                                        method="ibert"),
    "softermax-f16-1lane": SoftmaxConfig(out_frac_bits=16, lanes=1, max_len=48,
                                         method="softermax"),
    "tiny": PRESETS["softmax-tiny"].softmax,
}
ICARUS = pytest.mark.skipif(not icarus_available(), reason="iverilog not installed")
MATRIX = [pytest.param(case, "verilator", id=f"{case}-verilator") for case in CASES]
MATRIX.append(pytest.param("tiny", "icarus", id="tiny-icarus", marks=ICARUS))
VECTORS = {"verilator": 24, "icarus": 10}


@pytest.mark.parametrize("case,sim", MATRIX)
def test_unit_matches_golden_under_stalls(case, sim, sim_cache, tmp_path):
    (report,) = verify(Config(softmax=CASES[case]), vectors=VECTORS[sim], seed=7, sim=sim,
                       workdir=tmp_path, cache_dir=sim_cache)
    assert len(report.vectors) == VECTORS[sim]
    assert not report.stream_errors
    assert not report.failed, report.failed[0]


def test_throughput_and_latency_in_cycles(sim_cache, tmp_path):
    # back-to-back rows with no stalls: each pass takes one beat per cycle, with no bubbles
    # within or between rows, and the first output beat follows the last input beat by
    # spec.latency cycles (Softmax's docstring)
    config = CASES["int8-4096"]
    spec = softmax_spec(config)
    rng = np.random.default_rng(1)
    # (length, rows): one-beat rows back to back from an idle unit, longer ones, max_len, then
    # short ones again (fewer than meta_depth, so they queue behind max_len rows without a stall)
    plan = [(4, 40), (13, 5), (256, 8), (4096, 2), (1, 6)]
    rows = []
    for length, count in plan:
        x, mask = make_rows("gauss3", spec, rng, count, length)
        rows += [(x[r], mask[r], f"L={length}") for r in range(count)]
    job = SoftmaxJob.from_rows(config, rows)
    result = simulate_job(job, workdir=tmp_path, cache_dir=sim_cache, section="softmax",
                          test_module="lutmix.sim.softmax_tb")
    assert result.passed
    ins, outs = result.summary["in_times"], result.summary["out_times"]
    beats = job.lens
    assert len(ins) == len(outs) == len(rows)
    latency = spec.latency
    assert latency == spec.norm_bits + 10
    for i, n in enumerate(beats):
        assert ins[i][1] - ins[i][0] == n - 1               # pass 1: a beat per cycle
        assert outs[i][1] - outs[i][0] == n - 1             # pass 2: a beat per cycle
        if i:
            assert ins[i][0] == ins[i - 1][1] + 1           # no bubble between rows in
            assert outs[i][0] == max(outs[i - 1][1] + 1, ins[i][1] + latency)
    assert outs[0][0] - ins[0][1] == latency
    # a lone row: 2n + latency - 1 cycles from its first input beat to its last output beat
    assert outs[0][1] - ins[0][0] + 1 == 2 * beats[0] + latency - 1
    assert result.cycles == outs[-1][1] - ins[0][0] + 1
    print(f"{len(rows)} rows, {sum(beats)} beats each way: {result.cycles} cycles, "
          f"latency {latency}")


class DropsLaneZero(wiring.Component):
    """A broken unit: lane 0 of every output word is 0."""

    def __init__(self, config):
        self._core = Softmax(config)
        super().__init__(softmax_signature(self._core.spec))

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self._core
        wiring.connect(m, wiring.flipped(self.x), core.x)
        m.d.comb += [self.p.valid.eq(core.p.valid), core.p.ready.eq(self.p.ready),
                     self.p.payload.eq(core.p.payload), self.p.payload.data[0].eq(0)]
        return m


class IgnoresBackpressure(DropsLaneZero):
    """A broken unit: it never waits for the output to be taken."""

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self._core
        wiring.connect(m, wiring.flipped(self.x), core.x)
        m.d.comb += [self.p.valid.eq(core.p.valid), core.p.ready.eq(1),
                     self.p.payload.eq(core.p.payload)]
        return m


@pytest.mark.parametrize("broken,kind", [(DropsLaneZero, "value"),
                                         (IgnoresBackpressure, "stream")])
def test_bench_catches_a_broken_unit(broken, kind, sim_cache, tmp_path, capsys):
    # the regression must be able to fail: run it on deliberately broken RTL
    cfg = SoftmaxConfig(lanes=2, max_len=16)
    text = verilog.convert(AxisTop(broken(cfg)), name="lutmix_softmax", emit_src=False)
    (report,) = verify(Config(softmax=cfg), vectors=16, seed=1, sim="verilator", waves=True,
                       workdir=tmp_path, cache_dir=sim_cache, verilog={"softmax": text})
    assert not report.passed
    if kind == "value":
        first = report.failed[0]
        assert first.difference["element"] % 2 == 0 and first.difference["actual"] == 0
        assert first.expected is not None and first.actual is not None
    else:
        assert report.stream_errors or any("missing" in (v.difference or {})
                                           for v in report.failed)
    assert report.waves is not None and report.waves.exists()
    _print_failure(report)
    out = capsys.readouterr().out
    assert f"waveform: {report.waves}" in out


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n, c in PRESETS.items() if c.softmax is not None])
def test_presets_long_regression(name, sim_cache, tmp_path):
    """Every softmax preset at full size: 300 rows with stalls."""
    (report,) = verify(PRESETS[name], vectors=300, seed=11, sim="verilator", workdir=tmp_path,
                       cache_dir=sim_cache)
    assert report.passed, (report.failed[:1], report.stream_errors)
