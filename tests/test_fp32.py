"""Binary32 units in the Amaranth simulator: ``rtl_*`` against the golden ``ref_*`` models,
and the golden models against exact rational arithmetic (``lutmix.fp32.exact_*``)."""
from fractions import Fraction

import numpy as np
import pytest
from amaranth import Const
from amaranth.back import rtlil
from amaranth.sim import Simulator

from lutmix import fp32
from lutmix.golden.fp32 import ref_f32_add, ref_f32_mul, ref_int_to_f32
from lutmix.rtl.f32_add import F32Add
from lutmix.rtl.f32_mul import F32Mul
from lutmix.rtl.int_to_f32 import IntToF32
from lutmix.sim import fp32_vectors as vec
from lutmix.sim.fp32_run import simulate_vectors

from .conftest import simulators

# ---- the RTL as functions: one simulation loops over every input -------------------------------


def _run(dut, **inputs):
    columns = [np.asarray(v).tolist() for v in inputs.values()]
    ports = [getattr(dut, name) for name in inputs]
    out = []

    async def testbench(ctx):
        for values in zip(*columns):
            for port, value in zip(ports, values):
                ctx.set(port, value)
            out.append(ctx.get(dut.o))

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    return np.array(out, dtype=np.uint32)


def rtl_int_to_f32(i, width):
    return _run(IntToF32(width=width), i=i)


def rtl_f32_mul(a, b, shift, *, shift_bits, multiplier):
    return _run(F32Mul(shift_bits=shift_bits, multiplier=multiplier), a=a, b=b, shift=shift)


def rtl_f32_add(a, b):
    return _run(F32Add(), a=a, b=b)


def _finite(bits):
    return (bits & fp32.EXP_MASK) != fp32.EXP_MASK


def _mismatches(got, expected, *inputs):
    bad = np.flatnonzero(np.asarray(got) != np.asarray(expected))
    return [tuple(f"0x{int(x[j]) & 0xFFFFFFFF:08X}" if x.dtype == np.uint32 else int(x[j])
                  for x in inputs) + (f"got 0x{int(got[j]):08X}", f"want 0x{int(expected[j]):08X}")
            for j in bad[:5]], len(bad)


# ---- operands ---------------------------------------------------------------------------------

def add_operands(seed=1, n=3000):
    rng = np.random.default_rng(seed)
    a0, b0 = vec.edge_pairs()
    a1, b1 = vec.random_bits(rng, n), vec.random_bits(rng, n)
    a2, b2 = vec.near_one(rng, n), vec.near_one(rng, n)
    a3, b3 = vec.close_pairs(rng, n)
    specific = np.array([
        # ties at 1.0: to even down, to even up; a carry through the significand
        (fp32.ONE, 0x33800000), (0x3F800001, 0x33800000), (0x3FFFFFFF, 0x34000000),
        # max normal + half an ulp overflows (tie to even), + just below half does not
        (fp32.MAX_NORMAL, 0x73000000), (fp32.MAX_NORMAL, 0x72FFFFFF),
        # subnormal + subnormal becomes normal; cancellation down to a subnormal
        (fp32.MAX_SUBNORMAL, fp32.MIN_SUBNORMAL), (0x00800001, 0x80800000),
        # 1 - (1 - 2**-24): cancellation of 24 places
        (fp32.ONE, 0xBF7FFFFF),
    ], dtype=np.uint32)
    a = np.concatenate([a0, a1, a2, a3, specific[:, 0], specific[:, 1]])
    b = np.concatenate([b0, b1, b2, b3, specific[:, 1], specific[:, 0]])
    return a, b


