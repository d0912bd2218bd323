"""Symmetrized LUT precompute: one group of ``k`` activations to ``2**(k-1)`` signed sums."""

__all__ = ["LutTable"]

from amaranth import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from lutmix import lut
from lutmix.arith import signed_bits


class LutTable(wiring.Component):
    """Builds the table of :mod:`lutmix.lut` by doubling, with ``2**k - 2`` adders.

    ``table[j] = x[k-1] + sum_{t<k-1} (+x[t] if bit t of j else -x[t])``.
    Combinational: zero latency, one table per cycle.

    Parameters
    ----------
    k : int
        Group size, 2 to 5.
    act_bits : int
        Width of one signed activation, 2 to 32.

    Members
    -------
    x : In(ArrayLayout(signed(act_bits), k))
        The activations of the group.
    table : Out(ArrayLayout(signed(entry_bits), 2**(k-1)))
        The table; ``entry_bits`` is the exact width of :func:`lutmix.lut.table_bounds`.
    """

    def __init__(self, *, k, act_bits):
        if not isinstance(k, int) or not 2 <= k <= 5:
            raise TypeError(f"Group size must be an integer from 2 to 5, not {k!r}")
        if not isinstance(act_bits, int) or not 2 <= act_bits <= 32:
            raise TypeError(f"Activation width must be an integer from 2 to 32, not {act_bits!r}")
        self._k = k
        self._act_bits = act_bits
        lo, hi = -(1 << (act_bits - 1)), (1 << (act_bits - 1)) - 1
        self._entry_bits = signed_bits(*lut.table_bounds(k, lo, hi))
        super().__init__({
            "x": In(data.ArrayLayout(signed(act_bits), k)),
            "table": Out(data.ArrayLayout(signed(self._entry_bits), lut.table_size(k))),
        })

    @property
    def k(self):
        return self._k

    @property
    def act_bits(self):
        return self._act_bits

    @property
    def entry_bits(self):
        return self._entry_bits

    def elaborate(self, platform):
        m = Module()
        k = self._k
        entries = [self.x[k - 1]]
        for t in range(k - 2, -1, -1):
            xt = self.x[t]
            entries = [e for v in entries for e in (v - xt, v + xt)]
        for j, value in enumerate(entries):
            m.d.comb += self.table[j].eq(value)
        return m
