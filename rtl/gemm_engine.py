"""The streaming, weight-stationary GEMM engine around a LUT, shift-add or MAC array."""

__all__ = ["GemmEngine", "gemm_signature", "ARRAYS"]

from amaranth import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from lutmix.config import GemmConfig
from lutmix.gemm_spec import gemm_spec

from .dequant import Dequant
from .fp_align import FpAlign
from .lut_array import LutArray
from .mac_array import MacArray
from .shiftadd_array import ShiftAddArray
from .weight_buffer import WeightBuffer

ARRAYS = {"lut": LutArray, "shiftadd": ShiftAddArray, "mac": MacArray}


def x_layout(spec):
    """Payload of ``x``: ``m x k`` activations (signed integers, or float bit patterns)."""
    c = spec.config
    afmt = spec.activation_format
    lane = unsigned(afmt.bits) if afmt.is_float else signed(afmt.bits)
    return data.StructLayout({
        "data": data.ArrayLayout(data.ArrayLayout(lane, c.k), c.m),
        "last": 1,
        "release": 1,
    })


def gemm_signature(spec):
    """The streams shared by the GEMM engines: weights ``w``, scales ``s`` (with
    ``group_size``), activations ``x`` and results ``y``; see :mod:`lutmix.words`."""
    c = spec.config
    lane = unsigned(32) if c.dequant else signed(spec.y_lane_bits)
    members = {
        "w": In(stream.Signature(data.StructLayout({
            "data": unsigned(spec.w_word_bits), "last": 1}))),
    }
    if c.dequant:
        members["s"] = In(stream.Signature(data.StructLayout({
            "data": unsigned(spec.s_word_bits), "last": 1})))
    members["x"] = In(stream.Signature(x_layout(spec)))
    members["y"] = Out(stream.Signature(data.StructLayout({
        "data": data.ArrayLayout(lane, c.n), "last": 1})))
    return members


def correction(xsum, spec):
    """The per-row term that turns the array's accumulator into ``V = sum(x * q)``:
    ``V = (acc + correction) >> shift`` (see :mod:`lutmix.gemm_spec`); no multiplier."""
    fmt = spec.weight_format
    engine = spec.config.engine
    if engine == "lut":
        if fmt.offset == 0:
            return Const(0, 1), 0
        if fmt.offset == -1:
            return -xsum, 1
        return (xsum << fmt.bits) - xsum, 1
    if engine == "shiftadd" and fmt.signed:
        return -(xsum << (fmt.bits - 1)), 0
    return Const(0, 1), 0


