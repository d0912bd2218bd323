"""UART transmitter and receiver: 8 data bits, no parity, one stop bit (8N1).

``divisor`` is clock cycles per bit (:func:`lutmix.link.baud_divisor`). Both take one byte per
10 bits: at 1 Mbaud, 100 kB/s.
"""

__all__ = ["UartTx", "UartRx"]

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


def _check_divisor(divisor):
    if isinstance(divisor, bool) or not isinstance(divisor, int) or divisor < 4:
        raise ValueError(f"divisor must be an integer of at least 4, not {divisor!r}")


class UartTx(wiring.Component):
    """Serializes bytes onto ``tx`` (idle high).

    Latency: the start bit begins the cycle after a byte is taken. Throughput: one byte per
    ``10 * divisor`` cycles; ``i.ready`` is high while idle.
    """
    i: In(stream.Signature(8))
    tx: Out(1, init=1)

    def __init__(self, *, divisor):
        _check_divisor(divisor)
        self._divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        shreg = Signal(10, init=0x3FF)       # stop, data[7:0], start; LSB first
        bits = Signal(range(11))
        timer = Signal(range(self._divisor))
        m.d.comb += [self.tx.eq(shreg[0]), self.i.ready.eq(bits == 0)]
        with m.If(bits == 0):
            with m.If(self.i.valid):
                m.d.sync += [shreg.eq((1 << 9) | (self.i.payload << 1)), bits.eq(10),
                             timer.eq(self._divisor - 1)]
        with m.Elif(timer == 0):
            m.d.sync += [shreg.eq((1 << 9) | (shreg >> 1)), bits.eq(bits - 1),
                         timer.eq(self._divisor - 1)]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
        return m


class UartRx(wiring.Component):
    """Deserializes ``rx`` into bytes on ``o``.

    ``rx`` passes a two-flip-flop synchronizer; each bit is sampled in its middle, counted from
    the start bit's falling edge. A byte with a low stop bit is dropped (framing error, counted
    in ``errors``). ``o`` has no backpressure: a byte not taken in its one ``valid`` cycle is
    lost, so put a FIFO behind it. Latency: ``o.valid`` 9.5 bits after the start edge.
    """
    rx: In(1)
    o: Out(stream.Signature(8))
    errors: Out(16)

    def __init__(self, *, divisor):
        _check_divisor(divisor)
        self._divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        d = self._divisor
        rx = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, rx, init=1)
        timer = Signal(range(d + d // 2 + 1))
        bits = Signal(range(10))
        shreg = Signal(8)
        m.d.sync += self.o.valid.eq(0)
        m.d.comb += self.o.payload.eq(shreg)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += [timer.eq(d + d // 2 - 1), bits.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [shreg.eq((rx << 7) | (shreg >> 1)), bits.eq(bits + 1),
                                 timer.eq(d - 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("STOP"):
                with m.If(timer == 0):
                    with m.If(rx):
                        m.d.sync += self.o.valid.eq(1)
                    with m.Else():
                        m.d.sync += self.errors.eq(self.errors + 1)
                    m.next = "WAIT_IDLE"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("WAIT_IDLE"):
                with m.If(rx):
                    m.next = "IDLE"
        return m
