"""Per-group dequantization: a block's exact dot products to float32, accumulated over K."""

__all__ = ["Dequant", "widen_f16"]

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from lutmix import fp32

from .f32_add import F32Add
from .f32_mul import F32Mul
from .int_to_f32 import IntToF32


def widen_f16(m, bits, name):
    """binary16 bits to the binary32 bits of the same (finite) value: exact."""
    sign, exp, frac = bits[15], bits[10:15], bits[:10]
    out = Signal(32, name=name)
    # subnormal: normalize the fraction; its leading one at bit p gives exponent p - 24
    lead = Signal(range(11), name=f"{name}_lead")
    for p in range(10):
        with m.If(frac[p]):
            m.d.comb += lead.eq(p)
    norm = Signal(23, name=f"{name}_norm")
    up = Signal(range(24), name=f"{name}_up")
    m.d.comb += [up.eq(23 - lead), norm.eq((frac << up)[:23])]
    with m.If(exp == 0):
        with m.If(frac == 0):
            m.d.comb += out.eq(Cat(Const(0, 31), sign))
        with m.Else():
            m.d.comb += out.eq(Cat(norm, (lead + 103)[:8], sign))
    with m.Else():
        m.d.comb += out.eq(Cat(Const(0, 13), frac, (exp + 112)[:8], sign))
    return out


def _times_small(value, small, bits):
    """``value * small`` for an unsigned ``bits``-wide ``small``, from shifts and adds."""
    total = 0
    for i in range(bits):
        term = Mux(small[i], value << i, 0)
        total = term if i == 0 else total + term
    return total


