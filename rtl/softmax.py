"""The streaming softmax unit: two passes over a row buffer, ``lanes`` elements per cycle.

The arithmetic (tables, widths, rounding) is :mod:`lutmix.softmax_math`'s; this module only
arranges it in registers.
"""

__all__ = ["ExpUnit", "Reciprocal", "Softmax", "softmax_signature"]

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from lutmix.arith import unsigned_bits
from lutmix.config import SoftmaxConfig
from lutmix.softmax_math import ExactExp, IbertExp, SoftermaxExp, SoftmaxSpec, softmax_spec


def softmax_signature(spec):
    """Streams of the unit: logits ``x`` (with a mask bit per lane) in, words ``p`` out."""
    return {
        "x": In(stream.Signature(data.StructLayout({
            "data": data.ArrayLayout(signed(spec.in_lane_bits), spec.lanes),
            "last": 1,
            "mask": spec.lanes,
        }))),
        "p": Out(stream.Signature(data.StructLayout({
            "data": data.ArrayLayout(unsigned(spec.out_lane_bits), spec.lanes),
            "last": 1,
        }))),
    }


def _max(a, b):
    return Mux(a > b, a, b)


def _min_const(value, cap):
    return Mux(value > cap, cap, value)


class ExpUnit(wiring.Component):
    """``(u, e)`` of :mod:`lutmix.softmax_math` for ``lanes`` logits; combinational.

    ``exact`` reads one ROM (up to 10 input bits) or two ROMs and a product; ``ibert`` and
    ``softermax`` compute their formulas. The lanes share the ROMs (one read port each).

    Parameters
    ----------
    spec : SoftmaxSpec
    lanes : int

    Members
    -------
    x : In(ArrayLayout(signed(in_bits), lanes))
    u : Out(ArrayLayout(unsigned(W + 1), lanes))
    e : Out(ArrayLayout(signed(exp_bits), lanes))
    """

    def __init__(self, *, spec, lanes):
        if not isinstance(spec, SoftmaxSpec):
            raise TypeError(f"spec must be a SoftmaxSpec, not {spec!r}")
        if not isinstance(lanes, int) or lanes < 1:
            raise TypeError(f"lanes must be a positive integer, not {lanes!r}")
        self._spec = spec
        self._lanes = lanes
        super().__init__({
            "x": In(data.ArrayLayout(signed(spec.in_bits), lanes)),
            "u": Out(data.ArrayLayout(unsigned(spec.mant_bits + 1), lanes)),
            "e": Out(data.ArrayLayout(signed(spec.exp_bits), lanes)),
        })

    def elaborate(self, platform):
        m = Module()
        exp = self._spec.exp
        if isinstance(exp, ExactExp):
            self._exact(m, exp)
        elif isinstance(exp, IbertExp):
            self._ibert(m, exp)
        else:
            assert isinstance(exp, SoftermaxExp)
            self._softermax(m, exp)
        return m

    def _rom(self, m, name, us, es, frac_bits):
        """A ROM of ``(e - e_min, u - 2**frac_bits)`` words; returns (read ports, e_min)."""
        e_min = min(es)
        ebits = unsigned_bits(max(es) - e_min)
        init = [((e - e_min) << frac_bits) | (u - (1 << frac_bits)) for u, e in zip(us, es)]
        rom = Memory(shape=unsigned(frac_bits + ebits), depth=len(init), init=init)
        m.submodules[name] = rom
        return [rom.read_port(domain="comb") for _ in range(self._lanes)], e_min

    def _exact(self, m, exp):
        b, W = self._spec.in_bits, self._spec.mant_bits
        t = exp.tables
        if not exp.split:
            ports, e_min = self._rom(m, "rom", t["u"], t["e"], W)
            for i, port in enumerate(ports):
                x = self.x[i]
                m.d.comb += [
                    port.addr.eq(Cat(x[:b - 1], ~x[b - 1])),       # x - x_min
                    self.u[i].eq(Cat(port.data[:W], Const(1, 1))),
                    self.e[i].eq(port.data[W:] + e_min),
                ]
            return
        k, tb = exp.split, exp.table_bits
        hi, hi_min = self._rom(m, "rom_hi", t["hi_u"], t["hi_e"], tb)
        lo, lo_min = self._rom(m, "rom_lo", t["lo_u"], t["lo_e"], tb)
        for i in range(self._lanes):
            x = self.x[i]
            m.d.comb += [
                hi[i].addr.eq(Cat(x[k:b - 1], ~x[b - 1])),         # xh - xh_min
                lo[i].addr.eq(x[:k]),
            ]
            uh = Cat(hi[i].data[:tb], Const(1, 1))
            ul = Cat(lo[i].data[:tb], Const(1, 1))
            eh = hi[i].data[tb:] + hi_min
            el = lo[i].data[tb:] + lo_min
            pr = Signal(2 * tb + 2, name=f"product{i}")
            top = pr[2 * tb + 1]
            sh = 2 * tb - W
            rounded = Signal(W + 2, name=f"rounded{i}")
            m.d.comb += [
                pr.eq(uh * ul),
                rounded.eq(Mux(top, ((pr >> sh) + 1) >> 1, ((pr >> (sh - 1)) + 1) >> 1)),
            ]
            carry = rounded[W + 1]
            m.d.comb += [
                self.u[i].eq(Mux(carry, 1 << W, rounded)),
                self.e[i].eq(eh + el + top + carry),
            ]

    def _ibert(self, m, exp):
        d = exp.d
        for i in range(self._lanes):
            x = self.x[i]
            y = Signal(unsigned_bits(self._spec.x_max + d - 1 + exp.offset * d), name=f"y{i}")
            e = Signal(signed(self._spec.exp_bits), name=f"ie{i}")
            m.d.comb += [
                y.eq(x + (d - 1 + exp.offset * d)),
                e.eq(((y * exp.magic) >> exp.magic_shift) - exp.offset),
            ]
            r = Signal(signed(unsigned_bits(d) + 1), name=f"r{i}")
            z = Signal(unsigned_bits(exp.c_int + (d + exp.b_int) * d), name=f"z{i}")
            m.d.comb += [
                r.eq(x - d * e),
                z.eq(r * (r + exp.b_int) + exp.c_int),
                self.u[i].eq(z << exp.shift if exp.shift >= 0 else z >> -exp.shift),
                self.e[i].eq(e),
            ]

    def _softermax(self, m, exp):
        af = exp.arg_frac
        slopes = Array(Const(s, unsigned_bits(max(exp.slopes))) for s in exp.slopes)
        icpts = Array(Const(c, unsigned_bits(max(exp.intercepts))) for c in exp.intercepts)
        for i in range(self._lanes):
            x = self.x[i]
            p = x * exp.cq
            y = Signal(signed(len(p) + max(0, -exp.gs)), name=f"y{i}")
            m.d.comb += y.eq(p >> exp.gs if exp.gs >= 0 else p << -exp.gs)
            f = y[:af]
            seg = f[af - 2:]
            mant = Signal(exp.mant_frac + 1, name=f"mant{i}")
            m.d.comb += [
                mant.eq((slopes[seg] * f + (icpts[seg] << af)) >> af),
                self.u[i].eq(mant << exp.shift),
                self.e[i].eq(y >> af),
            ]


