"""The softmax unit's blocks in the Amaranth simulator: rtl_* against ref_* (Glasgow style)."""
import numpy as np
import pytest
from amaranth.sim import Simulator

from lutmix.config import SoftmaxConfig
from lutmix.rtl.softmax import ExpUnit, Reciprocal
from lutmix.softmax_math import softmax_spec

LANES = 4


def ref_exp(xs, spec):
    u, e = spec.exp_parts(np.asarray(xs))
    return list(zip(u.tolist(), e.tolist()))


def rtl_exp(xs, spec):
    dut = ExpUnit(spec=spec, lanes=LANES)
    xs = list(xs) + [0] * (-len(xs) % LANES)
    out = []

    async def testbench(ctx):
        for j in range(0, len(xs), LANES):
            for i in range(LANES):
                ctx.set(dut.x[i], int(xs[j + i]))
            out.extend((ctx.get(dut.u[i]), ctx.get(dut.e[i])) for i in range(LANES))

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    return out


@pytest.mark.parametrize("kwargs", [
    dict(),                                                        # one table
    dict(input_bits=10, in_scale=0.25),                            # the largest single table
    dict(input_bits=16, in_scale=2.0 ** -10, out_frac_bits=16),    # split tables, a product
    dict(input_bits=11, in_scale=1.0),
    dict(input_bits=16, in_scale=1.6126061174361692e-07),          # split tables widened
    dict(method="ibert"),
    dict(method="ibert", input_bits=16, in_scale=2.0 ** -12),
    dict(method="softermax"),
    dict(method="softermax", input_bits=16, in_scale=200.0, out_frac_bits=16),
], ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_rtl_exp_equals_reference(kwargs):
    spec = softmax_spec(SoftmaxConfig(**kwargs))
    lo, hi = spec.x_min, spec.x_max
    if spec.in_bits <= 8:
        xs = list(range(lo, hi + 1))                               # exhaustive
    else:
        rng = np.random.default_rng(spec.in_bits)
        edges = [lo, lo + 1, -1, 0, 1, hi - 1, hi]
        xs = edges + rng.integers(lo, hi + 1, size=121).tolist()
    assert rtl_exp(xs, spec)[:len(xs)] == ref_exp(xs, spec)


def rtl_reciprocal(ds, q):
    dut = Reciprocal(norm_bits=q, meta_bits=16)
    out = []

    async def feed(ctx):
        for i, d in enumerate(ds):
            ctx.set(dut.i_valid, 1)
            ctx.set(dut.i_d, d)
            ctx.set(dut.i_meta, i)
            await ctx.tick()
        ctx.set(dut.i_valid, 0)

    async def collect(ctx):
        cycles = 0
        while len(out) < len(ds):
            await ctx.tick()
            cycles += 1
            if ctx.get(dut.o_valid):
                out.append((ctx.get(dut.o_r), ctx.get(dut.o_meta), cycles))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(feed)
    sim.add_testbench(collect)
    sim.run()
    return out


@pytest.mark.parametrize("q", [5, 18])
def test_rtl_reciprocal_equals_floor_division(q):
    # one division per cycle, a latency of q + 2 cycles, meta in step
    if q == 5:
        ds = list(range(1 << q, 1 << (q + 1)))                      # exhaustive
    else:
        rng = np.random.default_rng(q)
        ds = [1 << q, (1 << (q + 1)) - 1] + rng.integers(1 << q, 1 << (q + 1), 40).tolist()
    out = rtl_reciprocal(ds, q)
    assert [r for r, _, _ in out] == [(1 << (2 * q + 1)) // d for d in ds]
    assert [meta for _, meta, _ in out] == list(range(len(ds)))
    assert [c for _, _, c in out] == [q + 2 + i for i in range(len(ds))]


@pytest.mark.parametrize("build,message", [
    (lambda: ExpUnit(spec=3, lanes=1), "spec must be a SoftmaxSpec, not 3"),
    (lambda: ExpUnit(spec=softmax_spec(SoftmaxConfig()), lanes=0),
     "lanes must be a positive integer, not 0"),
    (lambda: Reciprocal(norm_bits=0, meta_bits=1), "norm_bits must be a positive integer, not 0"),
    (lambda: Reciprocal(norm_bits=4, meta_bits="8"),
     "meta_bits must be a positive integer, not '8'"),
])
def test_validation(build, message):
    with pytest.raises(TypeError) as info:
        build()
    assert str(info.value) == message