def mul_operands(shift_bits, seed=2, n=1500):
    rng = np.random.default_rng(seed + shift_bits)
    lo, hi = fp32.shift_range(shift_bits)
    a0, b0 = vec.edge_pairs()
    # each edge pair at shift 0 and at one of the ends of the shift range
    ends = np.array([lo, hi, -1 if lo < -1 else lo, 1 if hi > 1 else hi])
    s0 = np.concatenate([np.zeros(a0.size, np.int64), ends[np.arange(a0.size) % 4]])
    a0, b0 = np.tile(a0, 2), np.tile(b0, 2)
    a1, b1 = vec.random_bits(rng, n), vec.random_bits(rng, n)
    s1 = rng.integers(lo, hi + 1, size=n)
    a2, b2 = vec.near_one(rng, n), vec.near_one(rng, n)
    s2 = np.clip(rng.integers(-3, 4, size=n), lo, hi)
    a3, b3, s3 = vec.scaled_products(rng, n, shift_bits)
    specific = np.array([
        # products on the subnormal boundary: 2**-126 exactly; (1 - 2**-24) * 2**-126 is a tie
        # between the largest subnormal and the smallest normal (to even: the normal)
        (0x20000000, 0x20000000, 0), (0x3F7FFFFF, fp32.MIN_NORMAL, 0),
        (fp32.MIN_NORMAL, 0x3F000000, 0), (fp32.MIN_NORMAL, 0x3F000000, lo),
        # 2**-150 ties to 0, 1.5 * 2**-149 to 2 * 2**-149, 0.5000001 * 2**-149 rounds up
        (fp32.MIN_SUBNORMAL, 0x3F000000, 0), (fp32.MIN_SUBNORMAL, 0x3FC00000, 0),
        (fp32.MIN_SUBNORMAL, 0x3F000001, 0), (0x00000003, fp32.ONE, -1 if lo < 0 else 0),
        # significand carry: (2 - 2**-23) * (1 + 2**-23) = 2 - 2**-46 rounds to 2
        (0x3FFFFFFF, 0x3F800001, 0),
        # overflow boundary: max normal stays, one ulp more or twice is Inf
        (fp32.MAX_NORMAL, fp32.ONE, 0), (fp32.MAX_NORMAL, 0x3F800001, 0),
        (fp32.MAX_NORMAL, fp32.ONE, min(hi, 1)), (0x7F000000, 0x3FFFFFFF, 0),
        # subnormal times large: normal again
        (fp32.MIN_SUBNORMAL, 0x7F000000, hi), (fp32.MAX_SUBNORMAL, 0x4B800000, lo),
    ], dtype=np.int64)
    a = np.concatenate([a0, a1, a2, a3, specific[:, 0].astype(np.uint32)])
    b = np.concatenate([b0, b1, b2, b3, specific[:, 1].astype(np.uint32)])
    s = np.concatenate([s0, s1, s2, s3, specific[:, 2]]).astype(np.int64)
    return a.astype(np.uint32), b.astype(np.uint32), s


def int_operands(width, seed=3, n=1500):
    if width <= 12:
        return np.arange(-(1 << (width - 1)), 1 << (width - 1), dtype=np.int64)
    rng = np.random.default_rng(seed + width)
    return np.concatenate([vec.int_edges(width), vec.random_ints(rng, n, width)])


# ---- golden models against IEEE 754 in exact arithmetic (lutmix.fp32.exact_*) ----------------

def test_round_fraction_definition():
    # the exact rounding itself, on values whose binary32 neighbours are known
    assert fp32.round_fraction(1) == fp32.ONE
    assert fp32.round_fraction(Fraction(-1, 3)) == 0xBEAAAAAB
    assert fp32.round_fraction(1 + Fraction(1, 1 << 24)) == fp32.ONE                # tie, even
    assert fp32.round_fraction(1 + Fraction(3, 1 << 24)) == 0x3F800002              # tie, up
    assert fp32.round_fraction(Fraction(1, 1 << 150)) == fp32.POS_ZERO              # tie, even
    assert fp32.round_fraction(Fraction(3, 1 << 150)) == 0x00000002                 # tie, up
    assert fp32.round_fraction(-Fraction(1, 1 << 151)) == fp32.NEG_ZERO
    assert fp32.round_fraction(Fraction(1, 1 << 126) - Fraction(1, 1 << 150)) == fp32.MIN_NORMAL
    assert fp32.round_fraction(2 ** 128 - 2 ** 103) == fp32.POS_INF                 # tie, even
    assert fp32.round_fraction(2 ** 128 - 2 ** 103 - 1) == fp32.MAX_NORMAL
    assert fp32.round_fraction(0, negative=True) == fp32.NEG_ZERO
    for bits in vec.edge_values().tolist():
        if _finite(bits):
            assert fp32.round_fraction(fp32.to_fraction(bits), negative=bits >> 31) == bits


def test_ref_int_to_f32_is_correct_rounding():
    i = np.concatenate([vec.int_edges(64), vec.random_ints(np.random.default_rng(4), 3000, 64),
                        vec.int_edges(32)])
    expected = [fp32.exact_int_to_f32(v) for v in i.tolist()]
    assert _mismatches(ref_int_to_f32(i), expected, i) == ([], 0)


@pytest.mark.parametrize("shift_bits", [1, 10])
def test_ref_f32_mul_is_correct_rounding(shift_bits):
    a, b, s = mul_operands(shift_bits)
    expected = [fp32.exact_f32_mul(*v) for v in zip(a.tolist(), b.tolist(), s.tolist())]
    assert _mismatches(ref_f32_mul(a, b, s), expected, a, b, s) == ([], 0)


