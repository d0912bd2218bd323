"""The host API: run GEMM, softmax and GELU on a board (or its RTL in simulation).

>>> dev = Device.open("/dev/ttyUSB0", baud=1_000_000)     # doctest: +SKIP
>>> y = dev.gemm(W, X)                                     # doctest: +SKIP

A :class:`Device` speaks the framed protocol of :mod:`lutmix.link` over a *transport* with
``write(data)``, ``read(n, timeout)`` (exactly ``n`` bytes or :class:`DeviceError`),
``now()`` and ``pause()``. :class:`SerialTransport` is pyserial; the simulation transport
(:mod:`lutmix.sim.link_tb`) drives the RTL's byte streams in cocotb.

It learns the design from the device itself (the ``MANIFEST`` command gives the config and the
buffer sizes), tiles a GEMM exactly as ``lutmix run gemm`` does (:func:`lutmix.sim.gemm_run.
gemm_job`, :func:`~lutmix.sim.gemm_run.assemble`), and keeps the results it has asked for
within the result buffer, so the device never stalls on a full buffer. Every request waits for
its reply; a missing reply, a bad reply CRC, an error status or a reply that breaks the
protocol (a manifest that is not UTF-8 JSON or lacks keys, more result bytes than asked for)
raises :class:`DeviceError` with one line, and results are read until every expected byte has
arrived or the timeout expires (never returned short). The timeout bounds each whole reply, so
a line that only ever sends noise ends in a timeout too.
"""

__all__ = ["Device", "DeviceError", "ReplyTimeout", "SerialTransport"]

import json
import math
import time

import numpy as np

from lutmix import words
from lutmix.config import parse_config
from lutmix.errors import ToolError
from lutmix.link import (
    COMMANDS,
    HEADER_BYTES,
    STATUS_NAMES,
    STREAM_COMMANDS,
    SYNC_REPLY,
    UNIT_IDS,
    beat_layout,
    crc16,
    encode_request,
    pack_beats,
    unpack_beats,
)

COMMAND_NAMES = {v: k for k, v in COMMANDS.items()}


class DeviceError(ToolError):
    """The device did not answer, answered with an error, or the link broke."""


class ReplyTimeout(DeviceError):
    """A transport's ``read`` ran out of time: ``got`` of the ``wanted`` bytes arrived."""

    def __init__(self, message, *, got, wanted):
        super().__init__(message)
        self.got = got
        self.wanted = wanted


def _serial_errors():
    """What pyserial raises when the port goes away (termios's error on POSIX is not an
    OSError)."""
    import serial
    errors = (serial.SerialException, OSError)
    try:
        import termios
    except ImportError:
        return errors
    return errors + (termios.error,)


class SerialTransport:
    """pyserial to a board's UART (8N1, no flow control)."""

    def __init__(self, port, *, baud):
        import serial
        try:
            self._serial = serial.Serial(port, baudrate=baud, timeout=0.05, write_timeout=5)
        except (serial.SerialException, OSError, ValueError) as e:
            raise DeviceError(f"{port}: cannot open the serial port: {e}") from None
        self.name = port

    def write(self, data):
        try:
            self._serial.write(bytes(data))
            self._serial.flush()
        except _serial_errors() as e:
            raise DeviceError(f"{self.name}: write failed (board disconnected?): {e}") from None

    def read(self, n, timeout):
        out = bytearray()
        deadline = time.monotonic() + timeout
        while len(out) < n:
            try:
                chunk = self._serial.read(n - len(out))
            except _serial_errors() as e:
                raise DeviceError(f"{self.name}: read failed (board disconnected?): "
                                  f"{e}") from None
            out += chunk
            if len(out) < n and time.monotonic() > deadline:
                raise ReplyTimeout(f"{self.name}: no reply within {timeout:g} s (got {len(out)} "
                                   f"of {n} bytes); is the board programmed and the baud right?",
                                   got=len(out), wanted=n)
        return bytes(out)

    def now(self):
        return time.monotonic()

    def pause(self):
        time.sleep(0.001)

    def close(self):
        self._serial.close()


