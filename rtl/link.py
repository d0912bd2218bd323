"""The link core: the framed command protocol of :mod:`lutmix.link` in front of the units.

:class:`LinkCore` takes request bytes on ``rx`` and sends reply bytes on ``tx`` (``last`` on
the final byte of each reply). It holds the configured units (GEMM engine, softmax, GELU) and
feeds their input streams from a frame buffer only after a whole frame has arrived with a good
CRC, so a bad frame is never executed. Each unit's output stream is cut into bytes into a
result FIFO that ``READ`` drains.

:func:`link_top` exposes ``rx`` and ``tx`` as AXI4-Stream ports (``s_axis_rx``, ``m_axis_tx``,
``aclk``, ``aresetn``): the simulation target of the host API. The board tops
(:mod:`lutmix.fpga.boards`) put a UART in front of the same core.

Latency and throughput: a request is executed after its CRC's last byte; input beats are
pushed at one byte per two cycles (plus the unit's handshake), results are serialized at one
byte per cycle, and replies go out at one byte per cycle (or as fast as ``tx`` takes them). The
UART, at 10 bits per byte and tens of cycles per bit, is the bottleneck everywhere.
"""

__all__ = ["LinkParams", "LinkCore", "link_top", "link_units", "manifest_bytes"]

import json
from dataclasses import asdict, dataclass

from amaranth import Cat, Const, Module, ResetInserter, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from lutmix import __version__
from lutmix.link import (
    COMMANDS,
    STATUS,
    STREAM_COMMANDS,
    SYNC_REPLY,
    SYNC_REQUEST,
    UNIT_IDS,
    beat_layout,
)

from .axis import AxisTop