def test_ref_f32_add_is_correct_rounding():
    a, b = add_operands()
    expected = [fp32.exact_f32_add(*v) for v in zip(a.tolist(), b.tolist())]
    assert _mismatches(ref_f32_add(a, b), expected, a, b) == ([], 0)


def test_ref_special_cases():
    z, nz, inf, ninf, one = fp32.POS_ZERO, fp32.NEG_ZERO, fp32.POS_INF, fp32.NEG_INF, fp32.ONE
    nan = fp32.CANONICAL_NAN
    add = [(z, nz, z), (nz, nz, nz), (one, one | fp32.SIGN_MASK, z), (inf, ninf, nan),
           (inf, one, inf), (ninf, fp32.MAX_NORMAL, ninf), (0x7F800001, one, nan),
           (0xFFC12345, one, nan), (fp32.MAX_NORMAL, fp32.MAX_NORMAL, inf)]
    for a, b, o in add:
        assert int(ref_f32_add(a, b)) == o, (hex(a), hex(b))
    mul = [(inf, z, 0, nan), (nz, ninf, 0, nan), (one | fp32.SIGN_MASK, z, 0, nz),
           (nz, nz, 0, z), (ninf, one, -512, ninf), (fp32.MIN_SUBNORMAL, one, -1, z),
           (0xFF800001, z, 0, nan), (fp32.MAX_NORMAL, one, 1, inf)]
    for a, b, s, o in mul:
        assert int(ref_f32_mul(a, b, s)) == o, (hex(a), hex(b), s)


def test_ref_argument_checks():
    with pytest.raises(ValueError, match=r"shift must be in \[-512, 511\]"):
        ref_f32_mul(fp32.ONE, fp32.ONE, 512)
    with pytest.raises(TypeError, match="a must be integer bit patterns"):
        ref_f32_add(np.float32(1), fp32.ONE)
    with pytest.raises(ValueError, match="b must be 32-bit patterns"):
        ref_f32_add(fp32.ONE, -1)


# ---- RTL against golden ----------------------------------------------------------------------

@pytest.mark.parametrize("width", [2, 5, 12, 24, 25, 26, 33, 64])
def test_int_to_f32(width):
    i = int_operands(width)
    assert _mismatches(rtl_int_to_f32(i, width), ref_int_to_f32(i), i) == ([], 0)


@pytest.mark.parametrize("multiplier", ["native", "shiftadd"])
@pytest.mark.parametrize("shift_bits", [1, 10])
def test_f32_mul(multiplier, shift_bits):
    a, b, s = mul_operands(shift_bits)
    got = rtl_f32_mul(a, b, s, shift_bits=shift_bits, multiplier=multiplier)
    assert _mismatches(got, ref_f32_mul(a, b, s), a, b, s) == ([], 0)


def test_f32_add():
    a, b = add_operands()
    assert _mismatches(rtl_f32_add(a, b), ref_f32_add(a, b), a, b) == ([], 0)


@pytest.mark.parametrize("unit", ["add", "mul"])
def test_truncating_rtl_is_caught(unit, monkeypatch):
    # the same units with rounding replaced by truncation must fail against the golden model
    import lutmix.rtl.f32_add
    import lutmix.rtl.f32_mul
    module = {"add": lutmix.rtl.f32_add, "mul": lutmix.rtl.f32_mul}[unit]
    real = module.round_pack
    monkeypatch.setattr(module, "round_pack",
                        lambda m, *, guard, **kw: real(m, guard=Const(0, 1), **kw))
    rng = np.random.default_rng(5)
    a, b = vec.near_one(rng, 300), vec.near_one(rng, 300)
    if unit == "add":
        bad = _mismatches(rtl_f32_add(a, b), ref_f32_add(a, b), a, b)[1]
    else:
        s = np.zeros(a.size, np.int64)
        got = rtl_f32_mul(a, b, s, shift_bits=2, multiplier="native")
        bad = _mismatches(got, ref_f32_mul(a, b, s), a, b, s)[1]
    assert bad > 50


# ---- structure and parameters -----------------------------------------------------------------

@pytest.mark.parametrize("multiplier,has_mul", [("native", True), ("shiftadd", False)])
def test_multiplier_cells(multiplier, has_mul):
    text = rtlil.convert(F32Mul(shift_bits=8, multiplier=multiplier))
    assert ("cell $mul " in text) == has_mul