class GemmEngine(wiring.Component):
    """An ``m x n`` mixed-precision GEMM engine: LUT, shift-add or MAC array.

    Weight tiles (``n`` output channels by up to ``max_k`` inputs) load into a double-buffered
    weight memory from ``w`` (and their scales from ``s``). Activation tiles (``m`` rows by the
    same K) stream through ``x``, one group of ``k`` activations per row per beat; float
    activations are first aligned per block (:class:`FpAlign`). The array computes each
    group over ``chunks`` cycles; the accumulators add its contributions over an accumulation
    span (the tile, or one dequantization block), and the span's exact dot products go to the
    output buffer (integer results) or the dequantization unit (:class:`Dequant`, float32).

    Protocol
    --------
    * ``w``: ``groups * chunks`` beats per weight tile, ``last`` on the final one. A tile may
      load while the previous one is in use; ``w.ready`` falls while both banks are full.
    * ``s`` (with ``group_size``): one beat per block of the weight tile, ``last`` on the
      final one; it loads and is released with its weight tile.
    * ``x``: ``groups`` beats per activation tile, ``last`` on the final one; the tile uses the
      oldest loaded weight tile and must have the same number of groups. ``release`` on the
      final beat frees that weight tile.
    * ``y``: ``m`` beats per activation tile, ``last`` on row ``m - 1``, in tile order.

    Throughput and latency
    ----------------------
    One weight word per cycle: an activation beat every ``chunks`` cycles, with no bubbles
    between groups, tiles or weight tiles, as long as ``y`` drains ``m`` beats in the cycles a
    tile takes (and, with ``group_size``, the dequantization unit converts a block's ``m * n``
    results in the cycles the next block takes; float activations add one block of latency for
    their alignment). Latency is ``spec.latency`` cycles from the handshake of a tile's last
    ``x`` beat into the array to ``y.valid``, with nothing stalled.

    Parameters
    ----------
    config : GemmConfig
    """

    def __init__(self, config):
        if not isinstance(config, GemmConfig):
            raise TypeError(f"config must be a GemmConfig, not {config!r}")
        self._spec = gemm_spec(config)
        super().__init__(gemm_signature(self._spec))

    @property
    def spec(self):
        return self._spec

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        cfg = spec.config
        afmt = spec.activation_format
        rows, cols, chunks = cfg.m, cfg.n, spec.chunks
        dequant = cfg.dequant

        m.submodules.wbuf = wbuf = WeightBuffer(word_bits=spec.w_word_bits,
                                                depth=spec.bank_depth)
        wiring.connect(m, wiring.flipped(self.w), wbuf.w)
        rd_ready = wbuf.rd_ready
        if dequant:
            m.submodules.sbuf = sbuf = WeightBuffer(word_bits=spec.s_word_bits,
                                                    depth=cfg.max_blocks)
            wiring.connect(m, wiring.flipped(self.s), sbuf.w)
            rd_ready = wbuf.rd_ready & sbuf.rd_ready

        # ---- front end: activations as the array sees them ----
        if afmt.is_float:
            m.submodules.align = align = FpAlign(spec)
            wiring.connect(m, wiring.flipped(self.x), align.i)
            xin = align.o
            x_shift, x_special = xin.payload.shift, xin.payload.special
        else:
            xin = self.x
            x_shift = x_special = None

        m.submodules.array = array = ARRAYS[cfg.engine](spec)
        for r in range(rows):
            for t in range(cfg.k):
                m.d.comb += array.x[r][t].eq(xin.payload.data[r][t])

        stall = Signal()

        # ---- issue: accept a group, read weight words chunk by chunk ----
        chunk = Signal(range(chunks))
        addr = Signal(range(spec.bank_depth))
        in_tile = Signal()
        beat_last = Signal()
        beat_release = Signal()
        start = Signal()
        issue = Signal()
        end_of_group = Signal()
        tile_end = Signal()
        span_end = Signal()
        m.d.comb += [
            start.eq(chunk == 0),
            xin.ready.eq(~stall & start & rd_ready),
            issue.eq(~stall & (~start | (xin.valid & xin.ready))),
            end_of_group.eq(chunk == chunks - 1),
            tile_end.eq(end_of_group & Mux(start, xin.payload.last, beat_last)),
            wbuf.rd_addr.eq(addr),
            wbuf.rd_en.eq(~stall),
            wbuf.release.eq(issue & tile_end
                            & Mux(start, xin.payload.release, beat_release)),
            array.load.eq(issue & start),
            array.shift.eq(issue & ~start),
        ]
        with m.If(issue):
            with m.If(start):
                m.d.sync += [beat_last.eq(xin.payload.last),
                             beat_release.eq(xin.payload.release)]
            m.d.sync += [
                chunk.eq(Mux(end_of_group, 0, chunk + 1)),
                addr.eq(Mux(tile_end, 0, addr + 1)),
                in_tile.eq(~tile_end),
            ]

        span_start = Signal()
        block_tile_first = Signal()     # the current span is the tile's first
        held_tile_first = Signal()
        m.d.comb += block_tile_first.eq(Mux(span_start, ~in_tile, held_tile_first))
        with m.If(issue):
            m.d.sync += held_tile_first.eq(block_tile_first)
        if dequant:
            # count groups within a block, and blocks within a tile
            bgrp = Signal(range(cfg.block_groups))
            block = Signal(range(cfg.max_blocks))
            block_end = Signal()
            m.d.comb += [
                block_end.eq(end_of_group & (bgrp == cfg.block_groups - 1)),
                span_end.eq(block_end),
                span_start.eq(start & (bgrp == 0)),
                sbuf.rd_addr.eq(block),
                sbuf.rd_en.eq(issue & span_start),
                sbuf.release.eq(wbuf.release),
            ]
            with m.If(issue & end_of_group):
                m.d.sync += bgrp.eq(Mux(block_end, 0, bgrp + 1))
                with m.If(block_end):
                    m.d.sync += block.eq(Mux(tile_end, 0, block + 1))
        else:
            m.d.comb += [span_end.eq(tile_end), span_start.eq(start & ~in_tile)]

        # ---- lookup: the array's contribution for this chunk ----
        s1_valid = Signal()
        s1_first = Signal()
        s1_last = Signal()
        s1_tile_first = Signal()
        s1_tile_last = Signal()
        s1_chunk0 = Signal()
        with m.If(~stall):
            m.d.sync += [
                s1_valid.eq(issue),
                s1_first.eq(span_start),
                s1_last.eq(span_end),
                s1_tile_first.eq(block_tile_first),
                s1_tile_last.eq(tile_end),
                s1_chunk0.eq(start),
            ]
        m.d.comb += array.word.eq(wbuf.rd_data)
        if chunks > 1:
            # the final chunk is the one whose issue ended the group
            s1_end = Signal()
            with m.If(~stall):
                m.d.sync += s1_end.eq(end_of_group)
            m.d.comb += array.last_chunk.eq(s1_end)
        else:
            m.d.comb += array.last_chunk.eq(1)

        # per-row block exponents and specials travel with the group (float activations)
        if afmt.is_float:
            s1_shift = [Signal(signed(spec.shift_bits), name=f"s1_shift{r}") for r in range(rows)]
            s1_special = [Signal(name=f"s1_special{r}") for r in range(rows)]
            with m.If(issue & start):
                for r in range(rows):
                    m.d.sync += [s1_shift[r].eq(x_shift[r]), s1_special[r].eq(x_special[r])]

        # ---- accumulate ----
        s2_valid = Signal()
        s2_first = Signal()
        s2_last = Signal()
        s2_tile_first = Signal()
        s2_tile_last = Signal()
        s2_partial = [[Signal(signed(spec.partial_bits), name=f"s2_partial{r}_{j}")
                       for j in range(cols)] for r in range(rows)]
        s2_xsum = [Signal.like(array.xsum[r], name=f"s2_xsum{r}") for r in range(rows)]
        with m.If(~stall):
            m.d.sync += [
                s2_valid.eq(s1_valid),
                s2_first.eq(s1_first),
                s2_last.eq(s1_last),
                s2_tile_first.eq(s1_tile_first),
                s2_tile_last.eq(s1_tile_last),
            ]
            for r in range(rows):
                m.d.sync += [s2_partial[r][j].eq(array.partial[r][j]) for j in range(cols)]
                m.d.sync += s2_xsum[r].eq(Mux(s1_chunk0, array.xsum[r], 0))

        acc = [[Signal(signed(spec.acc_bits), name=f"acc{r}_{j}") for j in range(cols)]
               for r in range(rows)]
        xsum = [Signal(signed(spec.rowsum_bits), name=f"xsum{r}") for r in range(rows)]
        new_acc = [[Signal.like(acc[r][j], name=f"new_acc{r}_{j}") for j in range(cols)]
                   for r in range(rows)]
        new_xsum = [Signal.like(xsum[r], name=f"new_xsum{r}") for r in range(rows)]
        for r in range(rows):
            m.d.comb += new_xsum[r].eq(Mux(s2_first, 0, xsum[r]) + s2_xsum[r])
            for j in range(cols):
                m.d.comb += new_acc[r][j].eq(Mux(s2_first, 0, acc[r][j]) + s2_partial[r][j])

        busy = Signal()          # the span's destination cannot take it this cycle
        m.d.comb += stall.eq(s2_valid & s2_last & busy)
        commit = Signal()
        m.d.comb += commit.eq(~stall & s2_valid)
        with m.If(commit):
            for r in range(rows):
                m.d.sync += xsum[r].eq(new_xsum[r])
                m.d.sync += [acc[r][j].eq(new_acc[r][j]) for j in range(cols)]

        if dequant:
            self._dequant_back_end(m, spec, commit & s2_last, busy, new_acc, new_xsum,
                                   sbuf, stall, afmt.is_float and (s1_shift, s1_special),
                                   s1_valid, s1_first, s2_tile_first, s2_tile_last)
        else:
            self._integer_back_end(m, spec, commit & s2_last, busy, new_acc, new_xsum)
        return m

    def _integer_back_end(self, m, spec, load, busy, new_acc, new_xsum):
        """Output buffer: the tile's exact results, corrected, one row per beat."""
        rows, cols = spec.config.m, spec.config.n
        obuf = [[Signal.like(new_acc[r][j], name=f"obuf{r}_{j}") for j in range(cols)]
                for r in range(rows)]
        ocorr = [Signal(signed(spec.sum_bits), name=f"ocorr{r}") for r in range(rows)]
        orow = Signal(range(rows))
        m.d.comb += busy.eq(self.y.valid)
        with m.If(load):
            m.d.sync += [self.y.valid.eq(1), orow.eq(0)]
            for r in range(rows):
                m.d.sync += ocorr[r].eq(correction(new_xsum[r], spec)[0])
                m.d.sync += [obuf[r][j].eq(new_acc[r][j]) for j in range(cols)]
        shift = correction(new_xsum[0], spec)[1]
        m.d.comb += self.y.payload.last.eq(orow == rows - 1)
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
                m.d.sync += [self.y.valid.eq(0), orow.eq(0)]

    def _dequant_back_end(self, m, spec, load, busy, new_acc, new_xsum, sbuf, stall,
                          float_rows, s1_valid, s1_first, s2_tile_first, s2_tile_last):
        """Snapshot each block's results into the dequantization unit."""
        rows, cols = spec.config.m, spec.config.n
        m.submodules.dequant = dq = Dequant(spec)
        wiring.connect(m, dq.y, wiring.flipped(self.y))

        # the block's scale word, read when its first group issued
        scales = Signal(spec.s_word_bits)
        with m.If(~stall & s1_valid & s1_first):
            m.d.sync += scales.eq(sbuf.rd_data)
        # per-row block exponents and specials, one pipeline stage later
        if float_rows:
            s1_shift, s1_special = float_rows
            s2_shift = [Signal.like(s1_shift[r], name=f"s2_shift{r}") for r in range(rows)]
            s2_special = [Signal(name=f"s2_special{r}") for r in range(rows)]
            with m.If(~stall):
                m.d.sync += [s2_shift[r].eq(s1_shift[r]) for r in range(rows)]
                m.d.sync += [s2_special[r].eq(s1_special[r]) for r in range(rows)]

        m.d.comb += [busy.eq(~dq.ready), dq.load.eq(load), dq.scales.eq(scales),
                     dq.first.eq(s2_tile_first), dq.last.eq(s2_tile_last)]
        for r in range(rows):
            corr, _ = correction(new_xsum[r], spec)
            m.d.comb += [dq.xsum[r].eq(new_xsum[r]), dq.corr[r].eq(corr)]
            if float_rows:
                m.d.comb += [dq.shift[r].eq(s2_shift[r]), dq.special[r].eq(s2_special[r])]
            for j in range(cols):
                m.d.comb += dq.acc[r][j].eq(new_acc[r][j])
