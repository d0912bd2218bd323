"""The GELU / SiLU unit: ``lanes`` pointwise activations per cycle, streaming."""

__all__ = ["Gelu", "gelu_top", "gelu_manifest"]

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from lutmix.config import GeluConfig
from lutmix.gelu_math import GUARD_BITS, gelu_spec

from .axis import AxisTop


def gelu_signature(spec):
    """Streams ``x`` (input words) and ``y`` (output words), ``lanes`` words a beat, each
    sign-extended to a whole-byte lane; ``last`` passes from a beat to its result."""
    def words(bits):
        return stream.Signature(data.StructLayout({
            "data": data.ArrayLayout(signed(bits), spec.lanes),
            "last": 1,
        }))
    return {"x": In(words(spec.in_lane_bits)), "y": Out(words(spec.out_lane_bits))}


def _saturate(value, spec):
    return Mux(value > spec.y_max, spec.y_max, Mux(value < spec.y_min, spec.y_min, value))


def _round_shift(value, shift):
    return (value + (1 << (shift - 1))) >> shift if shift else value


class Gelu(wiring.Component):
    """GELU or SiLU of ``lanes`` fixed-point words per beat, by the config's method.

    Every lane has its own datapath; the lanes share one pipeline control, which advances
    whenever its last stage is empty or ``y`` takes a beat, so no beat is lost or duplicated
    under any stalls. ``last`` travels with its beat.

    Throughput and latency
    ----------------------
    ``lanes`` words per cycle (one beat per cycle) while ``y`` is ready. Latency from an ``x``
    handshake to ``y.valid``: ``rom`` 1 cycle (a synchronous table read), ``pwq`` 3 cycles
    (coefficient read, ``b1 + b2*u``, ``b0 + h*u`` with rounding, clamps and saturation),
    ``ibert`` 4 cycles (clip, square, ``q * (erf + shift)``, requantization).

    Parameters
    ----------
    config : GeluConfig

    Members
    -------
    x : In(stream of ``lanes`` signed ``in_lane_bits`` words, ``last``)
        Input words; the unit reads the low ``input_bits`` bits of each lane.
    y : Out(stream of ``lanes`` signed ``out_lane_bits`` words, ``last``)
        Output words, sign-extended from ``out_bits``.
    """

    def __init__(self, config):
        if not isinstance(config, GeluConfig):
            raise TypeError(f"config must be a GeluConfig, not {config!r}")
        self._spec = gelu_spec(config)
        super().__init__(gelu_signature(self._spec))

    @property
    def spec(self):
        return self._spec

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        stages = spec.latency
        valid = [Signal(name=f"valid{i}") for i in range(stages)]
        last = [Signal(name=f"last{i}") for i in range(stages)]
        en = Signal()
        m.d.comb += [
            en.eq(~valid[-1] | self.y.ready),
            self.x.ready.eq(en),
            self.y.valid.eq(valid[-1]),
            self.y.payload.last.eq(last[-1]),
        ]
        with m.If(en):
            m.d.sync += [valid[0].eq(self.x.valid), last[0].eq(self.x.payload.last)]
            for i in range(1, stages):
                m.d.sync += [valid[i].eq(valid[i - 1]), last[i].eq(last[i - 1])]

        lane_fn = {"rom": self._rom_lane, "pwq": self._pwq_lane,
                   "ibert": self._ibert_lane}[spec.method]
        memory = self._memory(m)
        for lane in range(spec.lanes):
            word = self.x.payload.data[lane]
            x = Signal(signed(spec.in_bits), name=f"x{lane}")
            m.d.comb += x.eq(word[:spec.in_bits].as_signed())
            y = lane_fn(m, lane, x, en, memory)
            m.d.comb += self.y.payload.data[lane].eq(y)
        return m

    def _memory(self, m):
        spec = self._spec
        if spec.method == "rom":
            m.submodules.rom = rom = Memory(shape=signed(spec.out_bits), depth=len(spec.rom),
                                            init=spec.rom)
            return rom
        if spec.method == "pwq":
            w = spec.pwq.widths
            layout = data.StructLayout({"b0": signed(w["b0"]), "b1": signed(w["b1"]),
                                        "b2": signed(w["b2"])})
            init = [{"b0": b0, "b1": b1, "b2": b2} for b0, b1, b2 in spec.pwq.coeffs]
            m.submodules.coeffs = coeffs = Memory(shape=layout, depth=len(init), init=init)
            return coeffs
        return None

    def _rom_lane(self, m, lane, x, en, rom):
        spec = self._spec
        port = rom.read_port(domain="sync")
        m.d.comb += [port.addr.eq((x - spec.x_min)[:spec.in_bits]), port.en.eq(en)]
        return port.data

    def _pwq_lane(self, m, lane, x, en, coeffs):
        spec = self._spec
        p = spec.pwq
        s, w = p.seg_shift, p.widths

        def reg(shape, name):
            return Signal(shape, name=f"{name}{lane}")

        # stage 1: region, segment (read from the coefficient table), offset, identity
        d = reg(signed(w["d"]), "d")
        seg = reg(signed(w["d"]), "seg")
        ident = reg(signed(spec.out_bits), "ident")
        shift = spec.out_frac - spec.in_frac
        scaled = x << shift if shift >= 0 else _round_shift(x, -shift)
        m.d.comb += [d.eq(x - p.lo), seg.eq(d >> s), ident.eq(_saturate(scaled, spec))]
        port = coeffs.read_port(domain="sync")
        m.d.comb += [
            port.addr.eq(Mux(seg < 0, 0, Mux(seg > p.segments - 1, p.segments - 1, seg))),
            port.en.eq(en),
        ]
        u1, below1, above1, ident1 = (reg(unsigned(max(s, 1)), "u1"), reg(1, "below1"),
                                      reg(1, "above1"), reg(signed(spec.out_bits), "ident1"))
        # stage 2: h = b1 + (b2 * u >> s)
        h2, b0_2, u2 = (reg(signed(w["h"]), "h2"), reg(signed(w["b0"]), "b0_2"),
                        reg(unsigned(max(s, 1)), "u2"))
        below2, above2, ident2 = reg(1, "below2"), reg(1, "above2"), reg(signed(spec.out_bits),
                                                                           "ident2")
        # stage 3: z = b0 + (h * u >> s), rounded, saturated; clamps outside [lo, hi)
        y3 = reg(signed(spec.out_bits), "y3")
        z = reg(signed(w["z"]), "z")
        m.d.comb += z.eq(b0_2 + ((h2 * u2) >> s))
        with m.If(en):
            m.d.sync += [
                u1.eq(d[:s] if s else 0),
                below1.eq(x < p.lo),
                above1.eq(x >= p.hi),
                ident1.eq(ident),
                h2.eq(port.data.b1 + ((port.data.b2 * u1) >> s)),
                b0_2.eq(port.data.b0),
                u2.eq(u1),
                below2.eq(below1),
                above2.eq(above1),
                ident2.eq(ident1),
                y3.eq(Mux(below2, 0, Mux(above2, ident2,
                                         _saturate(_round_shift(z, GUARD_BITS), spec)))),
            ]
        return y3

    def _ibert_lane(self, m, lane, x, en, _):
        spec = self._spec
        ib = spec.ibert
        w = ib.widths

        def reg(shape, name):
            return Signal(shape, name=f"{name}{lane}")

        # stage 1: clip |q| at -b, keep the sign
        x1, clipped1 = reg(signed(spec.in_bits), "x1"), reg(unsigned(spec.in_bits), "clipped1")
        pos1, neg1 = reg(1, "pos1"), reg(1, "neg1")
        # stage 2: erf = sgn * ((clipped + b)^2 + c) >> shift; t = erf + floor(1/S_erf)
        sq = reg(signed(w["sq"]), "sq")
        erf = reg(signed(w["erf"]), "erf")
        x2, t2 = reg(signed(spec.in_bits), "x2"), reg(signed(w["t"]), "t2")
        # stage 3: p = q * t; stage 4: requantize, saturate
        p3 = reg(signed(w["p"]), "p3")
        y4 = reg(signed(spec.out_bits), "y4")
        magnitude = abs(x)
        m.d.comb += [
            sq.eq((clipped1 + ib.b_int) * (clipped1 + ib.b_int) + ib.c_int),
            erf.eq(Mux(pos1, sq, Mux(neg1, -sq, 0)) >> ib.erf_shift),
        ]
        with m.If(en):
            m.d.sync += [
                x1.eq(x),
                clipped1.eq(Mux(magnitude > -ib.b_int, -ib.b_int, magnitude)),
                pos1.eq(x > 0),
                neg1.eq(x < 0),
                x2.eq(x1),
                t2.eq(erf + ib.shift_int),
                p3.eq(x2 * t2),
                y4.eq(_saturate(_round_shift(p3 * ib.m_int, ib.rq), spec)),
            ]
        return y4