@pytest.mark.parametrize("component", [lambda: IntToF32(width=32), F32Add,
                                       lambda: F32Mul(shift_bits=4, multiplier="shiftadd")])
def test_adder_and_converter_have_no_multiplier(component):
    assert "$mul" not in rtlil.convert(component())


def test_generation_is_deterministic():
    for build in (IntToF32, F32Add, F32Mul):
        kwargs = {IntToF32: {"width": 40}, F32Add: {},
                  F32Mul: {"shift_bits": 10, "multiplier": "shiftadd"}}[build]
        assert rtlil.convert(build(**kwargs)) == rtlil.convert(build(**kwargs))


def test_ports():
    dut = F32Mul(shift_bits=6, multiplier="native")
    assert (len(dut.a), len(dut.b), len(dut.o)) == (32, 32, 32)
    assert dut.shift.shape().signed and len(dut.shift) == 6
    assert (dut.shift_bits, dut.multiplier) == (6, "native")
    conv = IntToF32(width=40)
    assert conv.i.shape().signed and len(conv.i) == 40 and conv.width == 40


@pytest.mark.parametrize("cls,kwargs,error,message", [
    (IntToF32, {"width": 1}, TypeError, "Integer width must be an integer from 2 to 64, not 1"),
    (IntToF32, {"width": 65}, TypeError, "Integer width must be an integer from 2 to 64, not 65"),
    (IntToF32, {"width": "8"}, TypeError,
     "Integer width must be an integer from 2 to 64, not '8'"),
    (IntToF32, {"width": True}, TypeError,
     "Integer width must be an integer from 2 to 64, not True"),
    (F32Mul, {"shift_bits": 0, "multiplier": "native"}, TypeError,
     "Shift width must be an integer from 1 to 10, not 0"),
    (F32Mul, {"shift_bits": 11, "multiplier": "native"}, TypeError,
     "Shift width must be an integer from 1 to 10, not 11"),
    (F32Mul, {"shift_bits": 4.0, "multiplier": "native"}, TypeError,
     "Shift width must be an integer from 1 to 10, not 4.0"),
    (F32Mul, {"shift_bits": 4, "multiplier": "booth"}, ValueError,
     "Multiplier must be 'native' or 'shiftadd', not 'booth'"),
    (F32Mul, {"shift_bits": 4, "multiplier": None}, ValueError,
     "Multiplier must be 'native' or 'shiftadd', not None"),
])
def test_validation(cls, kwargs, error, message):
    with pytest.raises(error) as info:
        cls(**kwargs)
    assert str(info.value) == message


def test_keyword_only():
    with pytest.raises(TypeError):
        IntToF32(8)
    with pytest.raises(TypeError):
        F32Mul(4, "native")


# ---- the generated Verilog on Verilator and Icarus ----------------------------------------------

VERILOG_UNITS = {
    # name: (component, vector kind, input ports, golden model)
    "int_to_f32": (lambda: IntToF32(width=64), "int_to_f32", ("i",), ref_int_to_f32),
    "f32_add": (F32Add, "f32_add", ("a", "b"), ref_f32_add),
    "f32_mul_native": (lambda: F32Mul(shift_bits=10, multiplier="native"), "f32_mul",
                       ("a", "b", "shift"), ref_f32_mul),
    "f32_mul_shiftadd": (lambda: F32Mul(shift_bits=10, multiplier="shiftadd"), "f32_mul",
                         ("a", "b", "shift"), ref_f32_mul),
}


def _check_verilog(unit, sim, n, seed, sim_cache, tmp_path):
    build, kind, ports, ref = VERILOG_UNITS[unit]
    inputs = vec.unit_vectors(kind, n, seed)
    got = simulate_vectors(build(), f"lutmix_{unit}", sim=sim, cache_dir=sim_cache,
                           workdir=tmp_path, **dict(zip(ports, inputs)))
    assert _mismatches(got, ref(*inputs), *inputs) == ([], 0)


@pytest.mark.parametrize("sim", simulators())
@pytest.mark.parametrize("unit", ["int_to_f32", "f32_add", "f32_mul_shiftadd"])
def test_verilog(unit, sim, sim_cache, tmp_path):
    # edge cases and random vectors through the generated Verilog (Yosys' conversion included)
    _check_verilog(unit, sim, 1000 if sim == "verilator" else 200, 6, sim_cache, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("unit", list(VERILOG_UNITS))
def test_verilog_long(unit, sim_cache, tmp_path):
    _check_verilog(unit, "verilator", 250_000, 7, sim_cache, tmp_path)
