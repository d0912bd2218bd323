"""The synthesis wrapper: a shift chain into every input, every output folded into the pins.

``rtl_wrapper`` runs the wrapper in the Amaranth simulator around a stand-in unit;
``ref_wrapper`` is the same machine written out as a plain cycle loop over bit lists.
"""
import random

import pytest
from amaranth import Cat, Module
from amaranth.back import verilog
from amaranth.sim import Simulator

from lutmix.config import PRESETS
from lutmix.fpga.wrapper import SynthWrapper, unit_ports, wrapper_cost
from lutmix.rtl.generate import UNITS

PORTS = [("aresetn", "in", 1), ("s_axis_a_tdata", "in", 5), ("s_axis_a_tready", "out", 1),
         ("s_axis_b_tdata", "in", 3), ("m_axis_y_tdata", "out", 11),
         ("m_axis_y_tvalid", "out", 1)]


def _unit_function(n_in, n_out):
    """The stand-in unit: output bit i is the XOR of two input bits (fixed pseudo-random)."""
    rng = random.Random(n_in * 1000 + n_out)
    return [(rng.randrange(n_in), rng.randrange(n_in)) for _ in range(n_out)]


class _StandIn(SynthWrapper):
    def _instantiate(self, m, inputs, outputs):
        bits_in = Cat(*inputs.values())
        pairs = _unit_function(len(bits_in), sum(len(s) for s in outputs.values()))
        bits_out = Cat(*outputs.values())
        for i, (a, b) in enumerate(pairs):
            m.d.comb += bits_out[i].eq(bits_in[a] ^ bits_in[b])


def ref_wrapper(din, ports, pins):
    """dout of every cycle, for the bits ``din`` shifted in one per cycle."""
    n_in = sum(w for _, d, w in ports if d == "in")
    n_out = sum(w for _, d, w in ports if d == "out")
    pairs = _unit_function(n_in, n_out)
    chain = [0] * n_in
    capture = [0] * n_out
    trees = []                      # per pin: the register levels of its XOR tree
    for pin in range(pins):
        count, levels = len(capture[pin::pins]), []
        while count > 1:
            count = -(-count // 4)
            levels.append([0] * count)
        trees.append(levels)
    douts = []
    for bit in din:
        dout = []
        for pin in range(pins):
            levels = trees[pin]
            top = levels[-1] if levels else capture[pin::pins]
            dout.append(top[0] if top else 0)
        douts.append(dout)
        outputs = [chain[a] ^ chain[b] for a, b in pairs]
        for pin in range(pins):
            below = capture[pin::pins]
            new_levels = []
            for level in trees[pin]:
                new_levels.append([
                    sum(below[i:i + 4]) % 2 for i in range(0, len(below), 4)])
                below = level
            trees[pin] = new_levels
        capture = outputs
        chain = [bit] + chain[:-1]
    return douts


def rtl_wrapper(din, ports, pins):
    dut = _StandIn(module="unit", ports=ports, pins=pins)
    m = Module()
    m.submodules.dut = dut
    douts = []

    async def bench(ctx):
        # the wrapper's domain is clocked by its clk pin: toggle it by hand
        for bit in din:
            douts.append([(ctx.get(dut.dout) >> p) & 1 for p in range(pins)])
            ctx.set(dut.din, bit)
            await ctx.delay(1e-6)
            ctx.set(dut.clk, 1)
            await ctx.delay(1e-6)
            ctx.set(dut.clk, 0)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    return douts


@pytest.mark.parametrize("pins", [1, 3, 4])
def test_chain_and_fold_against_reference(pins):
    rng = random.Random(pins)
    din = [rng.randrange(2) for _ in range(120)]
    rtl = rtl_wrapper(din, PORTS, pins)
    assert rtl == ref_wrapper(din, PORTS, pins)
    assert any(any(d) for d in rtl)             # not a vacuous match


def test_wrapper_cost():
    pins = 4
    ports = [("s_axis_a_tdata", "in", 2), ("m_axis_y_tdata", "out", 37)]
    cost = wrapper_cost(ports, pins)
    # pin 0 folds 10 bits: 4+4+2 -> 3 -> 1, four nodes with a LUT each; pins 1-3 fold 9 bits:
    # 4+4+1 -> 3 -> 1, four nodes, but the lone ninth bit is a flip-flop without a LUT
    assert cost == {"chain_ffs": 2, "capture_ffs": 37, "fold_ffs": 16, "fold_luts": 13}
    assert wrapper_cost([("a", "in", 1), ("y", "out", 17)], 1) == {
        "chain_ffs": 1, "capture_ffs": 17, "fold_ffs": 8, "fold_luts": 6}
    assert wrapper_cost([("a", "in", 1), ("y", "out", 1)], 1)["fold_ffs"] == 0


def test_unit_ports_leave_out_the_clock():
    unit = UNITS["gemm"]
    top = unit.build(PRESETS["tiny"].gemm)
    ports = unit_ports(top)
    verilog.convert(top, name=unit.top_name, emit_src=False)    # elaborate it once
    assert ports[0] == ("aresetn", "in", 1)
    assert "aclk" not in [name for name, _, _ in ports]
    assert ("m_axis_y_tdata", "out", len(top.m_axis_y_tdata)) in ports
    assert ("s_axis_w_tready", "out", 1) in ports


def test_wrapper_verilog_is_deterministic():
    texts = {verilog.convert(SynthWrapper(module="lutmix_gemm", ports=PORTS, pins=4),
                             name="lutmix_synth_top", emit_src=False) for _ in range(2)}
    assert len(texts) == 1
    text = texts.pop()
    assert "module lutmix_synth_top(" in text
    assert "lutmix_gemm unit (" in text


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(module="not a name", ports=PORTS), TypeError,
     "module must be a Verilog identifier, not 'not a name'"),
    (dict(module="u", ports=PORTS, pins=0), TypeError,
     "pins must be an integer from 1 to 16, not 0"),
    (dict(module="u", ports=PORTS, pins=True), TypeError,
     "pins must be an integer from 1 to 16, not True"),
    (dict(module="u", ports=[("a", "inout", 1)]), TypeError,
     "ports must be (name, 'in' or 'out', width) tuples, not ('a', 'inout', 1)"),
    (dict(module="u", ports=[("a", "in", 4)]), ValueError,
     "module 'u' has no output to keep its logic alive"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error) as exc:
        SynthWrapper(**kwargs)
    assert str(exc.value) == message
