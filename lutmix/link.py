"""The host link: the framed command protocol between a host and a board, in one place.

The RTL (:mod:`lutmix.rtl.link`), the host (:mod:`lutmix.fpga.host`) and the tests all take
their constants, the CRC and the beat layouts from here.

Framing
-------
Every frame, in both directions, is::

    sync | command/status | unit/command | length (u16 LE) | payload (length bytes) | CRC (u16 LE)

========= ========================================= =========================================
byte      host -> device (request)                  device -> host (reply)
========= ========================================= =========================================
0         ``0xA5`` (:data:`SYNC_REQUEST`)           ``0x5A`` (:data:`SYNC_REPLY`)
1         command (:data:`COMMANDS`)                status (:data:`STATUS`)
2         unit: 0 gemm, 1 softmax, 2 gelu           the request's command, echoed
3, 4      payload length, little-endian             payload length, little-endian
5 ...     payload                                   payload
last 2    CRC-16/CCITT-FALSE, little-endian         CRC-16/CCITT-FALSE, little-endian
========= ========================================= =========================================

The CRC (polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR) covers every
byte after the sync byte and before the CRC. The device answers every request with exactly one
reply, and executes a request only after its whole frame has arrived with a good CRC: a bad
CRC, a frame cut short (no byte for ``timeout`` cycles inside a frame), an unknown command, a
unit the bitstream does not have or a wrong length gets an error reply and nothing else
happens. Bytes outside a frame that are not the sync byte are dropped, so the device
resynchronizes by itself.

Commands: ``MANIFEST`` (reply: the design's manifest, compact JSON: lutmix version, board,
clock, baud, buffer sizes and the config), ``RESET`` (resets every unit and empties the result
buffers), ``LOAD_WEIGHTS`` / ``LOAD_SCALES`` / ``STREAM`` (payload: whole beats for the unit's
``w`` / ``s`` / ``x`` stream), ``READ`` (payload: u16 LE, the most bytes wanted; reply: the
bytes of the unit's result buffer, at most that many and at most what is there).

A beat of a stream is its ``tdata`` bytes (as :mod:`lutmix.words` packs them) followed by
``ceil(side_bits / 8)`` side bytes: bit 0 is ``tlast`` (when the stream has it), then the
``tuser`` fields in order (:func:`beat_layout`). Result beats come back the same way.
"""

__all__ = [
    "SYNC_REQUEST", "SYNC_REPLY", "COMMANDS", "STATUS", "STATUS_NAMES", "UNIT_IDS",
    "STREAM_COMMANDS", "HEADER_BYTES", "crc16", "crc16_table", "encode_request",
    "encode_reply", "BeatLayout", "beat_layout", "baud_divisor", "pack_beats", "unpack_beats",
    "timeout_cycles",
]

import math
from dataclasses import dataclass

import numpy as np

SYNC_REQUEST = 0xA5
SYNC_REPLY = 0x5A
HEADER_BYTES = 5          # sync, command/status, unit/command, length (2)

COMMANDS = {
    "MANIFEST": 0x01,
    "RESET": 0x02,
    "LOAD_WEIGHTS": 0x10,
    "LOAD_SCALES": 0x11,
    "STREAM": 0x12,
    "READ": 0x20,
}
# command -> the unit's input stream it feeds
STREAM_COMMANDS = {"LOAD_WEIGHTS": "w", "LOAD_SCALES": "s", "STREAM": "x"}

STATUS = {
    "OK": 0x00,
    "BAD_CRC": 0x01,       # the frame's CRC does not match: not executed
    "TIMEOUT": 0x02,       # the frame stopped arriving (truncated): not executed
    "NO_UNIT": 0x03,       # the bitstream has no such unit (or stream): not executed
    "BAD_COMMAND": 0x04,   # unknown command: not executed
    "BAD_LENGTH": 0x05,    # longer than the frame buffer, or not whole beats: not executed
    "STALLED": 0x06,       # the unit took no beat for `timeout` cycles: rest dropped; RESET
}
STATUS_NAMES = {v: k for k, v in STATUS.items()}

UNIT_IDS = {"gemm": 0, "softmax": 1, "gelu": 2}

_POLY = 0x1021


def crc16_table():
    """The 256-entry table of CRC-16/CCITT-FALSE."""
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY if crc & 0x8000 else crc << 1) & 0xFFFF
        table.append(crc)
    return table


