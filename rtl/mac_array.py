"""The baseline MAC array: decoded weights times activations on ordinary multipliers."""

__all__ = ["MacArray"]

from amaranth import Module, Signal, signed
from amaranth.lib import wiring

from .gemm_array import array_signature


class MacArray(wiring.Component):
    """``m x n`` processing elements, each with ``k`` multipliers.

    Each cycle (one per group: the MAC array takes whole weights) every output decodes its
    ``k`` weight codes to signed integers and multiplies them with the row's registered
    activations: ``partial = sum_t x[t] * q[j, t]``. See :func:`array_signature` for the timing.

    Weight word: output ``j``, activation ``t``: the ``bits``-wide code at bit
    ``(j*k + t) * bits``.

    Parameters
    ----------
    spec : GemmSpec
        Of a config with ``engine = "mac"``.
    """

    def __init__(self, spec):
        self._spec = spec
        super().__init__(array_signature(spec))

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        c = spec.config
        fmt = spec.weight_format
        k, b = c.k, fmt.bits
        xr = [[Signal(signed(spec.entry_bits), name=f"x{r}_{t}") for t in range(k)]
              for r in range(c.m)]
        for r in range(c.m):
            xsum = Signal.like(self.xsum[r], name=f"xsum{r}")
            total = 0
            for t in range(k):
                total = self.x[r][t] if t == 0 else total + self.x[r][t]
            with m.If(self.load):
                m.d.sync += [xr[r][t].eq(self.x[r][t]) for t in range(k)]
                m.d.sync += xsum.eq(total)
            m.d.comb += self.xsum[r].eq(xsum)

        weights = []
        for j in range(c.n):
            row = []
            for t in range(k):
                code = self.word[(j * k + t) * b:(j * k + t + 1) * b]
                q = Signal(signed(b + 1), name=f"q{j}_{t}")
                m.d.comb += q.eq(_decode(code, fmt))
                row.append(q)
            weights.append(row)
        for r in range(c.m):
            for j in range(c.n):
                total = 0
                for t in range(k):
                    product = xr[r][t] * weights[j][t]
                    total = product if t == 0 else total + product
                m.d.comb += self.partial[r][j].eq(total)
        return m


def _decode(code, fmt):
    """A weight code to its signed value (see :mod:`lutmix.formats`)."""
    if fmt.name == "int1":
        return (code << 1) - 1
    if fmt.signed:
        return code - (1 << (fmt.bits - 1))
    return code
