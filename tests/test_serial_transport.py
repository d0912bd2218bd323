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
from lutmix.fpga.host import Device, DeviceError
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
