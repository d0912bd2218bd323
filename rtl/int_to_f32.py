"""Signed integer to IEEE binary32, round to nearest, ties to even."""

__all__ = ["IntToF32"]

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from lutmix import fp32

from .f32_round import normalize_left, round_pack


class IntToF32(wiring.Component):
    """Converts a ``width``-bit two's-complement integer to binary32, bit-exact to
    :func:`lutmix.golden.fp32.ref_int_to_f32` (NumPy's ``int64 -> float32``).

    Rounds to nearest, ties to even; ``0`` gives ``+0``. Integers of up to 24 bits convert
    exactly. The largest magnitude, ``2**63``, has exponent 63: no overflow is possible.

    Combinational: zero latency, one conversion per cycle. The path is a negation
    (``width``-bit carry chain), a leading-zero normalizer of ``ceil(log2(width))`` mux stages,
    and the 31-bit rounding incrementer; for ``width`` above about 24 the lead should register
    the input and output (or cut after the normalizer) to meet a fast clock.

    Parameters
    ----------
    width : int
        Width of the signed input, 2 to 64.

    Members
    -------
    i : In(signed(width))
        The integer.
    o : Out(32)
        The binary32 word.
    """

    def __init__(self, *, width):
        if type(width) is not int or not 2 <= width <= 64:
            raise TypeError(f"Integer width must be an integer from 2 to 64, not {width!r}")
        self._width = width
        super().__init__({"i": In(signed(width)), "o": Out(32)})

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        w = self._width
        negative = self.i[w - 1]
        magnitude = Signal(w)                   # |-2**(w-1)| = 2**(w-1) still fits w bits
        m.d.comb += magnitude.eq(Mux(negative, -self.i, self.i))
        norm, zeros = normalize_left(m, magnitude, name="norm")
        # magnitude = norm * 2**-zeros, top bit of norm at w - 1
        exponent = Signal(range(fp32.BIAS + w))
        m.d.comb += exponent.eq(fp32.BIAS + w - 1 - zeros)
        sig = fp32.SIG_BITS
        if w <= sig:
            significand = Cat(Const(0, sig - w), norm) if w < sig else norm
            guard = sticky = Const(0, 1)
        else:
            significand = norm[w - sig:]
            guard = norm[w - sig - 1]
            sticky = norm[:w - sig - 1].any() if w > sig + 1 else Const(0, 1)
        word = round_pack(m, sign=negative, exponent=exponent, significand=significand,
                          guard=guard, sticky=sticky, name="rnd")
        m.d.comb += self.o.eq(Mux(magnitude == 0, fp32.POS_ZERO, word))
        return m