@dataclass(frozen=True)
class LinkParams:
    """Sizes of the link: ``frame_bytes`` (largest request payload, the frame buffer),
    ``fifo_bytes`` (each unit's result buffer), ``timeout`` (cycles without a byte that end a
    frame), and, for the manifest, ``board``, ``clock_hz`` and ``baud`` (0 without a UART)."""
    frame_bytes: int = 1024
    fifo_bytes: int = 2048
    timeout: int = 100_000
    board: str = "sim"
    clock_hz: int = 0
    baud: int = 0

    def __post_init__(self):
        for name, lo, hi in (("frame_bytes", 16, 65535), ("fifo_bytes", 16, 1 << 20),
                             ("timeout", 16, 1 << 30)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(f"{name} must be an integer from {lo} to {hi}, not {v!r}")


def link_units(config):
    """``{section: AxisTop}`` of every unit of ``config`` that the link serves."""
    from .generate import UNITS
    tops = {s: UNITS[s].build(getattr(config, s)) for s in UNIT_IDS
            if getattr(config, s, None) is not None}
    for top in tops.values():
        top._MustUse__silence = True      # only its core and port list are used
    return tops


def manifest_bytes(config, params):
    """The compact JSON the ``MANIFEST`` command returns."""
    doc = {"lutmix": __version__, "link": asdict(params), "config": config.to_dict()}
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def _crc_step(crc, byte):
    """One byte of CRC-16/CCITT-FALSE, unrolled bit by bit (an expression)."""
    c = [crc[i] for i in range(16)]
    for i in range(8):
        fb = c[15] ^ byte[7 - i]
        c = [fb] + c[:15]
        c[5] = c[5] ^ fb
        c[12] = c[12] ^ fb
    return Cat(*c)


class LinkCore(wiring.Component):
    """Frame parser, CRC check, command executor and reply generator, with the units inside.

    Parameters
    ----------
    config : Config
        The units to hold (its ``gemm``, ``softmax`` and ``gelu`` sections).
    params : LinkParams
    """
    rx: In(stream.Signature(8))
    tx: Out(stream.Signature(data.StructLayout({"data": 8, "last": 1})))

    def __init__(self, config, params):
        if not isinstance(params, LinkParams):
            raise TypeError(f"params must be a LinkParams, not {params!r}")
        self._config = config
        self._params = params
        self._tops = link_units(config)
        if not self._tops:
            raise ValueError("The link needs at least one unit: [gemm], [softmax] or [gelu]")
        self._manifest = manifest_bytes(config, params)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        p = self._params
        unit_rst = Signal()

        # ports: inputs (unit id, command, stream, layout), outputs (unit id, stream, layout)
        inputs, outputs = [], []
        for section, top in self._tops.items():
            core = ResetInserter(unit_rst)(top.core)
            m.submodules[section] = core
            for name, info in top.ports.items():
                port = getattr(top.core, name)
                layout = beat_layout(info)
                if info["direction"] == "in":
                    cmd = next(c for c, s in STREAM_COMMANDS.items() if s == name)
                    inputs.append((UNIT_IDS[section], COMMANDS[cmd], port, layout))
                else:
                    outputs.append((UNIT_IDS[section], port, layout))

        # request header and frame buffer
        cmd = Signal(8)
        unit = Signal(8)
        length = Signal(16)
        arg = Signal(16)
        count = Signal(16)
        idx = Signal(3)
        crc = Signal(16)
        crc_rx = Signal(16)
        timer = Signal(range(p.timeout + 1))
        status = Signal(8)
        m.submodules.buf = buf = Memory(shape=8, depth=p.frame_bytes, init=[])
        wr = buf.write_port()
        rd = buf.read_port(transparent_for=())
        # bytes mod beat size, per input port, while a payload arrives
        mods = [Signal(range(layout.beat_bytes + 1)) for *_, layout in inputs]

        # beat assembly
        max_beat = max(layout.beat_bytes for *_, layout in inputs) if inputs else 1
        beat = Signal(8 * max_beat)
        beat_i = Signal(range(max_beat + 1))
        sel = Signal(range(max(len(inputs), len(outputs), 1)))
        ptr = Signal(16)

        for i, (_, _, port, layout) in enumerate(inputs):
            m.d.comb += port.payload.data.eq(beat[:layout.data_bits])
            side = beat[8 * layout.tdata_bytes:]
            if layout.last:
                m.d.comb += port.payload.last.eq(side[0])
            for name, offset, width in layout.user:
                start = int(layout.last) + offset
                m.d.comb += getattr(port.payload, name).eq(side[start:start + width])

        # result serializers and FIFOs
        fifos = []
        for i, (uid, port, layout) in enumerate(outputs):
            f = ResetInserter(unit_rst)(fifo.SyncFIFOBuffered(width=8, depth=p.fifo_bytes))
            m.submodules[f"fifo{uid}"] = f
            fifos.append(f)
            sreg = Signal(8 * layout.beat_bytes)
            left = Signal(range(layout.beat_bytes + 1))
            flat = Cat(port.payload.data, Const(0, 8 * layout.tdata_bytes - layout.data_bits))
            side = []
            if layout.last:
                side.append(port.payload.last)
            side += [getattr(port.payload, name) for name, _, _ in layout.user]
            captured = Cat(flat, *side)
            m.d.comb += [port.ready.eq(left == 0), f.w_data.eq(sreg[:8]),
                         f.w_en.eq(left != 0)]
            with m.If(unit_rst):
                m.d.sync += left.eq(0)
            with m.Elif((left == 0) & port.valid):
                m.d.sync += [sreg.eq(captured), left.eq(layout.beat_bytes)]
            with m.Elif((left != 0) & f.w_rdy):
                m.d.sync += [sreg.eq(sreg >> 8), left.eq(left - 1)]

        # reply transmitter: a byte register and the CRC of what was sent
        tx_byte = Signal(8)
        tx_crc = Signal(16)
        reply_len = Signal(16)
        sent = Signal(16)
        rom = Memory(shape=8, depth=len(self._manifest), init=list(self._manifest))
        m.submodules.rom = rom
        rom_rd = rom.read_port(transparent_for=())

        rx = self.rx
        byte = rx.payload
        got = rx.valid & rx.ready

        def reply(code):
            m.d.sync += [status.eq(code), reply_len.eq(0), sent.eq(0)]
            m.next = "T_SYNC"

        m.d.comb += [wr.data.eq(byte), wr.addr.eq(count)]

        in_frame = Signal()
        progress = Signal()             # a beat was taken by a unit
        with m.If(in_frame & ~got & ~progress):
            m.d.sync += timer.eq(timer + 1)
        with m.Else():
            m.d.sync += timer.eq(0)
        timed_out = timer == p.timeout

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += rx.ready.eq(1)
                with m.If(got & (byte == SYNC_REQUEST)):
                    m.d.sync += [crc.eq(0xFFFF), idx.eq(0), count.eq(0), arg.eq(0)]
                    m.d.sync += [mod.eq(0) for mod in mods]
                    m.next = "HEADER"
            with m.State("HEADER"):
                m.d.comb += [rx.ready.eq(1), in_frame.eq(1)]
                with m.If(got):
                    m.d.sync += [crc.eq(_crc_step(crc, byte)), idx.eq(idx + 1)]
                    with m.Switch(idx):
                        with m.Case(0):
                            m.d.sync += cmd.eq(byte)
                        with m.Case(1):
                            m.d.sync += unit.eq(byte)
                        with m.Case(2):
                            m.d.sync += length[:8].eq(byte)
                        with m.Case(3):
                            m.d.sync += length[8:].eq(byte)
                            full = Cat(length[:8], byte)
                            with m.If(full > p.frame_bytes):
                                m.next = "DRAIN"
                            with m.Elif(full == 0):
                                m.next = "CRC0"
                            with m.Else():
                                m.next = "PAYLOAD"
                with m.Elif(timed_out):
                    reply(STATUS["TIMEOUT"])
            with m.State("PAYLOAD"):
                m.d.comb += [rx.ready.eq(1), in_frame.eq(1), wr.en.eq(got)]
                with m.If(got):
                    m.d.sync += [crc.eq(_crc_step(crc, byte)), count.eq(count + 1)]
                    with m.If(count == 0):
                        m.d.sync += arg[:8].eq(byte)
                    with m.If(count == 1):
                        m.d.sync += arg[8:].eq(byte)
                    for mod, (*_, layout) in zip(mods, inputs):
                        with m.If(mod == layout.beat_bytes - 1):
                            m.d.sync += mod.eq(0)
                        with m.Else():
                            m.d.sync += mod.eq(mod + 1)
                    with m.If(count == length - 1):
                        m.next = "CRC0"
                with m.Elif(timed_out):
                    reply(STATUS["TIMEOUT"])
            with m.State("CRC0"):
                m.d.comb += [rx.ready.eq(1), in_frame.eq(1)]
                with m.If(got):
                    m.d.sync += crc_rx[:8].eq(byte)
                    m.next = "CRC1"
                with m.Elif(timed_out):
                    reply(STATUS["TIMEOUT"])
            with m.State("CRC1"):
                m.d.comb += [rx.ready.eq(1), in_frame.eq(1)]
                with m.If(got):
                    m.d.sync += crc_rx[8:].eq(byte)
                    m.next = "CHECK"
                with m.Elif(timed_out):
                    reply(STATUS["TIMEOUT"])
            with m.State("DRAIN"):
                # a length over the buffer: drop the rest of the frame, then answer
                m.d.comb += [rx.ready.eq(1), in_frame.eq(1)]
                with m.If(timed_out):
                    reply(STATUS["BAD_LENGTH"])
            with m.State("CHECK"):
                with m.If(crc_rx != crc):
                    reply(STATUS["BAD_CRC"])
                with m.Elif(cmd == COMMANDS["MANIFEST"]):
                    m.d.sync += [status.eq(STATUS["OK"]), reply_len.eq(len(self._manifest)),
                                 sent.eq(0)]
                    m.next = "T_SYNC"
                with m.Elif(cmd == COMMANDS["RESET"]):
                    m.d.comb += unit_rst.eq(1)
                    reply(STATUS["OK"])
                with m.Elif(cmd == COMMANDS["READ"]):
                    known = Const(0, 1)
                    for i, (uid, _, _) in enumerate(outputs):
                        known = known | (unit == uid)
                    with m.If(~known):
                        reply(STATUS["NO_UNIT"])
                    with m.Elif(length != 2):
                        reply(STATUS["BAD_LENGTH"])
                    with m.Else():
                        for i, (uid, _, _) in enumerate(outputs):
                            with m.If(unit == uid):
                                m.d.sync += sel.eq(i)
                                level = fifos[i].level
                                with m.If(level < arg):
                                    m.d.sync += reply_len.eq(level)
                                with m.Else():
                                    m.d.sync += reply_len.eq(arg)
                        m.d.sync += [status.eq(STATUS["OK"]), sent.eq(0)]
                        m.next = "T_SYNC"
                with m.Elif(Cat(*(cmd == COMMANDS[c] for c in STREAM_COMMANDS)).any()):
                    found = Const(0, 1)
                    for i, (uid, c, _, layout) in enumerate(inputs):
                        found = found | ((unit == uid) & (cmd == c))
                    with m.If(~found):
                        reply(STATUS["NO_UNIT"])
                    for i, (uid, c, _, layout) in enumerate(inputs):
                        with m.Elif((unit == uid) & (cmd == c)):
                            with m.If((length == 0) | (mods[i] != 0)):
                                reply(STATUS["BAD_LENGTH"])
                            with m.Else():
                                m.d.sync += [sel.eq(i), ptr.eq(0), beat_i.eq(0)]
                                m.next = "LOAD"
                with m.Else():
                    reply(STATUS["BAD_COMMAND"])
            with m.State("LOAD"):
                m.d.comb += rd.addr.eq(ptr)
                m.d.sync += ptr.eq(ptr + 1)
                m.next = "LATCH"
            with m.State("LATCH"):
                m.d.sync += [beat.word_select(beat_i, 8).eq(rd.data), beat_i.eq(beat_i + 1)]
                last_byte = Const(0, 1)
                for i, (*_, layout) in enumerate(inputs):
                    last_byte = last_byte | ((sel == i) & (beat_i == layout.beat_bytes - 1))
                with m.If(last_byte):
                    m.next = "PUSH"
                with m.Else():
                    m.next = "LOAD"
            with m.State("PUSH"):
                m.d.comb += in_frame.eq(1)
                with m.If(timed_out):
                    # the unit took no beat for `timeout` cycles: drop the rest, stay usable
                    reply(STATUS["STALLED"])
                for i, (_, _, port, _) in enumerate(inputs):
                    m.d.comb += port.valid.eq((sel == i) & ~timed_out)
                    with m.If((sel == i) & port.ready & ~timed_out):
                        m.d.comb += progress.eq(1)
                        m.d.sync += [beat.eq(0), beat_i.eq(0)]
                        with m.If(ptr == length):
                            reply(STATUS["OK"])
                        with m.Else():
                            m.next = "LOAD"

            # the reply: sync, status, command, length, payload, CRC
            def send(value, next_state, *, crc_it=True, last=False):
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.data.eq(value),
                             self.tx.payload.last.eq(last)]
                with m.If(self.tx.ready):
                    if crc_it:
                        m.d.sync += tx_crc.eq(_crc_step(tx_crc, value))
                    m.next = next_state

            with m.State("T_SYNC"):
                m.d.sync += tx_crc.eq(0xFFFF)
                send(SYNC_REPLY, "T_STATUS", crc_it=False)
            with m.State("T_STATUS"):
                send(status, "T_CMD")
            with m.State("T_CMD"):
                send(cmd, "T_LEN0")
            with m.State("T_LEN0"):
                send(reply_len[:8], "T_LEN1")
            with m.State("T_LEN1"):
                with m.If(reply_len == 0):
                    send(reply_len[8:], "T_CRC0")
                with m.Elif(cmd == COMMANDS["MANIFEST"]):
                    send(reply_len[8:], "T_ROM")
                with m.Else():
                    send(reply_len[8:], "T_FIFO")
            with m.State("T_ROM"):
                m.d.comb += rom_rd.addr.eq(sent)
                m.next = "T_ROM_DATA"
            with m.State("T_ROM_DATA"):
                m.d.sync += tx_byte.eq(rom_rd.data)
                m.next = "T_ROM_SEND"
            with m.State("T_ROM_SEND"):
                with m.If(self.tx.ready):
                    m.d.sync += sent.eq(sent + 1)
                with m.If(sent == reply_len - 1):
                    send(tx_byte, "T_CRC0")
                with m.Else():
                    send(tx_byte, "T_ROM")
            with m.State("T_FIFO"):
                for i, f in enumerate(fifos):
                    with m.If(sel == i):
                        m.d.comb += [self.tx.valid.eq(f.r_rdy),
                                     self.tx.payload.data.eq(f.r_data),
                                     f.r_en.eq(self.tx.ready)]
                        with m.If(f.r_rdy & self.tx.ready):
                            m.d.sync += [tx_crc.eq(_crc_step(tx_crc, f.r_data)),
                                         sent.eq(sent + 1)]
                            with m.If(sent == reply_len - 1):
                                m.next = "T_CRC0"
            with m.State("T_CRC0"):
                send(tx_crc[:8], "T_CRC1", crc_it=False)
            with m.State("T_CRC1"):
                send(tx_crc[8:], "IDLE", crc_it=False, last=True)
        return m


def link_top(config, params):
    """The link core with its byte streams as AXI4-Stream ports, for simulation.

    Ports: ``aclk``, ``aresetn``, ``s_axis_rx_tdata[7:0]``/``tvalid``/``tready`` (request
    bytes) and ``m_axis_tx_tdata[7:0]``/``tvalid``/``tready``/``tlast`` (reply bytes, ``tlast``
    on the last byte of a reply).
    """
    return AxisTop(_Streams(LinkCore(config, params)))


class _Streams(wiring.Component):
    """``LinkCore``'s byte streams with StructLayout payloads, the shape :class:`AxisTop`
    wants."""

    def __init__(self, core):
        self._core = core
        super().__init__({
            "rx": In(stream.Signature(data.StructLayout({"data": 8}))),
            "tx": Out(stream.Signature(data.StructLayout({"data": 8, "last": 1}))),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self._core
        m.d.comb += [core.rx.payload.eq(self.rx.payload.data), core.rx.valid.eq(self.rx.valid),
                     self.rx.ready.eq(core.rx.ready)]
        wiring.connect(m, wiring.flipped(self.tx), core.tx)
        return m

