"""IEEE binary32 multiply by a product and a power of two, rounded once."""

__all__ = ["F32Mul", "MULTIPLIERS"]

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lutmix import fp32
from lutmix.arith import signed_bits

from .f32_round import normalize_left, round_pack, shift_right_sticky

MULTIPLIERS = ("native", "shiftadd")


def _shiftadd_product(m, a, b):
    """``a * b`` (unsigned) from muxes, constant shifts and a balanced tree of adders.

    One partial product per bit of ``b`` (``a << i`` or zero), summed pairwise:
    ``ceil(log2(len(b)))`` adder levels.
    """
    width = len(a) + len(b)
    terms = []
    for i in range(len(b)):
        pp = Signal(width, name=f"pp{i}")
        m.d.comb += pp.eq(Mux(b[i], Cat(Const(0, i), a) if i else a, 0))
        terms.append(pp)
    level = 0
    while len(terms) > 1:
        level += 1
        nxt = []
        for n in range(0, len(terms) - 1, 2):
            s = Signal(width, name=f"sum{level}_{n // 2}")
            m.d.comb += s.eq(terms[n] + terms[n + 1])
            nxt.append(s)
        if len(terms) % 2:
            nxt.append(terms[-1])
        terms = nxt
    return terms[0]


class F32Mul(wiring.Component):
    """``o = RNE32(a * b * 2**shift)``, bit-exact to :func:`lutmix.golden.fp32.ref_f32_mul`.

    The exact product of the two binary32 operands times the power of two is rounded once, to
    nearest, ties to even. Full IEEE behaviour: subnormal operands and results (no flush to
    zero), overflow to ``+-Inf``, underflow to subnormals or ``+-0`` with correct rounding,
    ``sign(o) = sign(a) xor sign(b)`` (zeros and Infs included), ``Inf * 0 = NaN``, NaN
    operands propagate. Every NaN output is :data:`lutmix.fp32.CANONICAL_NAN`. ``shift`` is a
    block exponent: scaling by it is an exponent addition, so it costs no rounding.

    Datapath: 24 x 24 significand product (48 bits); exponent
    ``E0 = ea + eb + shift - 126``; a leading-zero normalizer (6 mux stages, limited so the
    exponent stays at least 1, which leaves subnormal results unnormalized); for ``E0 < 1`` a
    right shift by ``1 - E0`` (up to 31 places, 5 mux stages) that collects a sticky bit; then
    round and pack (31-bit incrementer).

    Combinational: zero latency, one product per cycle. This is a deep path: the 24 x 24
    multiplier (a DSP block or, with ``"shiftadd"``, 24 partial products in 5 adder levels),
    then the normalizer, the sticky shifter and the rounding carry chain, in series. The lead
    should pipeline around it (register after the significand product, and before rounding,
    for a fast clock).

    Parameters
    ----------
    shift_bits : int
        Width of the signed ``shift`` input, 1 to 10: ``shift`` is in
        ``[-2**(shift_bits-1), 2**(shift_bits-1) - 1]``.
    multiplier : str
        How the significand product is built: ``"native"`` uses Amaranth's ``*`` (synthesis
        maps it to DSP blocks); ``"shiftadd"`` uses only muxes, shifts and adders, so Yosys
        sees no ``$mul`` cell.

    Members
    -------
    a, b : In(32)
        The binary32 operands.
    shift : In(signed(shift_bits))
        The extra power of two.
    o : Out(32)
        The binary32 result.
    """

    def __init__(self, *, shift_bits, multiplier):
        if type(shift_bits) is not int or not 1 <= shift_bits <= 10:
            raise TypeError(f"Shift width must be an integer from 1 to 10, not {shift_bits!r}")
        if not isinstance(multiplier, str) or multiplier not in MULTIPLIERS:
            raise ValueError(f"Multiplier must be 'native' or 'shiftadd', not {multiplier!r}")
        self._shift_bits = shift_bits
        self._multiplier = multiplier
        super().__init__({
            "a": In(32),
            "b": In(32),
            "shift": In(signed(shift_bits)),
            "o": Out(32),
        })

    @property
    def shift_bits(self):
        return self._shift_bits

    @property
    def multiplier(self):
        return self._multiplier

    def elaborate(self, platform):
        m = Module()
        ops = []
        for name, word in (("a", self.a), ("b", self.b)):
            sign, exp, frac = fp32.unpack(word)
            op = {
                "sign": Signal(name=f"{name}_sign"),
                "exp": Signal(fp32.EXP_BITS, name=f"{name}_exp"),        # subnormals read as 1
                "sig": Signal(fp32.SIG_BITS, name=f"{name}_sig"),        # with the hidden bit
                "zero": Signal(name=f"{name}_zero"),
                "inf": Signal(name=f"{name}_inf"),
                "nan": Signal(name=f"{name}_nan"),
            }
            normal = exp != 0
            m.d.comb += [
                op["sign"].eq(sign),
                op["exp"].eq(Mux(normal, exp, 1)),
                op["sig"].eq(Cat(frac[:fp32.FRAC_BITS], normal)),
                op["zero"].eq((exp == 0) & (frac == 0)),
                op["inf"].eq((exp == fp32.EXP_MAX) & (frac == 0)),
                op["nan"].eq((exp == fp32.EXP_MAX) & (frac != 0)),
            ]
            ops.append(op)
        a, b = ops
        sign = Signal()
        m.d.comb += sign.eq(a["sign"] ^ b["sign"])

        product = Signal(2 * fp32.SIG_BITS)
        if self._multiplier == "native":
            m.d.comb += product.eq(a["sig"] * b["sig"])
        else:
            m.d.comb += product.eq(_shiftadd_product(m, a["sig"], b["sig"]))

        # value = product * 2**(e0 - 127 - 47): e0 is the biased exponent if bit 47 is set
        lo, hi = fp32.shift_range(self._shift_bits)
        bias = fp32.BIAS - 1
        e0 = Signal(signed(signed_bits(1 + 1 + lo - bias, 2 * (fp32.EXP_MAX - 1) + hi - bias)))
        m.d.comb += e0.eq(a["exp"] + b["exp"] + self.shift - bias)

        # normalize, but never below exponent 1: what is left unnormalized is a subnormal
        norm, zeros = normalize_left(m, product, budget=e0 - 1, name="norm")
        # below exponent 1: shift right by 1 - e0 into the subnormal range, 31 places at most
        # (25 already leave nothing above the sticky bit)
        tiny = Signal()
        right = Signal(5)
        m.d.comb += [
            tiny.eq(e0 < 1),
            right.eq(Mux(tiny, Mux(e0 < 1 - 31, 31, 1 - e0), 0)),
        ]
        aligned, lost = shift_right_sticky(m, norm, right, name="denorm")
        exponent = Signal.like(e0)
        m.d.comb += exponent.eq(Mux(tiny, 1, e0 - zeros))

        low = fp32.SIG_BITS - 1                 # bits below the 24-bit significand
        word = round_pack(m, sign=sign, exponent=exponent, significand=aligned[low + 1:],
                          guard=aligned[low], sticky=aligned[:low].any() | lost, name="rnd")

        with m.If(a["nan"] | b["nan"] | (a["inf"] & b["zero"]) | (a["zero"] & b["inf"])):
            m.d.comb += self.o.eq(fp32.CANONICAL_NAN)
        with m.Elif(a["inf"] | b["inf"]):
            m.d.comb += self.o.eq(fp32.pack(sign, fp32.EXP_MAX, 0))
        with m.Elif(a["zero"] | b["zero"]):
            m.d.comb += self.o.eq(fp32.pack(sign, 0, 0))
        with m.Else():
            m.d.comb += self.o.eq(word)
        return m
