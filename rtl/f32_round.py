"""Normalization shifters and round-to-nearest-even packing shared by the binary32 units.

These build combinational logic into a given ``Module`` and return the new signals. They use
only muxes, shifts by constants (wiring), comparisons and adders: no multiplier.
"""

__all__ = ["normalize_left", "shift_right_sticky", "round_pack"]

from amaranth import Cat, Const, Mux, Signal, signed

from lutmix import fp32


def normalize_left(m, value, *, budget=None, name):
    """Shift ``value`` left until its top bit is set, by at most ``budget`` places.

    A priority shifter in ``ceil(log2(len(value)))`` mux stages (16, 8, 4, 2, 1 places ...):
    each stage shifts when the top ``k`` bits are zero and ``k`` places remain in the budget,
    which makes the total ``min(leading zeros, max(budget, 0))``. A zero ``value`` shifts by
    the whole capacity (callers treat zero apart).

    Parameters
    ----------
    m : Module
    value : Value
        Unsigned bits to normalize.
    budget : Value or None
        The most places to shift (signed; zero or negative shifts nothing); ``None`` for no limit.
    name : str
        Prefix of the stage signals.

    Returns
    -------
    (Signal, Signal)
        The shifted value (same width) and the number of places shifted.
    """
    width = len(value)
    stages = [1 << j for j in reversed(range(max(1, (width - 1).bit_length())))]
    cur = Signal(width, name=f"{name}_s0")
    m.d.comb += cur.eq(value)
    amount = Signal(len(stages), name=f"{name}_amount")
    if budget is not None:
        rem = Signal(signed(max(len(budget), len(amount)) + 1), name=f"{name}_rem0")
        m.d.comb += rem.eq(budget)
    for n, k in enumerate(stages):
        take = Signal(name=f"{name}_take{k}")
        if k < width:
            zero_top = cur[width - k:] == 0
            shifted = Cat(Const(0, k), cur[:width - k])
        else:
            zero_top = cur == 0
            shifted = Const(0, width)
        if budget is None:
            m.d.comb += take.eq(zero_top)
        else:
            m.d.comb += take.eq(zero_top & (rem >= k))
            nxt_rem = Signal.like(rem, name=f"{name}_rem{n + 1}")
            m.d.comb += nxt_rem.eq(Mux(take, rem - k, rem))
            rem = nxt_rem
        nxt = Signal(width, name=f"{name}_s{n + 1}")
        m.d.comb += [
            nxt.eq(Mux(take, shifted, cur)),
            amount[len(stages) - 1 - n].eq(take),
        ]
        cur = nxt
    return cur, amount


def shift_right_sticky(m, value, amount, *, name):
    """``value >> amount`` and the OR of every bit shifted out.

    One mux stage per bit of ``amount``; a stage of ``k >= len(value)`` places clears the value.

    Returns
    -------
    (Signal, Signal)
        The shifted value (same width) and the sticky bit.
    """
    width = len(value)
    cur = Signal(width, name=f"{name}_s0")
    m.d.comb += cur.eq(value)
    sticky = Const(0, 1)
    for n, j in enumerate(reversed(range(len(amount)))):
        k = 1 << j
        if k < width:
            lost = cur[:k].any()
            shifted = cur[k:]
        else:
            lost = cur.any()
            shifted = Const(0, width)
        nxt = Signal(width, name=f"{name}_s{n + 1}")
        nxt_sticky = Signal(name=f"{name}_sticky{n + 1}")
        m.d.comb += [
            nxt.eq(Mux(amount[j], shifted, cur)),
            nxt_sticky.eq(sticky | (amount[j] & lost)),
        ]
        cur, sticky = nxt, nxt_sticky
    return cur, sticky


def round_pack(m, *, sign, exponent, significand, guard, sticky, name):
    """Round a significand to nearest, ties to even, and pack a binary32 word.

    The value is ``significand * 2**(exponent - 150)`` plus the bits below it, summarized as
    ``guard`` (the half-unit bit) and ``sticky`` (the OR of everything below the guard).
    ``exponent`` is at least 1, and ``significand`` has 24 bits with the hidden bit on top:
    clear means a subnormal (then ``exponent`` is 1). Packing ``(exponent - 1) * 2**23 +
    significand`` gives the right word for normals and subnormals alike, and the rounding
    increment carries through it: into the next binade, from the largest subnormal to the
    smallest normal, and from the largest normal to Inf. An ``exponent`` of 255 or more is Inf.

    Returns
    -------
    Signal(32)
        The binary32 word.
    """
    round_up = Signal(name=f"{name}_round_up")
    biased = Signal(fp32.EXP_BITS, name=f"{name}_exp_minus_1")     # only read when in range
    field = Signal(32, name=f"{name}_field")
    overflow = Signal(name=f"{name}_overflow")
    out = Signal(32, name=f"{name}_word")
    m.d.comb += [
        round_up.eq(guard & (sticky | significand[0])),
        biased.eq(exponent - 1),
        field.eq(Cat(Const(0, fp32.FRAC_BITS), biased) + significand + round_up),
        overflow.eq(exponent >= fp32.EXP_MAX),
        out.eq(Mux(overflow, fp32.pack(sign, fp32.EXP_MAX, 0), fp32.pack(sign, 0, 0) | field[:31])),
    ]
    return out
