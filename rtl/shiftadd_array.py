"""The shift-add array (MixPE style): products from shifts and adds, no multipliers."""

__all__ = ["ShiftAddArray"]

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import wiring

from .gemm_array import array_signature


class ShiftAddArray(wiring.Component):
    """``m x n`` processing elements that multiply by shifting and adding over weight bits.

    Each row's ``k`` activations sit in a register that shifts left by ``planes_per_cycle``
    each chunk (shared by the ``n`` outputs). Per cycle, each output adds the shifted
    activations selected by its ``planes_per_cycle`` code bit-planes: ``sum over t, pp of
    bit(u[j, t], plane) ? x[t] << pp``. Codes are unsigned, so the array computes ``sum(x * u)``;
    the signed formats' offset is removed with ``xsum`` after accumulation. See
    :func:`array_signature` for the timing.

    Weight word: output ``j``, slot ``pp``, activation ``t`` at bit ``(j*p + pp)*k + t``.

    Parameters
    ----------
    spec : GemmSpec
        Of a config with ``engine = "shiftadd"``.
    """

    def __init__(self, spec):
        self._spec = spec
        super().__init__(array_signature(spec))

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        c = spec.config
        k, p, b, chunks = c.k, c.planes_per_cycle, spec.weight_format.bits, spec.chunks
        xs = [[Signal(signed(spec.table_reg_bits), name=f"xs{r}_{t}") for t in range(k)]
              for r in range(c.m)]
        for r in range(c.m):
            total = 0
            for t in range(k):
                with m.If(self.load):
                    m.d.sync += xs[r][t].eq(self.x[r][t])
                with m.Elif(self.shift):
                    m.d.sync += xs[r][t].eq(xs[r][t] << p)
            xsum = Signal.like(self.xsum[r], name=f"xsum{r}")
            with m.If(self.load):
                for t in range(k):
                    total = self.x[r][t] if t == 0 else total + self.x[r][t]
                m.d.sync += xsum.eq(total)
            m.d.comb += self.xsum[r].eq(xsum)

        last_slots = b - (chunks - 1) * p
        for r in range(c.m):
            for j in range(c.n):
                total = 0
                first = True
                for pp in range(p):
                    for t in range(k):
                        bit = self.word[(j * p + pp) * k + t]
                        if pp >= last_slots:
                            bit = bit & ~self.last_chunk
                        term = Mux(bit, xs[r][t], 0) << pp
                        total = term if first else total + term
                        first = False
                m.d.comb += self.partial[r][j].eq(total)
        return m
