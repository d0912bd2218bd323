"""IEEE binary32 addition, round to nearest, ties to even."""

__all__ = ["F32Add"]

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lutmix import fp32

from .f32_round import normalize_left, round_pack, shift_right_sticky

EXTRA = 3       # guard, round and sticky bits below the significand while aligning


class F32Add(wiring.Component):
    """``o = RNE32(a + b)``, bit-exact to :func:`lutmix.golden.fp32.ref_f32_add`.

    IEEE 754 addition with subnormals (exact, no flush to zero): ``x + (-x) = +0``,
    ``(-0) + (-0) = -0``, ``Inf - Inf = NaN``, ``Inf + finite = Inf``, overflow to ``+-Inf``,
    and every NaN output is :data:`lutmix.fp32.CANONICAL_NAN`. Subtract by flipping bit 31 of
    ``b``.

    Datapath: the operands are ordered by magnitude (a 31-bit compare, because binary32
    magnitudes order like integers); the smaller significand is aligned right by the exponent
    difference into 24 + 3 bits, the bits shifted out jammed into the lowest (sticky) bit,
    which keeps the rounding exact: when the difference is 2 or more the result needs at most
    one place of left normalization, and when it is 0 or 1 nothing is shifted out. Then a
    28-bit add or subtract, one place of right normalization on a carry, a leading-zero
    normalizer (5 mux stages, limited so the exponent stays at least 1, which gives subnormal
    results) and round and pack.

    Combinational: zero latency, one sum per cycle. The path is long: the magnitude compare and
    operand swap, the 5-stage alignment shifter, a 28-bit carry chain, the 5-stage
    normalizer with its budget subtractors, and the 31-bit rounding carry chain, in series.
    The lead should pipeline around it (for example after alignment and after the add).

    Members
    -------
    a, b : In(32)
        The binary32 operands.
    o : Out(32)
        The binary32 sum.
    """

    a: In(32)
    b: In(32)
    o: Out(32)

    def elaborate(self, platform):
        m = Module()
        sig_bits = fp32.SIG_BITS
        width = sig_bits + EXTRA                        # aligned significands: 27 bits

        a_sign, a_exp, a_frac = fp32.unpack(self.a)
        b_sign, b_exp, b_frac = fp32.unpack(self.b)
        a_inf = Signal()
        b_inf = Signal()
        nan = Signal()
        m.d.comb += [
            a_inf.eq((a_exp == fp32.EXP_MAX) & (a_frac == 0)),
            b_inf.eq((b_exp == fp32.EXP_MAX) & (b_frac == 0)),
            nan.eq(((a_exp == fp32.EXP_MAX) & (a_frac != 0))
                   | ((b_exp == fp32.EXP_MAX) & (b_frac != 0))
                   | (a_inf & b_inf & (a_sign != b_sign))),
        ]

        # x is the operand of larger magnitude, y the other one
        swap = Signal()
        x = Signal(32)
        y = Signal(32)
        m.d.comb += [
            swap.eq((self.b & fp32.MAG_MASK) > (self.a & fp32.MAG_MASK)),
            x.eq(Mux(swap, self.b, self.a)),
            y.eq(Mux(swap, self.a, self.b)),
        ]
        x_sign, x_exp, x_frac = fp32.unpack(x)
        y_sign, y_exp, y_frac = fp32.unpack(y)
        x_e = Signal(fp32.EXP_BITS)                     # subnormals read as exponent 1
        y_e = Signal(fp32.EXP_BITS)
        x_sig = Signal(width)                           # significand << EXTRA
        y_sig = Signal(width)
        m.d.comb += [
            x_e.eq(Mux(x_exp != 0, x_exp, 1)),
            y_e.eq(Mux(y_exp != 0, y_exp, 1)),
            x_sig.eq(Cat(Const(0, EXTRA), x_frac[:fp32.FRAC_BITS], x_exp != 0)),
            y_sig.eq(Cat(Const(0, EXTRA), y_frac[:fp32.FRAC_BITS], y_exp != 0)),
        ]

        # align y to x; 31 places or more clear it (27 already do), the sticky bit remembers it
        diff = Signal(fp32.EXP_BITS)
        distance = Signal(5)
        m.d.comb += [
            diff.eq(x_e - y_e),
            distance.eq(Mux(diff > 31, 31, diff)),
        ]
        y_shifted, lost = shift_right_sticky(m, y_sig, distance, name="align")
        y_aligned = Signal(width)
        m.d.comb += y_aligned.eq(y_shifted | lost)

        subtract = Signal()
        total = Signal(width + 1)                       # |x| >= |y|: never negative
        m.d.comb += [
            subtract.eq(x_sign ^ y_sign),
            total.eq(Mux(subtract, x_sig - y_aligned, x_sig + y_aligned)),
        ]

        # a carry out: one place right, keeping the sticky bit
        carry = total[width]
        n1 = Signal(width)
        e1 = Signal(fp32.EXP_BITS + 1)
        m.d.comb += [
            n1.eq(Mux(carry, Cat(total[0] | total[1], total[2:]), total[:width])),
            e1.eq(x_e + carry),
        ]
        norm, zeros = normalize_left(m, n1, budget=e1 - 1, name="norm")
        exponent = Signal(fp32.EXP_BITS + 1)
        m.d.comb += exponent.eq(e1 - zeros)
        word = round_pack(m, sign=x_sign, exponent=exponent, significand=norm[EXTRA:],
                          guard=norm[EXTRA - 1], sticky=norm[:EXTRA - 1].any(), name="rnd")

        with m.If(nan):
            m.d.comb += self.o.eq(fp32.CANONICAL_NAN)
        with m.Elif(a_inf | b_inf):
            m.d.comb += self.o.eq(fp32.pack(x_sign, fp32.EXP_MAX, 0))
        with m.Elif(total == 0):
            # an exact zero is +0 under round to nearest, unless both operands are -0
            m.d.comb += self.o.eq(fp32.pack(a_sign & b_sign, 0, 0))
        with m.Else():
            m.d.comb += self.o.eq(word)
        return m