class Reciprocal(wiring.Component):
    """``r = floor(2**(2q+1) / d)`` for ``d`` in ``[2**q, 2**(q+1))``, pipelined.

    Restoring division of the constant ``2**(2q+1)``, one quotient bit per stage: a latency of
    ``q + 2`` cycles and one division per cycle. ``meta`` travels alongside. No stall: the unit
    takes care never to have more in flight than it can store downstream.

    Parameters
    ----------
    norm_bits : int
        ``q``.
    meta_bits : int

    Members
    -------
    i_valid, i_d, i_meta : In
    o_valid, o_r, o_meta : Out
        ``o_r`` has ``q + 2`` bits (``2**(q+1)`` when ``d = 2**q``).
    """

    def __init__(self, *, norm_bits, meta_bits):
        if not isinstance(norm_bits, int) or norm_bits < 1:
            raise TypeError(f"norm_bits must be a positive integer, not {norm_bits!r}")
        if not isinstance(meta_bits, int) or meta_bits < 1:
            raise TypeError(f"meta_bits must be a positive integer, not {meta_bits!r}")
        self._q = norm_bits
        super().__init__({
            "i_valid": In(1), "i_d": In(norm_bits + 1), "i_meta": In(meta_bits),
            "o_valid": Out(1), "o_r": Out(norm_bits + 2), "o_meta": Out(meta_bits),
        })

    @property
    def latency(self):
        return self._q + 2

    def elaborate(self, platform):
        m = Module()
        q = self._q
        valid, rem, quo, div, meta = (self.i_valid, Const(1 << (q - 1), q + 2),
                                      Const(0, q + 2), self.i_d, self.i_meta)
        for s in range(q + 2):
            shifted = rem << 1
            take = shifted >= div
            nvalid = Signal(name=f"valid{s}")
            nrem = Signal(q + 2, name=f"rem{s}")
            nquo = Signal(q + 2, name=f"quo{s}")
            ndiv = Signal(q + 1, name=f"div{s}")
            nmeta = Signal(len(self.i_meta), name=f"meta{s}")
            m.d.sync += [
                nvalid.eq(valid),
                nrem.eq(Mux(take, shifted - div, shifted)),
                nquo.eq(Cat(take, quo[:q + 1])),
                ndiv.eq(div),
                nmeta.eq(meta),
            ]
            valid, rem, quo, div, meta = nvalid, nrem, nquo, ndiv, nmeta
        m.d.comb += [self.o_valid.eq(valid), self.o_r.eq(quo), self.o_meta.eq(meta)]
        return m


