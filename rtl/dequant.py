"""Per-group dequantization unit (placeholder until the fp32 library lands)."""

__all__ = ["Dequant"]

from amaranth.lib import wiring


class Dequant(wiring.Component):
    def __init__(self, spec):
        raise NotImplementedError("dequantization RTL is not built yet")
