"""Block-floating-point front end: float activations in, aligned integer mantissas out."""

__all__ = ["FpAlign", "align_layout"]

from amaranth import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from lutmix.bfp import ALIGNED_BITS


def align_layout(spec):
    """Payload of the aligned stream: mantissas, the block's power of two and special flag per
    row, and the tile markers."""
    c = spec.config
    return data.StructLayout({
        "data": data.ArrayLayout(data.ArrayLayout(signed(ALIGNED_BITS), c.k), c.m),
        "last": 1,
        "release": 1,
        "shift": data.ArrayLayout(signed(spec.shift_bits), c.m),
        "special": data.ArrayLayout(1, c.m),
    })


class FpAlign(wiring.Component):
    """Aligns each block of fp16/bf16 activations to its largest exponent (:mod:`lutmix.bfp`).

    A block is ``block_groups`` beats of ``m x k`` activations. The unit stores a whole block
    while it finds each row's largest exponent, then replays it with every activation turned
    into a signed 16-bit mantissa (rounded to nearest even), the row's power of two
    ``shift`` and whether the row's block held a NaN or an infinity. Two banks let one block
    fill while the other drains.

    Throughput: one beat per cycle in and out. Latency: a block's first beat leaves two
    cycles after its last beat arrived.

    Parameters
    ----------
    spec : GemmSpec
        Of a config with float activations.
    """

    def __init__(self, spec):
        from .gemm_engine import x_layout
        afmt = spec.activation_format
        if not afmt.is_float:
            raise ValueError(f"FpAlign needs float activations, not {afmt.name!r}")
        self._spec = spec
        super().__init__({
            "i": In(stream.Signature(x_layout(spec))),
            "o": Out(stream.Signature(align_layout(spec))),
        })

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        c = spec.config
        afmt = spec.activation_format
        rows, k, depth = c.m, c.k, c.block_groups
        ebits, fbits, guard = afmt.exp_bits, afmt.frac_bits, afmt.guard_bits
        e_all = (1 << ebits) - 1
        lane_bits = afmt.bits
        word_bits = rows * k * lane_bits + 2

        m.submodules.mem = mem = Memory(shape=unsigned(word_bits), depth=2 * depth, init=[])
        wp = mem.write_port()
        rp = mem.read_port(domain="sync")

        def lane_fields(bits):
            exp = bits[fbits:fbits + ebits]
            frac = bits[:fbits]
            special = exp == e_all
            finite_nonzero = ~special & ((exp != 0) | (frac != 0))
            eff = Mux(exp == 0, 1, exp)
            return bits[lane_bits - 1], exp, frac, eff, special, finite_nonzero

        # ---- fill: store beats, track each row's largest exponent ----
        full = Signal(2)
        wbank = Signal()
        widx = Signal(range(depth))
        run_max = [Signal(ebits, name=f"run_max{r}", init=1) for r in range(rows)]
        run_special = [Signal(name=f"run_special{r}") for r in range(rows)]
        bank_max = [[Signal(ebits, name=f"bank{b}_max{r}") for r in range(rows)]
                    for b in range(2)]
        bank_special = [[Signal(name=f"bank{b}_special{r}") for r in range(rows)]
                        for b in range(2)]
        accept = Signal()
        m.d.comb += [
            self.i.ready.eq(~full.bit_select(wbank, 1)),
            accept.eq(self.i.valid & self.i.ready),
            wp.addr.eq(Mux(wbank, depth, 0) + widx),
            wp.data.eq(self.i.payload.as_value()),
            wp.en.eq(accept),
        ]
        block_done = Signal()
        m.d.comb += block_done.eq(accept & (widx == depth - 1))
        for r in range(rows):
            beat_max = run_max[r]
            beat_special = run_special[r]
            for t in range(k):
                _, _, _, eff, special, fnz = lane_fields(self.i.payload.data[r][t])
                beat_max = Mux(fnz & (eff > beat_max), eff, beat_max)
                beat_special = beat_special | special
            with m.If(accept):
                with m.If(block_done):
                    m.d.sync += [run_max[r].eq(1), run_special[r].eq(0)]
                    for b in range(2):
                        with m.If(wbank == b):
                            m.d.sync += [bank_max[b][r].eq(beat_max),
                                         bank_special[b][r].eq(beat_special)]
                with m.Else():
                    m.d.sync += [run_max[r].eq(beat_max), run_special[r].eq(beat_special)]
        with m.If(accept):
            m.d.sync += widx.eq(Mux(block_done, 0, widx + 1))
            with m.If(block_done):
                m.d.sync += wbank.eq(~wbank)

        # ---- drain: replay the stored block, aligned ----
        fbank = Signal()                 # next beat to fetch
        fidx = Signal(range(depth))
        obank = Signal()                 # bank of the beat on the output
        olast = Signal()                 # it is its bank's final beat
        fetch = Signal()
        handshake = Signal()
        # a fetch needs the output free, so a bank's last beat has been handed off (and the
        # bank freed) before the other bank's beats are fetched after it
        m.d.comb += [
            handshake.eq(self.o.valid & self.o.ready),
            fetch.eq((~self.o.valid | handshake) & full.bit_select(fbank, 1)),
            rp.addr.eq(Mux(fbank, depth, 0) + fidx),
            rp.en.eq(fetch),
        ]
        with m.If(fetch):
            m.d.sync += [self.o.valid.eq(1), obank.eq(fbank), olast.eq(fidx == depth - 1)]
            m.d.sync += fidx.eq(Mux(fidx == depth - 1, 0, fidx + 1))
            with m.If(fidx == depth - 1):
                m.d.sync += fbank.eq(~fbank)
        with m.Elif(handshake):
            m.d.sync += self.o.valid.eq(0)
        freed = Signal()
        m.d.comb += freed.eq(handshake & olast)

        def onehot(bank):
            return Mux(bank, 0b10, 0b01)

        m.d.sync += full.eq((full | Mux(block_done, onehot(wbank), 0))
                            & ~Mux(freed, onehot(obank), 0))

        word = data.View(self._in_layout(), rp.data)
        m.d.comb += [self.o.payload.last.eq(word.last), self.o.payload.release.eq(word.release)]
        bias_shift = afmt.bias + fbits + guard
        for r in range(rows):
            emax = Array(bank_max[b][r] for b in range(2))[obank]
            special_row = Array(bank_special[b][r] for b in range(2))[obank]
            m.d.comb += [
                self.o.payload.shift[r].eq(emax - bias_shift),
                self.o.payload.special[r].eq(special_row),
            ]
            for t in range(k):
                sign, exp, frac, eff, special, _ = lane_fields(word.data[r][t])
                sig = Mux(exp == 0, frac, frac | (1 << fbits))
                value = Signal(fbits + 1 + guard, name=f"val{r}_{t}")
                dist = Signal(range(ALIGNED_BITS + 1), name=f"dist{r}_{t}")
                m.d.comb += [
                    value.eq(sig << guard),
                    dist.eq(Mux(emax - eff > ALIGNED_BITS, ALIGNED_BITS, emax - eff)),
                ]
                q = value >> dist
                rem = value & ((Const(1, ALIGNED_BITS + 1) << dist) - 1)
                dist_less = Signal.like(dist, name=f"dist_less{r}_{t}")
                m.d.comb += dist_less.eq(dist - 1)       # only used when dist != 0
                half = Const(1, ALIGNED_BITS + 1) << dist_less
                up = (dist != 0) & ((rem > half) | ((rem == half) & q[0]))
                mag = Signal(ALIGNED_BITS, name=f"mag{r}_{t}")
                m.d.comb += mag.eq(Mux(special, 0, q + up))
                m.d.comb += self.o.payload.data[r][t].eq(Mux(sign, -mag, mag))
        return m

    def _in_layout(self):
        from .gemm_engine import x_layout
        return x_layout(self._spec)
