"""LutTable in the Amaranth simulator: rtl_table against the reference lutmix.lut.tables."""
import itertools

import numpy as np
import pytest
from amaranth.sim import Simulator

from lutmix import lut
from lutmix.rtl.lut_table import LutTable


def ref_table(x, k):
    return lut.tables(np.asarray(x)[None, :], k)[0, 0].tolist()


def rtl_tables(xs, k, act_bits):
    dut = LutTable(k=k, act_bits=act_bits)
    out = []

    async def testbench(ctx):
        for x in xs:
            for t, v in enumerate(x):
                ctx.set(dut.x[t], int(v))
            out.append([ctx.get(dut.table[j]) for j in range(1 << (k - 1))])

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    return out


@pytest.mark.parametrize("k", [2, 3, 4, 5])
@pytest.mark.parametrize("act_bits", [8, 16])
def test_rtl_table_equals_reference(k, act_bits):
    lo, hi = -(1 << (act_bits - 1)), (1 << (act_bits - 1)) - 1
    edges = [list(p) for p in itertools.product([lo, -1, 0, 1, hi], repeat=k)][:256]
    rng = np.random.default_rng(k * act_bits)
    xs = edges + rng.integers(lo, hi + 1, size=(64, k)).tolist()
    assert rtl_tables(xs, k, act_bits) == [ref_table(x, k) for x in xs]


def test_entry_width_is_the_exact_bound():
    assert LutTable(k=4, act_bits=8).entry_bits == 11      # -512 .. 512
    assert LutTable(k=2, act_bits=8).entry_bits == 10      # -256 .. 256


@pytest.mark.parametrize("kwargs,message", [
    ({"k": 6, "act_bits": 8}, "Group size must be an integer from 2 to 5, not 6"),
    ({"k": 4, "act_bits": 1}, "Activation width must be an integer from 2 to 32, not 1"),
    ({"k": "4", "act_bits": 8}, "Group size must be an integer from 2 to 5, not '4'"),
])
def test_validation(kwargs, message):
    with pytest.raises(TypeError) as info:
        LutTable(**kwargs)
    assert str(info.value) == message