class Softmax(wiring.Component):
    """Softmax over rows streamed on ``x``, ``lanes`` elements per beat, words out on ``p``.

    Pass 1 takes one beat per cycle: it writes the beat to the row buffer, looks up ``(u, e)``
    for every lane and folds them into the running exponent ``E`` and sum ``A`` (online max
    and normalizer with exact shift rescaling). At the row's last beat ``A`` is normalized and a
    pipelined divider computes the row's one reciprocal. Pass 2 reads the row back, recomputes
    ``(u, e)`` and emits ``round(u * R / 2**shift)``, one beat per cycle. The passes run
    concurrently on successive rows. See :mod:`lutmix.softmax_math` for the arithmetic.

    Protocol
    --------
    * ``x``: one row per frame, ``ceil(length / lanes)`` beats, ``last`` on the final one. Lane
      ``i`` holds a logit (sign-extended to the lane), ``mask`` bit ``i`` masks it out. The final
      beat's unused lanes must be masked. Rows may be 1 to ``max_len`` elements long.
    * ``p``: the same number of beats per row, ``last`` on the final one; lane ``i`` holds the
      word of element ``i``, ``out_frac_bits`` fractional bits (``2**out_frac_bits`` is 1.0).
      Masked lanes, and every lane of a fully masked row, give 0.

    Throughput and latency
    ----------------------
    ``lanes`` elements per cycle in each pass, sustained over back-to-back rows of any length
    from 1 to ``max_len`` while ``p`` keeps up. Up to ``spec.meta_depth`` rows (``Q + 18``) may
    wait between the passes: when more short rows than that queue behind long ones, ``x`` pauses
    while pass 2, which has that backlog, keeps ``p`` busy.

    Latency is ``spec.latency = Q + 10`` cycles (``Q = out_frac_bits + 10``) from the handshake
    of a row's last ``x`` beat to ``p.valid`` of its first word: 3 in pass 1 (input, exp, sum),
    ``Q + 2`` in the divider (the normalization feeds its first stage), 2 through the row FIFO
    into pass 2's row register, and 3 in pass 2 (read, exp, multiply and round). A row of ``n =
    ceil(length / lanes)`` beats on an idle unit takes ``2n + Q + 9`` cycles from its first input
    beat to its last output beat.

    Parameters
    ----------
    config : SoftmaxConfig
    """

    def __init__(self, config):
        if not isinstance(config, SoftmaxConfig):
            raise TypeError(f"config must be a SoftmaxConfig, not {config!r}")
        self._spec = softmax_spec(config)
        super().__init__(softmax_signature(self._spec))

    @property
    def spec(self):
        return self._spec

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        P, b, W, G, Q = spec.lanes, spec.in_bits, spec.mant_bits, spec.guard_bits, spec.norm_bits
        depth, credits_max = spec.buffer_depth, spec.meta_depth
        e_min = spec.exp_min

        # ---- row buffer: logits and mask bits of rows between the passes ----
        buf = Memory(shape=unsigned(P * b + P), depth=depth, init=[])
        m.submodules.buffer = buf
        wport = buf.write_port()
        rport = buf.read_port()
        wr_ptr = Signal(range(depth))
        rd_ptr = Signal(range(depth))
        occupancy = Signal(range(depth + 1))
        credits = Signal(range(credits_max + 1))        # rows between pass 1's end and pass 2
        accept = Signal()
        issue = Signal()
        pop = Signal()
        lanes = [self.x.payload.data[i][:b] for i in range(P)]
        m.d.comb += [
            self.x.ready.eq((occupancy < depth) & (credits < credits_max)),
            accept.eq(self.x.valid & self.x.ready),
            wport.addr.eq(wr_ptr),
            wport.en.eq(accept),
            wport.data.eq(Cat(*lanes, self.x.payload.mask)),
        ]
        with m.If(accept):
            m.d.sync += wr_ptr.eq(Mux(wr_ptr == depth - 1, 0, wr_ptr + 1))
        m.d.sync += [
            occupancy.eq(occupancy + accept - issue),
            credits.eq(credits + (accept & self.x.payload.last) - pop),
        ]

        # ---- pass 1: exp of each lane, then the running exponent and sum ----
        v1, last1 = Signal(), Signal()
        x1 = [Signal(signed(b), name=f"p1_x{i}") for i in range(P)]
        m1 = [Signal(name=f"p1_mask{i}") for i in range(P)]
        m.d.sync += v1.eq(accept)
        with m.If(accept):
            m.d.sync += last1.eq(self.x.payload.last)
            for i in range(P):
                m.d.sync += [x1[i].eq(lanes[i].as_signed()), m1[i].eq(self.x.payload.mask[i])]
        m.submodules.exp1 = exp1 = ExpUnit(spec=spec, lanes=P)
        m.d.comb += [exp1.x[i].eq(x1[i]) for i in range(P)]

        v2, last2 = Signal(), Signal()
        u2 = [Signal(W + 1, name=f"p2_u{i}") for i in range(P)]
        e2 = [Signal(signed(spec.exp_bits), name=f"p2_e{i}") for i in range(P)]
        m.d.sync += [v2.eq(v1), last2.eq(last1)]
        for i in range(P):
            m.d.sync += [u2[i].eq(Mux(m1[i], 0, exp1.u[i])),
                         e2[i].eq(Mux(m1[i], e_min, exp1.e[i]))]

        acc = Signal(spec.acc_bits)
        big_e = Signal(signed(spec.exp_bits), init=e_min)
        beats = Signal(spec.count_bits)
        new_e = Signal(signed(spec.exp_bits))
        top = big_e
        for i in range(P):
            top = _max(top, e2[i])
        m.d.comb += new_e.eq(top)
        terms = []
        for i in range(P):
            sh = Signal(spec.diff_bits, name=f"p2_shift{i}")
            term = Signal(W + 1 + G, name=f"p2_term{i}")
            m.d.comb += [sh.eq(new_e - e2[i]),
                         term.eq(Mux(sh >= spec.term_cap, 0, (u2[i] << G) >> sh))]
            terms.append(term)
        ash = Signal(spec.diff_bits)
        new_acc = Signal(spec.acc_bits)
        total = Mux(ash >= spec.acc_bits, 0, acc >> ash)
        for term in terms:
            total = total + term
        m.d.comb += [ash.eq(new_e - big_e), new_acc.eq(total)]

        n_valid = Signal()
        n_acc = Signal(spec.acc_bits)
        n_e = Signal(signed(spec.exp_bits))
        n_beats = Signal(spec.count_bits)
        m.d.sync += n_valid.eq(v2 & last2)
        with m.If(v2):
            with m.If(last2):
                m.d.sync += [acc.eq(0), big_e.eq(e_min), beats.eq(0),
                             n_acc.eq(new_acc), n_e.eq(new_e), n_beats.eq(beats + 1)]
            with m.Else():
                m.d.sync += [acc.eq(new_acc), big_e.eq(new_e), beats.eq(beats + 1)]

        # ---- normalize the sum, one reciprocal per row ----
        length = Signal(range(spec.acc_bits + 1))
        for i in range(spec.acc_bits):
            with m.If(n_acc[i]):
                m.d.comb += length.eq(i + 1)
        abar = Signal(Q + 1)
        base = Signal(spec.base_bits)
        empty = Signal()
        m.d.comb += [
            abar.eq((n_acc << (Q + 1)) >> length),
            base.eq(length + spec.base_offset),
            empty.eq(n_acc == 0),
        ]
        meta = data.StructLayout({
            "base": spec.base_bits, "e": signed(spec.exp_bits), "beats": spec.count_bits,
            "empty": 1})
        n_meta = Signal(meta)
        m.d.comb += [n_meta.base.eq(base), n_meta.e.eq(n_e), n_meta.beats.eq(n_beats),
                     n_meta.empty.eq(empty)]
        m.submodules.recip = recip = Reciprocal(norm_bits=Q, meta_bits=meta.size)
        m.d.comb += [recip.i_valid.eq(n_valid), recip.i_d.eq(abar),
                     recip.i_meta.eq(n_meta.as_value())]

        row = data.StructLayout({"r": spec.recip_bits, "meta": meta})
        m.submodules.rows = rows = SyncFIFO(width=row.size, depth=credits_max)
        fifo_in = Signal(row)
        m.d.comb += [fifo_in.r.eq(recip.o_r), fifo_in.meta.eq(recip.o_meta),
                     rows.w_data.eq(fifo_in.as_value()), rows.w_en.eq(recip.o_valid)]

        # ---- pass 2: read the row back, exp again, multiply by the reciprocal, round ----
        advance = Signal()
        m.d.comb += advance.eq(~self.p.valid | self.p.ready)
        cur_valid = Signal()
        cur_left = Signal(spec.count_bits)
        cur = Signal(row)
        head = Signal(row)
        finishing = Signal()
        m.d.comb += [
            head.eq(rows.r_data),
            issue.eq(advance & cur_valid),
            finishing.eq(issue & (cur_left == 1)),
            pop.eq(rows.r_rdy & (~cur_valid | finishing)),
            rows.r_en.eq(pop),
            rport.addr.eq(rd_ptr),
            rport.en.eq(advance),
        ]
        with m.If(pop):
            m.d.sync += [cur.eq(head), cur_left.eq(head.meta.beats), cur_valid.eq(1)]
        with m.Elif(finishing):
            m.d.sync += cur_valid.eq(0)
        with m.Elif(issue):
            m.d.sync += cur_left.eq(cur_left - 1)
        with m.If(issue):
            m.d.sync += rd_ptr.eq(Mux(rd_ptr == depth - 1, 0, rd_ptr + 1))

        s1_valid, s1_last = Signal(), Signal()
        s1 = Signal(row)
        with m.If(advance):
            m.d.sync += [s1_valid.eq(issue), s1_last.eq(finishing), s1.eq(cur)]
        m.submodules.exp2 = exp2 = ExpUnit(spec=spec, lanes=P)
        word = rport.data
        m.d.comb += [exp2.x[i].eq(word[i * b:(i + 1) * b].as_signed()) for i in range(P)]

        s2_valid, s2_last = Signal(), Signal()
        s2_r = Signal(spec.recip_bits)
        s2_base = Signal(spec.base_bits)
        s2_e = Signal(signed(spec.exp_bits))
        u3 = [Signal(W + 1, name=f"s2_u{i}") for i in range(P)]
        e3 = [Signal(signed(spec.exp_bits), name=f"s2_e{i}") for i in range(P)]
        zero3 = [Signal(name=f"s2_zero{i}") for i in range(P)]
        with m.If(advance):
            m.d.sync += [s2_valid.eq(s1_valid), s2_last.eq(s1_last), s2_r.eq(s1.r),
                         s2_base.eq(s1.meta.base), s2_e.eq(s1.meta.e)]
            for i in range(P):
                m.d.sync += [u3[i].eq(exp2.u[i]), e3[i].eq(exp2.e[i]),
                             zero3[i].eq(word[P * b + i] | s1.meta.empty)]

        with m.If(advance):
            m.d.sync += [self.p.valid.eq(s2_valid), self.p.payload.last.eq(s2_last)]
        shift_bits = unsigned_bits(spec.shift_cap)
        for i in range(P):
            prod = Signal(spec.prod_bits, name=f"s2_prod{i}")
            diff = Signal(signed(spec.exp_bits + 1), name=f"s2_diff{i}")
            sh = Signal(signed(max(spec.base_bits, shift_bits) + 2), name=f"s2_sh{i}")
            shc = Signal(shift_bits, name=f"s2_shc{i}")
            rounded = Signal(spec.prod_bits, name=f"s2_round{i}")
            out = Signal(spec.word_bits, name=f"s2_word{i}")
            m.d.comb += [
                prod.eq(u3[i] * s2_r),
                diff.eq(s2_e - e3[i]),
                sh.eq(s2_base + _min_const(diff, spec.diff_cap)),
                shc.eq(_min_const(sh, spec.shift_cap)),
                rounded.eq(((prod >> (shc - 1)[:shift_bits]) + 1) >> 1),
                out.eq(Mux(zero3[i], 0, _min_const(rounded, spec.one))),
            ]
            with m.If(advance):
                m.d.sync += self.p.payload.data[i].eq(out)
        return m
