"""The link protocol's arithmetic, the UART bit by bit, and the board tops."""

import numpy as np
import pytest
from amaranth import Module
from amaranth.sim import Simulator

from lutmix.config import PRESETS, Config
from lutmix.errors import ConfigError
from lutmix.link import (
    BeatLayout,
    baud_divisor,
    crc16,
    encode_request,
    pack_beats,
    unpack_beats,
)
from lutmix.rtl.uart import UartRx, UartTx


def test_crc16_check_value():
    assert crc16(b"123456789") == 0x29B1          # CRC-16/CCITT-FALSE's catalogue value
    assert crc16(b"") == 0xFFFF


def test_request_framing():
    frame = encode_request("READ", 2, b"\x10\x00")
    assert frame[:5] == bytes([0xA5, 0x20, 2, 2, 0])
    assert int.from_bytes(frame[-2:], "little") == crc16(frame[1:-2])


@pytest.mark.parametrize("clock, baud, div", [
    (25_000_000, 115200, 217), (25_000_000, 1_000_000, 25), (12_000_000, 115200, 104),
    (12_000_000, 1_000_000, 12), (12_000_000, 3_000_000, 4),
])
def test_baud_divisor(clock, baud, div):
    d, err = baud_divisor(clock, baud)
    assert d == div and abs(err) < 0.002


def test_baud_divisor_refuses_inexact_rates():
    with pytest.raises(ValueError) as info:
        baud_divisor(25_000_000, 3_000_000)
    assert str(info.value).startswith("baud 3000000 is +4.17% off with a 25 MHz clock "
                                      "(divisor 8; at most 2%); exact rates: 2500000, 1562500")
    with pytest.raises(ValueError, match=r"^baud 0 must|^baud must be a positive integer"):
        baud_divisor(25_000_000, 0)


def test_beats_round_trip():
    lay = BeatLayout(data_bits=12, tdata_bytes=2, last=True, user=(("mask", 0, 4), ("r", 4, 5)))
    assert lay.beat_bytes == 4
    rng = np.random.default_rng(0)
    tdata = rng.integers(0, 256, size=(7, 2)).astype(np.uint8)
    last = rng.random(7) < 0.5
    user = {"mask": rng.integers(0, 16, 7), "r": rng.integers(0, 32, 7)}
    raw = pack_beats(tdata, lay, last=last, user=user)
    t, lst, u = unpack_beats(raw.tobytes(), lay)
    np.testing.assert_array_equal(t, tdata)
    np.testing.assert_array_equal(lst, last)
    for k in user:
        np.testing.assert_array_equal(u[k], user[k])


def _uart_bits(byte, divisor, stretch=1.0):
    """Line levels per cycle of one 8N1 byte, each bit ``divisor * stretch`` cycles long."""
    levels = [0] + [(byte >> i) & 1 for i in range(8)] + [1]
    out, t = [], 0.0
    for i, level in enumerate(levels):
        end = (i + 1) * divisor * stretch
        while t < end:
            out.append(level)
            t += 1
    return out


@pytest.mark.parametrize("divisor, stretch", [(4, 1.0), (25, 1.0), (25, 1.02), (25, 0.98),
                                              (12, 1.0)])
def test_uart_rx_samples_bytes(divisor, stretch):
    dut = UartRx(divisor=divisor)
    data = [0x00, 0xFF, 0xA5, 0x5A, 0x01, 0x80] + list(np.random.default_rng(1)
                                                       .integers(0, 256, 10))
    got = []

    async def bench(ctx):
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(5)
        for b in data:
            for level in _uart_bits(int(b), divisor, stretch):
                ctx.set(dut.rx, level)
                await ctx.tick()
                if ctx.get(dut.o.valid):
                    got.append(ctx.get(dut.o.payload))
            ctx.set(dut.rx, 1)
        for _ in range(3 * divisor):
            await ctx.tick()
            if ctx.get(dut.o.valid):
                got.append(ctx.get(dut.o.payload))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert got == [int(b) for b in data]


def test_uart_tx_to_rx_loopback():
    m = Module()
    m.submodules.tx = tx = UartTx(divisor=5)
    m.submodules.rx = rx = UartRx(divisor=5)
    m.d.comb += rx.rx.eq(tx.tx)
    data = list(range(0, 256, 7)) + [255]
    got = []

    async def bench(ctx):
        for b in data:
            ctx.set(tx.i.payload, b)
            ctx.set(tx.i.valid, 1)
            await ctx.tick().until(tx.i.ready)
        ctx.set(tx.i.valid, 0)
        await ctx.tick().repeat(200)

    async def monitor(ctx):
        async for _, _, valid, payload in ctx.tick().sample(rx.o.valid, rx.o.payload):
            if valid:
                got.append(payload)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.add_process(monitor)
    sim.run_until(2e-6 * 60 * len(data) + 1e-3)
    assert got == data


def test_uart_divisor_is_checked():
    with pytest.raises(ValueError, match=r"^divisor must be an integer of at least 4, not 3$"):
        UartTx(divisor=3)


@pytest.mark.parametrize("board, config", [
    ("ulx3s-85f", Config(gemm=PRESETS["tiny"].gemm, gelu=PRESETS["gelu8"].gelu,
                         softmax=PRESETS["softmax-tiny"].softmax)),
    ("icebreaker", Config(gemm=PRESETS["ice40-w2a8"].gemm)),
])
def test_board_plan_smoke(board, config):
    """``platform.build(..., do_build=False)``: the plan has the pin constraints and a
    Yosys script, and the UART pins are the board's."""
    from lutmix.fpga.boards import TOP, board_plan
    plan, params = board_plan(config, board, baud=1_000_000)
    names = set(plan.files)
    assert {f"{TOP}.il", f"{TOP}.ys"} <= names
    constraints = plan.files[f"{TOP}.lpf" if board.startswith("ulx3s") else f"{TOP}.pcf"]
    assert "uart_0__tx" in constraints and "uart_0__rx" in constraints
    assert params.baud == 1_000_000 and params.board == board


def test_build_board_bad_baud_writes_nothing(tmp_path):
    from lutmix.fpga.boards import build_board
    with pytest.raises(ConfigError, match=r"^--baud: baud 2000000 is \+4.17% off"):
        build_board(Config(gemm=PRESETS["tiny"].gemm), "ulx3s-85f", tmp_path / "out",
                    baud=2_000_000)
    assert not (tmp_path / "out").exists()


def test_build_board_unknown_board():
    from lutmix.fpga.boards import build_board
    with pytest.raises(ConfigError, match=r"^board must be one of 'ulx3s-85f', 'icebreaker', "
                                          r"not 'de10'$"):
        build_board(Config(gemm=PRESETS["tiny"].gemm), "de10", "/nonexistent/x")


@pytest.mark.board
@pytest.mark.parametrize("board, preset", [("icebreaker", "ice40-w2a8"), ("ulx3s-85f", "w2a8")])
def test_full_bitstream(board, preset, tmp_path):
    from lutmix.fpga.boards import build_board, format_board_report
    report = build_board(PRESETS[preset], board, tmp_path / "out", baud=1_000_000)
    print(format_board_report(report))
    assert report["bitstream_bytes"] > 0
    assert (tmp_path / "out" / report["bitstream"]).stat().st_size == report["bitstream_bytes"]
    assert report["fmax_mhz"] is not None