def gelu_top(config):
    """The AXI4-Stream top of the GELU / SiLU unit of a :class:`~lutmix.config.GeluConfig`."""
    return AxisTop(Gelu(config))


def gelu_manifest(config):
    """Manifest entries of the unit: streams, formats, method, storage, widths and latency."""
    spec = gelu_spec(config)
    entry = {
        "clock": "aclk (rising edge)",
        "reset": "aresetn (active low, synchronous)",
        "streams": {
            "s_axis_x": {
                "role": "input words",
                "tdata_bits": spec.x_tdata_bits,
                "lane_bits": spec.in_lane_bits,
                "lanes": spec.lanes,
                "word": f"x[i] in lane i, signed, sign-extended; the unit reads its low "
                        f"{spec.in_bits} bits; real value x / 2**{spec.in_frac}",
                "tlast": "optional framing, passed to the beat's result",
            },
            "m_axis_y": {
                "role": "output words",
                "tdata_bits": spec.y_tdata_bits,
                "lane_bits": spec.out_lane_bits,
                "lanes": spec.lanes,
                "word": f"y[i] in lane i, signed {spec.out_bits} bits sign-extended; real value "
                        f"y / 2**{spec.out_frac}; saturated",
                "tlast": "the tlast of the input beat",
            },
        },
        "function": spec.function,
        "method": spec.method,
        "storage": spec.table_summary(),
        "latency_cycles": spec.latency,
        "latency": f"{spec.latency} cycles from an s_axis_x handshake to its m_axis_y_tvalid",
        "throughput": f"{spec.lanes} words per cycle (one beat per cycle)",
    }
    if spec.method == "pwq":
        p = spec.pwq
        entry["pwq"] = {"lo": p.lo, "hi": p.hi, "seg_shift": p.seg_shift,
                        "segments": p.segments, "guard_bits": GUARD_BITS, "widths": p.widths}
    if spec.method == "ibert":
        ib = spec.ibert
        entry["ibert"] = {"k": ib.k, "b_int": ib.b_int, "c_int": ib.c_int,
                          "erf_shift": ib.erf_shift, "shift_int": ib.shift_int,
                          "m_int": ib.m_int, "rq": ib.rq, "widths": ib.widths}
    return entry