class Device:
    """A lutmix bitstream behind a transport.

    Parameters
    ----------
    transport
        An object with ``write``, ``read``, ``now`` and ``pause`` (see the module).
    timeout : float
        Seconds (transport time) to wait for each whole reply, or for results; positive and
        finite.
    """

    def __init__(self, transport, *, timeout=5.0):
        Device._check_timeout(timeout)
        self.transport = transport
        self.timeout = timeout
        self.name = getattr(transport, "name", "device")
        self.manifest = self._read_manifest()
        self.config = parse_config(self.manifest["config"], f"{self.name}: device manifest")
        self.link = self.manifest["link"]
        self._layouts = {}
        from lutmix.rtl.link import link_units
        for section, top in link_units(self.config).items():
            self._layouts[section] = {name: beat_layout(info) for name, info in top.ports.items()}

    @classmethod
    def open(cls, port, *, baud=115200, timeout=5.0):
        """A board on serial port ``port``."""
        if isinstance(baud, bool) or not isinstance(baud, int) or baud <= 0:
            raise ValueError(f"baud must be a positive integer, not {baud!r}")
        Device._check_timeout(timeout)
        return cls(SerialTransport(port, baud=baud), timeout=timeout)

    @staticmethod
    def _check_timeout(timeout):
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
                or not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive, finite number of seconds, "
                             f"not {timeout!r}")

    def _protocol(self, what):
        return DeviceError(f"{self.name}: protocol error: {what}; is this a lutmix bitstream?")

    def _read_manifest(self):
        data = self.request("MANIFEST", 0)
        try:
            manifest = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise self._protocol("the MANIFEST reply is not UTF-8 JSON") from None
        if not isinstance(manifest, dict):
            raise self._protocol("the MANIFEST reply is not a JSON object")
        link = manifest.get("link")
        if not isinstance(manifest.get("config"), dict) or not isinstance(link, dict):
            missing = "config" if not isinstance(manifest.get("config"), dict) else "link"
            raise self._protocol(f"the manifest has no {missing!r} object")
        for key in ("frame_bytes", "fifo_bytes"):
            value = link.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise self._protocol(f"the manifest's link.{key} is not a positive integer")
        if not isinstance(link.get("board"), str):
            raise self._protocol("the manifest's link.board is not a string")
        return manifest

    # -- frames --------------------------------------------------------------------------
    def send(self, command, unit, payload=b""):
        """Write one request frame (no wait)."""
        self.transport.write(encode_request(command, unit, payload))

    def reply(self):
        """Read one reply frame: ``(status name, command code, payload)``.

        Bytes before the sync byte are skipped; the whole reply, skipped bytes included, must
        arrive within ``timeout`` seconds (transport time), else :class:`DeviceError`.
        """
        t = self.transport
        deadline = t.now() + self.timeout
        noise = 0

        def read(n):
            left = deadline - t.now()
            try:
                if left <= 0:
                    raise ReplyTimeout("deadline", got=0, wanted=n)
                return t.read(n, left)
            except ReplyTimeout as e:
                after = f", after {noise} bytes that were not a reply" if noise else ""
                raise DeviceError(f"{self.name}: no reply within {self.timeout:g} s"
                                  f"{getattr(t, 'clock', '')} (got {e.got} of {e.wanted} bytes"
                                  f"{after}); is the board programmed and the baud right?") \
                    from None

        while True:
            b = read(1)
            if b[0] == SYNC_REPLY:
                break
            noise += 1
        head = read(HEADER_BYTES - 1)
        n = int.from_bytes(head[2:4], "little")
        payload = read(n) if n else b""
        crc = int.from_bytes(read(2), "little")
        if crc != crc16(head + payload):
            raise DeviceError(f"{self.name}: reply with a bad CRC (0x{crc:04x}, computed "
                              f"0x{crc16(head + payload):04x}); the link is corrupting data")
        status = STATUS_NAMES.get(head[0], f"0x{head[0]:02x}")
        return status, head[1], payload

    def request(self, command, unit, payload=b""):
        """Send a request and return its reply's payload; :class:`DeviceError` unless OK."""
        self.send(command, unit, payload)
        status, echoed, data = self.reply()
        if status != "OK":
            raise DeviceError(f"{self.name}: device replied {status} to {command} (unit {unit})")
        if echoed != COMMANDS[command]:
            raise self._protocol(f"the reply to {command} names command 0x{echoed:02x}")
        return data

    def reset(self):
        """Reset every unit and empty the result buffers."""
        self.request("RESET", 0)

    # -- streams -------------------------------------------------------------------------
    def _unit(self, section):
        if section not in self._layouts:
            raise DeviceError(f"the bitstream has no [{section}] unit (it has "
                              f"{', '.join(f'[{s}]' for s in self._layouts)})")
        return UNIT_IDS[section]

    def _push(self, section, stream, beats):
        """Send beat bytes ``(beats, beat_bytes)`` to a unit's input stream in frames."""
        command = next(c for c, s in STREAM_COMMANDS.items() if s == stream)
        per = self._layouts[section][stream].beat_bytes
        step = max(1, self.link["frame_bytes"] // per)
        for i in range(0, len(beats), step):
            self.request(command, UNIT_IDS[section], beats[i:i + step].tobytes())

    def _read(self, section, nbytes):
        """Exactly ``nbytes`` of results from a unit's buffer (polling until they are there)."""
        out = bytearray()
        start = self.transport.now()
        while len(out) < nbytes:
            want = min(nbytes - len(out), 0xFFFF)
            got = self.request("READ", UNIT_IDS[section], want.to_bytes(2, "little"))
            if len(got) > want:
                raise self._protocol(f"{len(got)} result bytes in reply to a READ of at most "
                                     f"{want}")
            out += got
            if got:
                start = self.transport.now()
            else:
                if self.transport.now() - start > self.timeout:
                    raise DeviceError(f"{section}: got {len(out)} of {nbytes} result bytes "
                                      f"within {self.timeout:g} s")
                self.transport.pause()
        return bytes(out)

    def _output(self, section):
        return next(name for name in self._layouts[section] if name in ("y", "p"))

    def _run(self, section, batches):
        """Push ``[(stream, beats, result bytes)]`` in order, reading results before the
        buffer could overflow; returns all result bytes."""
        cap = self.link["fifo_bytes"]
        out, pending = bytearray(), 0
        for stream, beats, result in batches:
            if result > cap:
                raise DeviceError(f"{section}: one step gives {result} result bytes, more than "
                                  f"the bitstream's {cap}-byte result buffer")
            if result and pending + result > cap:
                out += self._read(section, pending)
                pending = 0
            self._push(section, stream, beats)
            pending += result
        out += self._read(section, pending)
        return bytes(out)

    # -- units ---------------------------------------------------------------------------
    def gemm(self, W, X, scales=None, zeros=None):
        """``X @ W.T`` on the GEMM engine (int64, or float32 with ``group_size``)."""
        from lutmix.gemm_spec import gemm_spec
        from lutmix.operands import check_gemm_operands, check_scales
        from lutmix.sim.gemm_run import assemble, gemm_job
        self._unit("gemm")
        cfg = self.config.gemm
        W, X = check_gemm_operands(W, X, cfg)
        if cfg.dequant or scales is not None or zeros is not None:
            scales, zeros = check_scales(scales, zeros, cfg, W.shape[0], X.shape[1])
        spec = gemm_spec(cfg)
        job, plan = gemm_job(cfg, W, X, scales, zeros)
        lay = self._layouts["gemm"]
        y_bytes = cfg.m * lay["y"].beat_bytes
        w_frames, x_frames = job.frames("w"), job.frames("x")
        s_frames = job.frames("s") if cfg.dequant else [None] * len(w_frames)
        batches, wi, new_pass = [], 0, True
        for beats, release in zip(x_frames, job.x_release):
            if new_pass:
                wb = w_frames[wi]
                batches.append(("w", pack_beats(wb, lay["w"], last=_last(len(wb))), 0))
                if s_frames[wi] is not None:
                    sb = s_frames[wi]
                    batches.append(("s", pack_beats(sb, lay["s"], last=_last(len(sb))), 0))
                wi += 1
            n = len(beats)
            batches.append(("x", pack_beats(beats, lay["x"], last=_last(n),
                                            user={"release": np.full(n, int(release))}),
                            y_bytes))
            new_pass = release
        raw = self._run("gemm", batches)
        tdata, _, _ = unpack_beats(raw, lay["y"])
        tiles = words.unpack_outputs(tdata, spec).reshape(-1, cfg.m, cfg.n)
        return assemble(tiles, plan, cfg)

    def softmax(self, X, mask=None, *, raw=False):
        """Row softmax of ``X * in_scale``: float64 probabilities (``raw``: the words)."""
        from lutmix import softmax_words
        from lutmix.operands import check_softmax_operands
        from lutmix.softmax_math import softmax_spec
        self._unit("softmax")
        cfg = self.config.softmax
        X, mask = check_softmax_operands(X, mask, cfg)
        spec = softmax_spec(cfg)
        lay = self._layouts["softmax"]
        batches = []
        for r in range(X.shape[0]):
            beats, user = softmax_words.pack_row(X[r], mask[r], spec)
            batches.append(("x", pack_beats(beats, lay["x"], last=_last(len(beats)),
                                            user={"mask": user}),
                            len(beats) * lay["p"].beat_bytes))
        tdata, _, _ = unpack_beats(self._run("softmax", batches), lay["p"])
        L = X.shape[1]
        w = softmax_words.unpack_words(tdata, spec).reshape(X.shape[0], -1)[:, :L]
        return w if raw else w / float(1 << spec.frac_bits)

    def gelu(self, X, *, raw=False):
        """GELU / SiLU of every word of ``X``: float64 (``raw``: the output words)."""
        from lutmix.gelu_math import gelu_spec, unpack_words
        from lutmix.sim.gelu_run import check_gelu_input, gelu_job
        self._unit("gelu")
        cfg = self.config.gelu
        X = check_gelu_input(X, cfg)
        spec = gelu_spec(cfg)
        lay = self._layouts["gelu"]
        per = max(1, min(self.link["frame_bytes"] // lay["x"].beat_bytes,
                         self.link["fifo_bytes"] // lay["y"].beat_bytes))
        job = gelu_job(cfg, X, frame_beats=per)
        batches = [("x", pack_beats(f, lay["x"], last=_last(len(f))),
                    len(f) * lay["y"].beat_bytes) for f in job.frames()]
        tdata, _, _ = unpack_beats(self._run("gelu", batches), lay["y"])
        w = unpack_words(tdata, spec.out_lane_bits).ravel()[:X.size].reshape(X.shape)
        return w if raw else np.ldexp(w.astype(np.float64), -spec.out_frac)


def _last(n):
    last = np.zeros(n, dtype=bool)
    last[-1] = True
    return last

