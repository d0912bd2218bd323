"""The LUT array: shared symmetrized tables, looked up by every output channel."""

__all__ = ["LutArray"]

from amaranth import Array, Module, Mux, Signal, signed
from amaranth.lib import wiring

from lutmix import lut

from .gemm_array import array_signature
from .lut_table import LutTable


class LutArray(wiring.Component):
    """``m`` tables of ``2**(k-1)`` entries, each shared by ``n`` output channels.

    For each row the array builds the table of the group (:class:`LutTable`) and keeps it in a
    register that shifts left by ``planes_per_cycle`` each chunk, so a plane's weight ``2**i``
    is paid once per row, not once per output. Each output channel looks up ``planes_per_cycle``
    index words per cycle, negates the entry when the word's top bit is 0, and adds the planes.
    ``xsum`` is the table's all-plus entry. See :func:`array_signature` for the timing.

    Parameters
    ----------
    spec : GemmSpec
        Of a config with ``engine = "lut"``.
    """

    def __init__(self, spec):
        self._spec = spec
        super().__init__(array_signature(spec))

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        c = spec.config
        k, p, b, chunks = c.k, c.planes_per_cycle, spec.weight_format.bits, spec.chunks
        J = lut.table_size(k)
        table = [[Signal(signed(spec.table_reg_bits), name=f"table{r}_{j}") for j in range(J)]
                 for r in range(c.m)]
        for r in range(c.m):
            builder = LutTable(k=k, act_bits=spec.activation_format.core_bits)
            m.submodules[f"build{r}"] = builder
            m.d.comb += builder.x.eq(self.x[r])
            for j in range(J):
                with m.If(self.load):
                    m.d.sync += table[r][j].eq(builder.table[j])
                with m.Elif(self.shift):
                    m.d.sync += table[r][j].eq(table[r][j] << p)
            m.d.comb += self.xsum[r].eq(table[r][J - 1])

        last_slots = b - (chunks - 1) * p       # planes present in the final chunk
        for r in range(c.m):
            row = Array(table[r])
            for j in range(c.n):
                total = 0
                for pp in range(p):
                    word = self.word[(j * p + pp) * k:(j * p + pp + 1) * k]
                    entry = row[word[:k - 1]]
                    term = Mux(word[k - 1], entry, -entry) << pp
                    if pp >= last_slots:
                        term = Mux(self.last_chunk, 0, term)
                    total = term if pp == 0 else total + term
                m.d.comb += self.partial[r][j].eq(total)
        return m