class Dequant(wiring.Component):
    """Turns each block's dot products into float32 and adds them over a tile's blocks.

    For every output ``(r, j)`` of a block (see :mod:`lutmix.golden.dequant` for the exact
    arithmetic)::

        V = (acc + corr[r]) >> shift_corr           the array's correction
        original:  t = V - z[j] * xsum[r];  v = RNE32(s[j] * RNE32(t) * 2**shift[r])
        scaled:    v = RNE32(RNE32(s[j] * RNE32(V) * 2**shift[r])
                         - RNE32(z[j] * RNE32(xsum[r]) * 2**shift[r]))
        y[r, j] = v (a tile's first block) or RNE32(y[r, j] + v);  NaN if special[r]

    ``dequant_lanes`` elements go through the pipeline per cycle (select, convert, multiply,
    subtract, accumulate), so a block takes ``dequant_steps`` cycles; the multipliers are built
    from shifts and adds except in the ``mac`` engine. After a tile's last block the results
    move to an output buffer and leave on ``y``, one row of ``n`` float32 lanes per beat.

    Members
    -------
    load : In(1)
        Take a block this cycle (only while ``ready``).
    ready : Out(1)
    acc, xsum, corr, shift, special
        The block's accumulators (m x n), and per row its activation sum, correction term,
        power of two and NaN/Inf flag.
    scales : In(s_word_bits)
        The block's ``n`` scales, then ``n`` zero points (:mod:`lutmix.words`).
    first, last : In(1)
        The block is its tile's first / last.
    y : Out(stream)
        ``m`` beats per tile of ``n`` binary32 lanes.

    Latency: 5 cycles from a block's load to its first results in the accumulators; a tile's
    results reach ``y.valid`` ``dequant_steps + 5`` cycles after its last block loads.
    """

    STAGES = 5

    def __init__(self, spec):
        self._spec = spec
        c = spec.config
        super().__init__({
            "load": In(1),
            "ready": Out(1),
            "acc": In(data.ArrayLayout(data.ArrayLayout(signed(spec.acc_bits), c.n), c.m)),
            "xsum": In(data.ArrayLayout(signed(spec.rowsum_bits), c.m)),
            "corr": In(data.ArrayLayout(signed(spec.sum_bits), c.m)),
            "shift": In(data.ArrayLayout(signed(spec.shift_bits), c.m)),
            "special": In(data.ArrayLayout(1, c.m)),
            "scales": In(spec.s_word_bits),
            "first": In(1),
            "last": In(1),
            "y": Out(stream.Signature(data.StructLayout({
                "data": data.ArrayLayout(unsigned(32), c.n), "last": 1}))),
        })

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        c = spec.config
        fmt = spec.weight_format
        rows, cols = c.m, c.n
        lanes, steps = spec.dequant_lanes, spec.dequant_steps
        count = rows * cols
        scaled = spec.has_zeros and c.zero_point == "scaled"
        original_zeros = spec.has_zeros and not scaled
        multiplier = "native" if c.engine == "mac" else "shiftadd"
        shift_corr = 1 if (c.engine == "lut" and fmt.denom == 2) else 0

        # ---- snapshot of one block ----
        full = Signal()
        sacc = [Signal(signed(spec.acc_bits), name=f"sacc{e}") for e in range(count)]
        sxsum = [Signal(signed(spec.rowsum_bits), name=f"sxsum{r}") for r in range(rows)]
        scorr = [Signal(signed(spec.sum_bits), name=f"scorr{r}") for r in range(rows)]
        sshift = [Signal(signed(spec.shift_bits), name=f"sshift{r}") for r in range(rows)]
        sspecial = [Signal(name=f"sspecial{r}") for r in range(rows)]
        sscales = Signal(spec.s_word_bits)
        sfirst = Signal()
        slast = Signal()
        step = Signal(range(steps))
        adv = Signal()
        emit = Signal()
        m.d.comb += [
            emit.eq(adv & full),
            self.ready.eq(~full | (emit & (step == steps - 1))),
        ]
        with m.If(emit):
            m.d.sync += step.eq(Mux(step == steps - 1, 0, step + 1))
            with m.If(step == steps - 1):
                m.d.sync += full.eq(0)
        with m.If(self.load & self.ready):
            m.d.sync += [full.eq(1), sscales.eq(self.scales), sfirst.eq(self.first),
                         slast.eq(self.last)]
            for e in range(count):
                m.d.sync += sacc[e].eq(self.acc[e // cols][e % cols])
            for r in range(rows):
                m.d.sync += [sxsum[r].eq(self.xsum[r]), scorr[r].eq(self.corr[r]),
                             sshift[r].eq(self.shift[r]), sspecial[r].eq(self.special[r])]

        def scale_of(j):
            bits = sscales.word_select(j, spec.scale_bits)
            return bits if spec.scale_bits == 32 else widen_f16(m, bits, f"s32_{j}")

        def zero_of(j):
            base = cols * spec.scale_bits
            return sscales[base + j * spec.zero_bits:base + (j + 1) * spec.zero_bits]

        scale32 = [scale_of(j) for j in range(cols)]
        if scaled:
            zero32 = [zero_of(j) if spec.scale_bits == 32 else
                      widen_f16(m, zero_of(j), f"z32_{j}") for j in range(cols)]

        # ---- pipeline registers, one set per lane ----
        def stage(name, shape):
            return [Signal(shape, name=f"{name}{d}") for d in range(lanes)]

        p1_t, p1_t2 = stage("p1_t", signed(spec.t_bits)), stage("p1_t2", signed(spec.t_bits))
        p1_s, p1_z = stage("p1_s", 32), stage("p1_z", 32)
        p1_sh, p1_sp = stage("p1_sh", signed(spec.shift_bits)), stage("p1_sp", 1)
        p2_T, p2_T2 = stage("p2_T", 32), stage("p2_T2", 32)
        p2_s, p2_z = stage("p2_s", 32), stage("p2_z", 32)
        p2_sh, p2_sp = stage("p2_sh", signed(spec.shift_bits)), stage("p2_sp", 1)
        p3_v1, p3_v2, p3_sp = stage("p3_v1", 32), stage("p3_v2", 32), stage("p3_sp", 1)
        p4_v = stage("p4_v", 32)
        valid = [Signal(name=f"valid{i}") for i in range(1, 5)]        # p1 .. p4
        step_at = [Signal(range(steps), name=f"step{i}") for i in range(1, 5)]
        first_at = [Signal(name=f"first{i}") for i in range(1, 5)]
        last_at = [Signal(name=f"last{i}") for i in range(1, 5)]

        with m.If(adv):
            m.d.sync += [valid[0].eq(emit), step_at[0].eq(step), first_at[0].eq(sfirst),
                         last_at[0].eq(slast & (step == steps - 1))]
            for i in range(1, 4):
                m.d.sync += [valid[i].eq(valid[i - 1]), step_at[i].eq(step_at[i - 1]),
                             first_at[i].eq(first_at[i - 1]), last_at[i].eq(last_at[i - 1])]

        def per_step(values):
            """Mux one value per step (padding past the last element)."""
            values = list(values) + [values[-1]] * (steps - len(values))
            return Array(values)[step] if steps > 1 else values[0]

        for d in range(lanes):
            elems = [e for e in range(d, count, lanes)]
            rs = [e // cols for e in elems]
            js = [e % cols for e in elems]
            acc = per_step([sacc[e] for e in elems])
            corr = per_step([scorr[r] for r in rs])
            xs = per_step([sxsum[r] for r in rs])
            total = Signal(signed(spec.sum_bits + 1), name=f"total{d}")
            value = Signal(signed(spec.y_bits), name=f"value{d}")
            m.d.comb += [total.eq(acc + corr), value.eq(total >> shift_corr)]
            # P0 -> P1: integers to convert, and the lane's scale and zero
            with m.If(adv):
                m.d.sync += [p1_s[d].eq(per_step([scale32[j] for j in js])),
                             p1_sh[d].eq(per_step([sshift[r] for r in rs])),
                             p1_sp[d].eq(per_step([sspecial[r] for r in rs]))]
                if original_zeros:
                    z = per_step([zero_of(j) for j in js])
                    m.d.sync += p1_t[d].eq(value - _times_small(xs, z, fmt.bits))
                else:
                    m.d.sync += p1_t[d].eq(value)
                if scaled:
                    m.d.sync += [p1_t2[d].eq(xs), p1_z[d].eq(per_step([zero32[j] for j in js]))]

            # P1 -> P2: convert to binary32
            conv = IntToF32(width=spec.t_bits)
            m.submodules[f"conv{d}"] = conv
            m.d.comb += conv.i.eq(p1_t[d])
            with m.If(adv):
                m.d.sync += [p2_T[d].eq(conv.o), p2_s[d].eq(p1_s[d]), p2_sh[d].eq(p1_sh[d]),
                             p2_sp[d].eq(p1_sp[d])]
            if scaled:
                conv2 = IntToF32(width=spec.t_bits)
                m.submodules[f"conv2_{d}"] = conv2
                m.d.comb += conv2.i.eq(p1_t2[d])
                with m.If(adv):
                    m.d.sync += [p2_T2[d].eq(conv2.o), p2_z[d].eq(p1_z[d])]

            # P2 -> P3: multiply by the scale and the block's power of two
            mul = F32Mul(shift_bits=spec.shift_bits, multiplier=multiplier)
            m.submodules[f"mul{d}"] = mul
            m.d.comb += [mul.a.eq(p2_s[d]), mul.b.eq(p2_T[d]), mul.shift.eq(p2_sh[d])]
            with m.If(adv):
                m.d.sync += [p3_v1[d].eq(mul.o), p3_sp[d].eq(p2_sp[d])]
            if scaled:
                mul2 = F32Mul(shift_bits=spec.shift_bits, multiplier=multiplier)
                m.submodules[f"mul2_{d}"] = mul2
                m.d.comb += [mul2.a.eq(p2_z[d]), mul2.b.eq(p2_T2[d]), mul2.shift.eq(p2_sh[d])]
                with m.If(adv):
                    m.d.sync += p3_v2[d].eq(mul2.o)

            # P3 -> P4: subtract the scaled zero point; NaN for a special row
            if scaled:
                sub = F32Add()
                m.submodules[f"sub{d}"] = sub
                m.d.comb += [sub.a.eq(p3_v1[d]), sub.b.eq(p3_v2[d] ^ fp32.SIGN_MASK)]
                v = sub.o
            else:
                v = p3_v1[d]
            with m.If(adv):
                m.d.sync += p4_v[d].eq(Mux(p3_sp[d], fp32.CANONICAL_NAN, v))

        # ---- P4: accumulate into y, per element ----
        y = [Signal(32, name=f"y{e}") for e in range(count)]
        y_next = [Signal(32, name=f"y_next{e}") for e in range(count)]
        for d in range(lanes):
            elems = [e for e in range(d, count, lanes)]
            current = Array([y[e] for e in elems] + [y[elems[-1]]] * (steps - len(elems)))
            add = F32Add()
            m.submodules[f"acc{d}"] = add
            m.d.comb += [add.a.eq(current[step_at[3]] if steps > 1 else y[elems[0]]),
                         add.b.eq(p4_v[d])]
            result = Signal(32, name=f"result{d}")
            m.d.comb += result.eq(Mux(first_at[3], p4_v[d], add.o))
            for i, e in enumerate(elems):
                hit = valid[3] & (step_at[3] == i) if steps > 1 else valid[3]
                m.d.comb += y_next[e].eq(Mux(hit, result, y[e]))
        with m.If(adv):
            m.d.sync += [y[e].eq(y_next[e]) for e in range(count)]

        # ---- output buffer ----
        obuf = [Signal(32, name=f"obuf{e}") for e in range(count)]
        orow = Signal(range(rows))
        finish = Signal()
        m.d.comb += [
            finish.eq(valid[3] & last_at[3]),
            adv.eq(~(finish & self.y.valid)),
            self.y.payload.last.eq(orow == rows - 1),
        ]
        for j in range(cols):
            m.d.comb += self.y.payload.data[j].eq(obuf[j])
        with m.If(adv & finish):
            m.d.sync += [self.y.valid.eq(1), orow.eq(0)]
            m.d.sync += [obuf[e].eq(y_next[e]) for e in range(count)]
        with m.If(self.y.valid & self.y.ready):
            m.d.sync += orow.eq(orow + 1)
            for e in range(count - cols):
                m.d.sync += obuf[e].eq(obuf[e + cols])
            with m.If(self.y.payload.last):
                m.d.sync += [self.y.valid.eq(0), orow.eq(0)]
        return m
