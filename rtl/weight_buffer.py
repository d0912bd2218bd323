"""Double-buffered weight memory: one bank loads from a stream while the other is read."""

__all__ = ["WeightBuffer"]

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out


class WeightBuffer(wiring.Component):
    """Two banks of ``depth`` words. Tiles load from ``w`` and are read by address.

    Loading: each ``w`` beat writes the next word of the load bank; the beat with ``last`` marks
    the bank full and moves loading to the other bank. ``w.ready`` is low while the load bank is
    full. Reading: while ``rd_ready`` is high the read bank holds a whole tile; ``rd_data`` is the
    word at ``rd_addr``, one cycle after a cycle with ``rd_en`` (a synchronous read that holds
    its value while ``rd_en`` is low). A ``release`` pulse marks the read bank empty and moves
    reading to the other bank; the word read in that same cycle is still delivered.

    Throughput: one write and one read per cycle. A tile longer than ``depth`` words wraps
    around its bank; the drivers never send one.

    Parameters
    ----------
    word_bits : int
        Width of a word.
    depth : int
        Words per bank.
    """

    def __init__(self, *, word_bits, depth):
        if not isinstance(word_bits, int) or word_bits < 1:
            raise TypeError(f"Word width must be a positive integer, not {word_bits!r}")
        if not isinstance(depth, int) or depth < 1:
            raise TypeError(f"Depth must be a positive integer, not {depth!r}")
        self._word_bits = word_bits
        self._depth = depth
        super().__init__({
            "w": In(stream.Signature(data.StructLayout({
                "data": unsigned(word_bits), "last": 1}))),
            "rd_addr": In(range(depth)),
            "rd_en": In(1),
            "rd_data": Out(word_bits),
            "rd_ready": Out(1),
            "release": In(1),
        })

    @property
    def word_bits(self):
        return self._word_bits

    @property
    def depth(self):
        return self._depth

    def elaborate(self, platform):
        m = Module()
        depth = self._depth
        m.submodules.mem = mem = Memory(shape=unsigned(self._word_bits), depth=2 * depth, init=[])
        wp = mem.write_port()
        rp = mem.read_port(domain="sync")

        full = Signal(2)
        wbank = Signal()
        rbank = Signal()
        waddr = Signal(range(depth))

        def base(bank):
            return Mux(bank, depth, 0)

        m.d.comb += [
            self.w.ready.eq(~full.bit_select(wbank, 1)),
            wp.addr.eq(base(wbank) + waddr),
            wp.data.eq(self.w.payload.data),
            wp.en.eq(self.w.valid & self.w.ready),
            rp.addr.eq(base(rbank) + self.rd_addr),
            rp.en.eq(self.rd_en),
            self.rd_data.eq(rp.data),
            self.rd_ready.eq(full.bit_select(rbank, 1)),
        ]

        loaded = Signal()
        m.d.comb += loaded.eq(self.w.valid & self.w.ready & self.w.payload.last)
        with m.If(self.w.valid & self.w.ready):
            m.d.sync += waddr.eq(Mux(self.w.payload.last, 0, waddr + 1))
        with m.If(loaded):
            m.d.sync += wbank.eq(~wbank)
        with m.If(self.release):
            m.d.sync += rbank.eq(~rbank)
        def onehot(bank):
            return Mux(bank, 0b10, 0b01)

        m.d.sync += full.eq((full | Mux(loaded, onehot(wbank), 0))
                            & ~Mux(self.release, onehot(rbank), 0))
        return m
