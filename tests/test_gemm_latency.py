"""The GEMM engines' latency and throughput, measured in cycles in the Amaranth simulator.

One weight tile (and its scales) loads, then activation tiles stream back to back with nothing
stalled. The docstring of :class:`GemmEngine` promises ``spec.latency`` cycles from the
handshake of a tile's last ``x`` beat to ``y.valid``, and one activation beat every ``chunks``
cycles; these tests hold the RTL to both.
"""
import numpy as np
import pytest
from amaranth.sim import Simulator

from lutmix import words
from lutmix.config import GemmConfig
from lutmix.rtl.gemm_engine import GemmEngine


def beat_value(row):
    return int.from_bytes(bytes(np.asarray(row, dtype=np.uint8)), "little")


def measure(config, tiles=3):
    """Cycles (from ``x`` last handshake to ``y.valid``) of each tile, and the cycles between
    successive ``x`` handshakes."""
    dut = GemmEngine(config)
    spec = dut.spec
    c = config
    groups = 2 * c.block_groups if c.dequant else 4
    kk = groups * c.k
    rng = np.random.default_rng(0)
    fmt = spec.weight_format
    codes = rng.choice(np.array(fmt.values), size=(c.n, kk))
    w_beats = words.pack_weights(fmt.encode(codes), spec)
    x_tiles = [words.pack_acts(rng.integers(-100, 100, size=(c.m, kk)), spec)
               for _ in range(tiles)]
    s_beats = None
    if c.dequant:
        s = np.ones((c.n, 2), dtype=np.float16)
        z = np.zeros((c.n, 2), dtype=np.int64) if spec.has_zeros else None
        s_beats = words.pack_scales(s, z, spec)
    x_done, y_valid, x_times = [], [], []

    def frame_driver(port, beats):
        """A testbench that sends ``beats`` as one frame on ``port`` with no idle cycles."""
        async def drive(ctx):
            for i, beat in enumerate(beats):
                ctx.set(port.payload.data, beat_value(beat))
                ctx.set(port.payload.last, i == len(beats) - 1)
                ctx.set(port.valid, 1)
                await ctx.tick().until(port.ready)
            ctx.set(port.valid, 0)
        return drive

    async def drive_x(ctx):
        cycle = 0
        for t, tile in enumerate(x_tiles):
            for g, beat in enumerate(tile):
                ctx.set(dut.x.payload.as_value(), beat_value(beat)
                        | ((g == groups - 1) << spec.x_tdata_bits)
                        | ((t == tiles - 1 and g == groups - 1) << (spec.x_tdata_bits + 1)))
                ctx.set(dut.x.valid, 1)
                while True:
                    *_, ready = await ctx.tick().sample(dut.x.ready)
                    cycle += 1
                    if ready:
                        break
                x_times.append(cycle)
                if g == groups - 1:
                    x_done.append(cycle)
        ctx.set(dut.x.valid, 0)

    async def sink(ctx):
        ctx.set(dut.y.ready, 1)
        cycle, seen = 0, 0
        while seen < tiles * c.m:
            *_, valid = await ctx.tick().sample(dut.y.valid)
            cycle += 1
            if valid:
                if seen % c.m == 0:
                    y_valid.append(cycle)
                seen += 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(frame_driver(dut.w, w_beats), background=True)
    if c.dequant:
        sim.add_testbench(frame_driver(dut.s, s_beats), background=True)
    sim.add_testbench(drive_x, background=True)
    sim.add_testbench(sink)
    sim.run()
    return spec, [y - x for x, y in zip(x_done, y_valid)], np.diff(x_times)


@pytest.mark.parametrize("config", [
    GemmConfig(weight="int2", m=2, n=4, k=4, max_k=64),
    GemmConfig(weight="int1", m=1, n=3, k=5, max_k=64),
    GemmConfig(engine="shiftadd", weight="int4", m=2, n=4, k=4, planes_per_cycle=2, max_k=64),
    GemmConfig(engine="mac", weight="int4", m=2, n=4, k=3, max_k=64),
    GemmConfig(weight="uint4", m=2, n=4, k=4, max_k=64, group_size=32),
    GemmConfig(engine="shiftadd", weight="int4", m=2, n=4, k=4, planes_per_cycle=2,
               max_k=128, group_size="channel"),
    GemmConfig(engine="mac", weight="uint4", m=2, n=4, k=4, max_k=64, group_size=32,
               zero_point="scaled"),
], ids=lambda c: f"{c.engine}-{c.weight}-g{c.group_size}")
def test_latency_and_throughput(config):
    spec, latencies, gaps = measure(config)
    assert latencies == [spec.latency] * len(latencies)
    assert set(gaps.tolist()) == {spec.chunks}         # an activation beat every chunks cycles


@pytest.mark.parametrize("config", [
    GemmConfig(weight="int4", activation="fp16", m=2, n=4, k=4, max_k=64, group_size=32),
    GemmConfig(engine="mac", weight="int4", activation="bf16", m=1, n=4, k=4, max_k=64,
               group_size=64, scale="fp32"),
], ids=lambda c: f"{c.engine}-{c.activation}")
def test_float_activations_keep_full_throughput(config):
    # The aligner takes a block's beats at once and hands them on at the array's pace, so
    # beats bunch up at the port; over a whole tile the pace is still chunks cycles a beat.
    spec, latencies, gaps = measure(config, tiles=4)
    per_tile = 2 * config.block_groups
    tail = gaps[-2 * per_tile:]
    assert tail.sum() == 2 * per_tile * spec.chunks
    assert latencies[1:] == [latencies[1]] * (len(latencies) - 1)
