"""The pyserial transport against a pseudo-terminal standing in for a board's UART.

A thread on the pty's master side plays the board: it parses request frames with
:mod:`lutmix.link` and answers them. The host side is the real ``Device.open`` over pyserial:
it must read the manifest, report a silent board as a timeout rather than hang, and report a
disconnected one as such.
"""
import os
import threading
import time

import pytest

from lutmix.config import PRESETS
from lutmix.errors import ConfigError
from lutmix.fpga.host import Device, DeviceError, ReplyTimeout
from lutmix.link import COMMANDS, HEADER_BYTES, SYNC_REQUEST, crc16, encode_reply
from lutmix.rtl.link import LinkParams, manifest_bytes

pytest.importorskip("serial")


class FakeBoard(threading.Thread):
    """Answers MANIFEST with the manifest of ``config``; ignores everything once ``mute``."""

    def __init__(self, fd, config):
        super().__init__(daemon=True)
        self.fd = fd
        self.manifest = manifest_bytes(config, LinkParams(board="pty"))
        self.mute = threading.Event()
        self.requests = []

    def read_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = os.read(self.fd, n - len(out))
            if not chunk:
                raise OSError("closed")
            out += chunk
        return out

    def run(self):
        try:
            while True:
                if self.read_exact(1)[0] != SYNC_REQUEST:
                    continue
                head = self.read_exact(HEADER_BYTES - 1)
                n = int.from_bytes(head[2:4], "little")
                payload = self.read_exact(n)
                crc = int.from_bytes(self.read_exact(2), "little")
                assert crc == crc16(head + payload)
                self.requests.append(head[0])
                if self.mute.is_set():
                    continue
                if head[0] == COMMANDS["MANIFEST"]:
                    reply = encode_reply("OK", COMMANDS["MANIFEST"], self.manifest)
                else:
                    reply = encode_reply("OK", head[0])
                os.write(self.fd, reply)
        except OSError:
            pass


@pytest.fixture
def board():
    master, slave = os.openpty()
    fake = FakeBoard(master, PRESETS["tiny"])
    fake.start()
    yield fake, os.ttyname(slave)
    os.close(slave)
    try:
        os.close(master)
    except OSError:
        pass


def test_manifest_and_reset_over_pyserial(board):
    fake, port = board
    dev = Device.open(port, baud=115200, timeout=2.0)
    assert dev.config.gemm == PRESETS["tiny"].gemm
    assert dev.manifest["link"]["board"] == "pty"
    dev.reset()
    assert fake.requests == [COMMANDS["MANIFEST"], COMMANDS["RESET"]]
    dev.transport.close()


def test_a_silent_board_is_a_timeout_not_a_hang(board):
    fake, port = board
    dev = Device.open(port, baud=115200, timeout=0.3)
    fake.mute.set()
    start = time.monotonic()
    with pytest.raises(DeviceError, match=r"no reply within 0\.3 s \(got 0 of 1 bytes\)"):
        dev.reset()
    assert time.monotonic() - start < 5
    dev.transport.close()


def test_a_missing_port_is_one_clear_error(tmp_path):
    with pytest.raises(DeviceError, match="cannot open the serial port"):
        Device.open(str(tmp_path / "ttyUSB9"), baud=115200, timeout=0.3)


def test_a_disconnected_board_is_one_clear_error(board):
    fake, port = board
    dev = Device.open(port, baud=115200, timeout=2.0)
    os.close(fake.fd)                                   # the cable is pulled
    start = time.monotonic()
    with pytest.raises(DeviceError, match=r"(read|write) failed \(board disconnected\?\)"):
        dev.reset()
    assert time.monotonic() - start < 5
    dev.transport.close()


class Scripted:
    """A transport in simulated time: each request is answered by the next of ``replies``;
    with ``noise``, every read returns noise bytes at once, forever."""

    name = "fake"

    def __init__(self, replies=(), noise=False):
        self.replies, self.noise = list(replies), noise
        self.buf, self.t, self.reads = b"", 0.0, 0

    def write(self, data):
        if self.replies:
            self.buf += self.replies.pop(0)

    def read(self, n, timeout):
        self.reads += 1
        if self.noise:
            self.t += 1e-3
            return b"\x00" * n
        if len(self.buf) < n:
            self.t += timeout
            raise ReplyTimeout("timeout", got=len(self.buf), wanted=n)
        out, self.buf = self.buf[:n], self.buf[n:]
        self.t += 1e-4
        return out

    def now(self):
        return self.t

    def pause(self):
        self.t += 1e-3


def _manifest_reply(config=PRESETS["tiny"]):
    return encode_reply("OK", COMMANDS["MANIFEST"], manifest_bytes(config, LinkParams(
        board="fake")))


def test_the_timeout_bounds_the_whole_reply_not_each_byte():
    # a line of endless noise: each byte arrives at once, none is a reply's sync byte
    t = Scripted(noise=True)
    with pytest.raises(DeviceError, match=r"^fake: no reply within 0\.5 s \(got 0 of 1 bytes, "
                                          r"after 5\d\d bytes that were not a reply\)"):
        Device(t, timeout=0.5)
    assert t.reads < 600


def test_replies_that_break_the_protocol():
    from lutmix.link import UNIT_IDS
    dev = Device(Scripted([_manifest_reply(), encode_reply("OK", COMMANDS["READ"], bytes(9))]),
                 timeout=1.0)
    with pytest.raises(DeviceError, match=r"^fake: protocol error: 9 result bytes in reply to a "
                                          r"READ of at most 4; is this a lutmix bitstream\?$"):
        dev._read("gemm", 4)
    assert UNIT_IDS["gemm"] == 0
    dev = Device(Scripted([_manifest_reply(), encode_reply("OK", COMMANDS["RESET"])]))
    with pytest.raises(DeviceError, match=r"^fake: protocol error: the reply to READ names "
                                          r"command 0x02"):
        dev._read("gemm", 4)
    bad = encode_reply("OK", COMMANDS["MANIFEST"], b'{"config": {"gemm": {"k": 9}}, "link": '
                                                   b'{"board": "b", "frame_bytes": 8, '
                                                   b'"fifo_bytes": 8}}')
    with pytest.raises(ConfigError, match=r"^fake: device manifest: \[gemm\] k must"):
        Device(Scripted([bad]))


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), True, "5"])
def test_timeout_must_be_positive_and_finite(timeout):
    with pytest.raises(ValueError, match=r"^timeout must be a positive, finite number of "
                                         r"seconds"):
        Device(Scripted([_manifest_reply()]), timeout=timeout)


@pytest.mark.parametrize("baud", [0, -115200, 1.5, True])
def test_baud_must_be_a_positive_integer(baud):
    with pytest.raises(ValueError, match=r"^baud must be a positive integer"):
        Device.open("/dev/null", baud=baud)
