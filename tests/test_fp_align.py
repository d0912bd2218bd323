"""FpAlign in the Amaranth simulator: rtl_align against lutmix.bfp.align, under random stalls."""
import random

import ml_dtypes
import numpy as np
import pytest
from amaranth.sim import Simulator

from lutmix import bfp
from lutmix.config import GemmConfig
from lutmix.gemm_spec import gemm_spec
from lutmix.rtl.fp_align import FpAlign


def ref_align(bits, spec):
    """Per block (rows, block_groups*k): mantissas, shift, special from lutmix.bfp."""
    return bfp.align(bits, spec.activation_format)


def rtl_align(blocks, spec, seed):
    """blocks: list of (m, G*k) uint16 arrays; returns the same triples from the RTL."""
    c = spec.config
    dut = FpAlign(spec)
    rng = random.Random(seed)
    out = []

    async def source(ctx):
        for bi, block in enumerate(blocks):
            for g in range(c.block_groups):
                while rng.random() < 0.3:
                    ctx.set(dut.i.valid, 0)
                    await ctx.tick()
                ctx.set(dut.i.valid, 1)
                for r in range(c.m):
                    for t in range(c.k):
                        ctx.set(dut.i.payload.data[r][t], int(block[r, g * c.k + t]))
                ctx.set(dut.i.payload.last, g == c.block_groups - 1)
                ctx.set(dut.i.payload.release, bi % 2)
                await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        for block in blocks:
            mant = np.zeros(block.shape, dtype=np.int64)
            for g in range(c.block_groups):
                while True:
                    ready = rng.random() >= 0.3
                    ctx.set(dut.o.ready, ready)
                    valid = ctx.get(dut.o.valid)
                    payload = ctx.get(dut.o.payload)        # as the edge samples it
                    await ctx.tick()
                    if ready and valid:
                        break
                for r in range(c.m):
                    for t in range(c.k):
                        mant[r, g * c.k + t] = payload.data[r][t]
                shift = [payload.shift[r] for r in range(c.m)]
                special = [bool(payload.special[r]) for r in range(c.m)]
                assert payload.last == (g == c.block_groups - 1)
            ctx.set(dut.o.ready, 0)
            out.append((mant, np.array(shift), np.array(special)))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    return out


@pytest.mark.parametrize("act", ["fp16", "bf16"])
@pytest.mark.parametrize("k,group", [(4, 32), (3, 32)])
def test_rtl_align_equals_reference(act, k, group):
    spec = gemm_spec(GemmConfig(activation=act, group_size=group, k=k, m=2, n=2, max_k=64))
    fmt = spec.activation_format
    c = spec.config
    rng = np.random.default_rng(k)
    dtype = np.float16 if act == "fp16" else ml_dtypes.bfloat16
    width = c.block_groups * k
    blocks = []
    for i in range(6):
        x = rng.standard_normal((c.m, width)) * np.exp(rng.uniform(-8, 8, size=(c.m, 1)))
        if i == 1:
            x[0, 3], x[1, 5] = np.inf, np.nan
        if i == 2:
            x[:] = 0
        if i == 3:
            x[0] = np.r_[1.0, np.full(width - 1, 3 * 2.0 ** -20)]          # ties
        if i == 4:
            x[1] = 2.0 ** -24                                               # subnormal (fp16)
        blocks.append(fmt.to_bits(x.astype(dtype).astype(np.float64)))
    got = rtl_align(blocks, spec, seed=k)
    for block, (mant, shift, special) in zip(blocks, got):
        rm, rs, rsp = ref_align(block, spec)
        assert np.array_equal(mant, rm)
        assert np.array_equal(shift, rs) and np.array_equal(special, rsp)


def test_needs_float_activations():
    with pytest.raises(ValueError, match="^FpAlign needs float activations, not 'int8'$"):
        FpAlign(gemm_spec(GemmConfig(group_size=32)))
