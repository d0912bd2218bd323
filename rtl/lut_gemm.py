"""The LUT mpGEMM engine (LUT Tensor Core style), streaming, weight-stationary, bit-serial."""

__all__ = ["LutGemm"]

from amaranth import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from lutmix import lut
from lutmix.config import GemmConfig
from lutmix.gemm_spec import gemm_spec

from .lut_table import LutTable
from .weight_buffer import WeightBuffer


def gemm_signature(spec):
    """The stream signature shared by the GEMM engines: weights ``w``, activations ``x``, results
    ``y``; see :mod:`lutmix.words` for the word layouts."""
    c = spec.config
    afmt = spec.activation_format
    return {
        "w": In(stream.Signature(data.StructLayout({
            "data": unsigned(spec.w_word_bits),
            "last": 1,
        }))),
        "x": In(stream.Signature(data.StructLayout({
            "data": data.ArrayLayout(data.ArrayLayout(signed(afmt.bits), c.k), c.m),
            "last": 1,
            "release": 1,
        }))),
        "y": Out(stream.Signature(data.StructLayout({
            "data": data.ArrayLayout(signed(spec.y_lane_bits), c.n),
            "last": 1,
        }))),
    }


class LutGemm(wiring.Component):
    """An ``m x n`` array that multiplies low-bit weights by integer activations through tables.

    Weight tiles (``n`` output channels by up to ``max_k`` inputs) load into a double-buffered
    weight memory from ``w``. Activation tiles (``m`` rows by the same K) stream through ``x``,
    one LUT group of ``k`` activations per row per beat. For each group the engine builds ``m``
    symmetrized tables, shares each across the ``n`` channels, and reuses it over the weight's
    bit-planes, ``planes_per_cycle`` at a time, shifting the table left by ``planes_per_cycle``
    each cycle. At the tile's last group it corrects the remap offset exactly and emits ``m``
    beats of ``n`` exact integer dot products on ``y``.

    Protocol
    --------
    * ``w``: ``groups * chunks`` beats per weight tile, ``last`` on the final one. A tile may load
      while the previous one is in use; ``w.ready`` falls while both banks are full.
    * ``x``: ``groups`` beats per activation tile, ``last`` on the final one; the tile uses the
      oldest loaded weight tile and must have the same number of groups. ``release`` on the final
      beat frees that weight tile, so the next activation tile uses the next weight tile.
    * ``y``: ``m`` beats per activation tile, ``last`` on row ``m - 1``, in tile order.

    Throughput and latency
    ----------------------
    One weight word per cycle: an activation beat every ``chunks`` cycles, with no bubbles
    between groups, tiles or weight tiles, as long as ``y`` drains ``m`` beats in the cycles a
    tile takes. Latency is ``chunks + 2`` cycles from the handshake of a tile's last ``x`` beat
    to ``y.valid``, when the output buffer is free.

    Parameters
    ----------
    config : GemmConfig
        With ``engine = "lut"``.
    """

    def __init__(self, config):
        if not isinstance(config, GemmConfig):
            raise TypeError(f"config must be a GemmConfig, not {config!r}")
        if config.engine != "lut":
            raise ValueError(f"LutGemm needs engine 'lut', not {config.engine!r}")
        self._spec = gemm_spec(config)
        super().__init__(gemm_signature(self._spec))

    @property
    def spec(self):
        return self._spec

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        cfg = spec.config
        fmt = spec.weight_format
        rows, cols, k, p, b = cfg.m, cfg.n, cfg.k, cfg.planes_per_cycle, fmt.bits
        chunks = spec.chunks
        J = lut.table_size(k)

        m.submodules.wbuf = wbuf = WeightBuffer(word_bits=spec.w_word_bits,
                                                depth=spec.bank_depth)
        wiring.connect(m, wiring.flipped(self.w), wbuf.w)

        stall = Signal()

        # ---- issue: accept a group, build its tables, read weight words chunk by chunk ----
        chunk = Signal(range(chunks))
        addr = Signal(range(spec.bank_depth))
        in_tile = Signal()
        beat_last = Signal()
        beat_release = Signal()
        start = Signal()
        issue = Signal()
        end_of_group = Signal()
        tile_end = Signal()

        # Registers are kept one Signal per lane (not one wide array Signal) so that event-driven
        # simulators such as Icarus update only the lanes that change.
        table = [[Signal(signed(spec.table_reg_bits), name=f"table{r}_{j}") for j in range(J)]
                 for r in range(rows)]
        builders = []
        for r in range(rows):
            builder = LutTable(k=k, act_bits=spec.activation_format.bits)
            m.submodules[f"table{r}"] = builder
            m.d.comb += builder.x.eq(self.x.payload.data[r])
            builders.append(builder)

        m.d.comb += [
            start.eq(chunk == 0),
            self.x.ready.eq(~stall & start & wbuf.rd_ready),
            issue.eq(~stall & (~start | (self.x.valid & self.x.ready))),
            end_of_group.eq(chunk == chunks - 1),
            tile_end.eq(end_of_group & Mux(start, self.x.payload.last, beat_last)),
            wbuf.rd_addr.eq(addr),
            wbuf.rd_en.eq(~stall),
            wbuf.release.eq(issue & tile_end
                            & Mux(start, self.x.payload.release, beat_release)),
        ]

        with m.If(issue):
            with m.If(start):
                m.d.sync += [beat_last.eq(self.x.payload.last),
                             beat_release.eq(self.x.payload.release)]
                for r in range(rows):
                    for j in range(J):
                        m.d.sync += table[r][j].eq(builders[r].table[j])
            with m.Else():
                for r in range(rows):
                    for j in range(J):
                        m.d.sync += table[r][j].eq(table[r][j] << p)
            m.d.sync += [
                chunk.eq(Mux(end_of_group, 0, chunk + 1)),
                addr.eq(Mux(tile_end, 0, addr + 1)),
                in_tile.eq(~tile_end),
            ]

        # ---- lookup: index words select (and negate) entries; planes shift and add ----
        s1_valid = Signal()
        s1_first = Signal()
        s1_last = Signal()
        s1_chunk = Signal(range(chunks))
        with m.If(~stall):
            m.d.sync += [
                s1_valid.eq(issue),
                s1_first.eq(start & ~in_tile),
                s1_last.eq(tile_end),
                s1_chunk.eq(chunk),
            ]

        last_slots = b - (chunks - 1) * p       # planes present in the final chunk
        partial = [[Signal(signed(spec.partial_bits), name=f"partial{r}_{j}")
                    for j in range(cols)] for r in range(rows)]
        for r in range(rows):
            row_table = Array(table[r])
            for j in range(cols):
                terms = []
                for pp in range(p):
                    word = wbuf.rd_data[(j * p + pp) * k:(j * p + pp + 1) * k]
                    entry = row_table[word[:k - 1]]
                    term = Mux(word[k - 1], entry, -entry) << pp
                    if pp >= last_slots:
                        term = Mux(s1_chunk == chunks - 1, 0, term)
                    terms.append(term)
                total = terms[0]
                for term in terms[1:]:
                    total = total + term
                m.d.comb += partial[r][j].eq(total)

        # ---- accumulate ----
        s2_valid = Signal()
        s2_first = Signal()
        s2_last = Signal()
        s2_partial = [[Signal.like(partial[r][j], name=f"s2_partial{r}_{j}")
                       for j in range(cols)] for r in range(rows)]
        s2_rowsum = [Signal(signed(spec.entry_bits), name=f"s2_rowsum{r}") for r in range(rows)]
        with m.If(~stall):
            m.d.sync += [
                s2_valid.eq(s1_valid),
                s2_first.eq(s1_first),
                s2_last.eq(s1_last),
            ]
            for r in range(rows):
                m.d.sync += [s2_partial[r][j].eq(partial[r][j]) for j in range(cols)]
                # the all-ones entry is the group's sum; the table is unshifted in chunk 0
                m.d.sync += s2_rowsum[r].eq(Mux(s1_chunk == 0, table[r][J - 1], 0))

        acc = [[Signal(signed(spec.acc_bits), name=f"acc{r}_{j}") for j in range(cols)]
               for r in range(rows)]
        rowsum = [Signal(signed(spec.rowsum_bits), name=f"rowsum{r}") for r in range(rows)]
        new_acc = [[Signal.like(acc[r][j], name=f"new_acc{r}_{j}") for j in range(cols)]
                   for r in range(rows)]
        new_rowsum = [Signal.like(rowsum[r], name=f"new_rowsum{r}") for r in range(rows)]
        for r in range(rows):
            m.d.comb += new_rowsum[r].eq(Mux(s2_first, 0, rowsum[r]) + s2_rowsum[r])
            for j in range(cols):
                m.d.comb += new_acc[r][j].eq(Mux(s2_first, 0, acc[r][j]) + s2_partial[r][j])

        # ---- output buffer: corrected results, drained one row per beat ----
        obuf = [[Signal.like(acc[r][j], name=f"obuf{r}_{j}") for j in range(cols)]
                for r in range(rows)]
        ocorr = [Signal(signed(spec.sum_bits), name=f"ocorr{r}") for r in range(rows)]
        obusy = Signal()
        orow = Signal(range(rows))
        m.d.comb += stall.eq(s2_valid & s2_last & obusy)

        with m.If(~stall & s2_valid):
            for r in range(rows):
                m.d.sync += rowsum[r].eq(new_rowsum[r])
                m.d.sync += [acc[r][j].eq(new_acc[r][j]) for j in range(cols)]
            with m.If(s2_last):
                m.d.sync += [obusy.eq(1), orow.eq(0)]
                for r in range(rows):
                    m.d.sync += ocorr[r].eq(_times_offset(new_rowsum[r], fmt))
                    m.d.sync += [obuf[r][j].eq(new_acc[r][j]) for j in range(cols)]

        shift = {1: 0, 2: 1}[fmt.denom]
        m.d.comb += [
            self.y.valid.eq(obusy),
            self.y.payload.last.eq(orow == rows - 1),
        ]
        for j in range(cols):
            total = Signal(signed(spec.sum_bits), name=f"sum{j}")
            m.d.comb += [
                total.eq(obuf[0][j] + ocorr[0]),
                self.y.payload.data[j].eq(total >> shift),
            ]
        with m.If(self.y.valid & self.y.ready):
            m.d.sync += orow.eq(orow + 1)
            for r in range(rows - 1):
                m.d.sync += ocorr[r].eq(ocorr[r + 1])
                m.d.sync += [obuf[r][j].eq(obuf[r + 1][j]) for j in range(cols)]
            with m.If(self.y.payload.last):
                m.d.sync += [obusy.eq(0), orow.eq(0)]
        return m


def _times_offset(value, fmt):
    """``value * fmt.offset`` without a multiplier (offset is 0, -1 or 2**bits - 1)."""
    if fmt.offset == 0:
        return Const(0, 1)
    if fmt.offset == -1:
        return -value
    assert fmt.offset == (1 << fmt.bits) - 1
    return (value << fmt.bits) - value