_TABLE = crc16_table()


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE of ``data`` (``crc16(b"123456789") == 0x29B1``)."""
    for byte in bytes(data):
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def _frame(sync, a, b, payload):
    payload = bytes(payload)
    if len(payload) > 0xFFFF:
        raise ValueError(f"A payload holds at most 65535 bytes, not {len(payload)}")
    body = bytes([a, b]) + len(payload).to_bytes(2, "little") + payload
    return bytes([sync]) + body + crc16(body).to_bytes(2, "little")


def encode_request(command, unit, payload=b""):
    """A request frame: ``command`` is a name of :data:`COMMANDS`, ``unit`` an id."""
    return _frame(SYNC_REQUEST, COMMANDS[command], unit, payload)


def encode_reply(status, command, payload=b""):
    """A reply frame (the device's side, for models and tests)."""
    return _frame(SYNC_REPLY, STATUS[status], command, payload)


@dataclass(frozen=True)
class BeatLayout:
    """How one stream's beat travels in a frame.

    Attributes
    ----------
    data_bits : int
        Width of the payload's ``data`` field.
    tdata_bytes : int
        Bytes of ``tdata`` (``data`` padded with zeros to whole bytes).
    last : bool
        Whether the stream has ``tlast`` (side bit 0).
    user : tuple of (name, offset, width)
        The ``tuser`` fields; field ``name`` is at side bit ``last + offset``.
    """
    data_bits: int
    tdata_bytes: int
    last: bool
    user: tuple

    @property
    def side_bits(self):
        return int(self.last) + sum(w for _, _, w in self.user)

    @property
    def side_bytes(self):
        return -(-self.side_bits // 8)

    @property
    def beat_bytes(self):
        return self.tdata_bytes + self.side_bytes


def beat_layout(port_info):
    """The :class:`BeatLayout` of one entry of :func:`lutmix.rtl.axis.axis_ports`."""
    return BeatLayout(data_bits=port_info["data_bits"], tdata_bytes=port_info["tdata_bits"] // 8,
                      last=port_info["last"], user=tuple(tuple(u) for u in port_info["tuser"]))


def pack_beats(tdata, layout, *, last=None, user=None):
    """Beat bytes ``(beats, tdata_bytes)`` and side values to ``(beats, beat_bytes)`` bytes.

    ``last`` is a bool per beat (or None for all 0), ``user`` a ``{field: int per beat}``.
    """
    tdata = np.asarray(tdata, dtype=np.uint8).reshape(-1, layout.tdata_bytes)
    side = np.zeros(len(tdata), dtype=np.int64)
    if layout.last and last is not None:
        side |= np.asarray(last, dtype=np.int64) & 1
    for name, offset, width in layout.user:
        if user is not None and name in user:
            side |= (np.asarray(user[name], dtype=np.int64) & ((1 << width) - 1)) \
                << (int(layout.last) + offset)
    side_bytes = ((side[:, None] >> (8 * np.arange(layout.side_bytes))) & 0xFF).astype(np.uint8)
    return np.concatenate([tdata, side_bytes], axis=1)


def unpack_beats(raw, layout):
    """Invert :func:`pack_beats`: ``(tdata (beats, tdata_bytes), last, {field: values})``."""
    raw = np.frombuffer(bytes(raw), dtype=np.uint8)
    if len(raw) % layout.beat_bytes:
        raise ValueError(f"{len(raw)} bytes are not whole beats of {layout.beat_bytes} bytes")
    raw = raw.reshape(-1, layout.beat_bytes)
    tdata = raw[:, :layout.tdata_bytes]
    side = (raw[:, layout.tdata_bytes:].astype(np.int64)
            << (8 * np.arange(layout.side_bytes))).sum(axis=1)
    last = (side & 1).astype(bool) if layout.last else np.zeros(len(raw), dtype=bool)
    user = {name: (side >> (int(layout.last) + offset)) & ((1 << width) - 1)
            for name, offset, width in layout.user}
    return tdata, last, user


def baud_divisor(clock_hz, baud, *, max_error=0.02):
    """Clock cycles per UART bit, rounded to nearest, and its relative baud error.

    Raises ``ValueError`` when the error exceeds ``max_error`` (2 %: the receiver samples the
    stop bit 9.5 bits after the start edge, so both ends' errors together must stay well
    under 5 %), or the divisor is below 4.
    """
    if isinstance(baud, bool) or not isinstance(baud, int) or baud <= 0:
        raise ValueError(f"baud must be a positive integer, not {baud!r}")
    div = round(clock_hz / baud)
    if div < 4:
        raise ValueError(f"baud {baud} is too fast for a {clock_hz / 1e6:g} MHz clock "
                         f"(at least 4 cycles per bit)")
    error = clock_hz / div / baud - 1
    if abs(error) > max_error:
        good = sorted({round(clock_hz / d) for d in range(4, 4096)
                       if abs(clock_hz / d / round(clock_hz / d) - 1) < 1e-9
                       and 115200 <= clock_hz / d <= 3_000_000}, reverse=True)[:6]
        raise ValueError(f"baud {baud} is {100 * error:+.2f}% off with a {clock_hz / 1e6:g} MHz "
                         f"clock (divisor {div}; at most {100 * max_error:g}%); exact rates: "
                         + ", ".join(map(str, good)))
    return div, error


def timeout_cycles(clock_hz, seconds):
    """Cycles of a frame parser timeout of ``seconds``."""
    return max(16, math.ceil(clock_hz * seconds))
