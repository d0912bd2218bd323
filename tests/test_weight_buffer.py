"""WeightBuffer in the Amaranth simulator: tiles load into alternate banks, never overwrite
a bank still in use, and read back exactly, under random stalls."""
import random

import pytest
from amaranth.sim import Simulator

from lutmix.rtl.weight_buffer import WeightBuffer


def ref_reads(tiles):
    """What the reader sees: each tile's words, in order."""
    return [list(t) for t in tiles]


def rtl_reads(tiles, depth, seed, load_idle=0.3, read_idle=0.3):
    dut = WeightBuffer(word_bits=12, depth=depth)
    rng = random.Random(seed)
    seen = []

    async def loader(ctx):
        for tile in tiles:
            for i, word in enumerate(tile):
                while rng.random() < load_idle:
                    ctx.set(dut.w.valid, 0)
                    await ctx.tick()
                ctx.set(dut.w.valid, 1)
                ctx.set(dut.w.payload, {"data": word, "last": i == len(tile) - 1})
                await ctx.tick().until(dut.w.ready)
            ctx.set(dut.w.valid, 0)

    async def reader(ctx):
        for tile in tiles:
            await ctx.tick().until(dut.rd_ready)
            words = []
            for addr in range(len(tile)):
                while rng.random() < read_idle:
                    await ctx.tick()
                ctx.set(dut.rd_addr, addr)
                ctx.set(dut.rd_en, 1)
                ctx.set(dut.release, addr == len(tile) - 1)
                await ctx.tick()
                ctx.set(dut.rd_en, 0)
                ctx.set(dut.release, 0)
                words.append(ctx.get(dut.rd_data))
            seen.append(words)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(loader, background=True)
    sim.add_testbench(reader)
    sim.run()
    return seen


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("depth", [1, 5, 8])
def test_double_buffer_under_random_stalls(seed, depth):
    rng = random.Random(100 + seed)
    tiles = [[rng.randrange(1 << 12) for _ in range(rng.randint(1, depth))] for _ in range(7)]
    assert rtl_reads(tiles, depth, seed) == ref_reads(tiles)


def test_load_waits_while_both_banks_are_full():
    dut = WeightBuffer(word_bits=4, depth=2)

    async def testbench(ctx):
        for tile in range(2):
            ctx.set(dut.w.valid, 1)
            ctx.set(dut.w.payload, {"data": tile, "last": 1})
            assert ctx.get(dut.w.ready)
            await ctx.tick()
        assert not ctx.get(dut.w.ready)      # both banks hold unread tiles
        assert ctx.get(dut.rd_ready)
        ctx.set(dut.release, 1)
        await ctx.tick()
        ctx.set(dut.release, 0)
        assert ctx.get(dut.w.ready)          # bank 0 is free again

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()


def test_validation():
    with pytest.raises(TypeError, match=r"^Depth must be a positive integer, not 0$"):
        WeightBuffer(word_bits=4, depth=0)
    with pytest.raises(TypeError, match=r"^Word width must be a positive integer, not 'x'$"):
        WeightBuffer(word_bits="x", depth=4)
