"""``lutmix build-board``: a bitstream of a config's units behind the UART host link.

================= =================== =========== ======= ============ ============
board             device (target)     clock       UART    frame buffer result buffer
================= =================== =========== ======= ============ ============
``ulx3s-85f``     ECP5 LFE5U-85F      25 MHz      FT231X  4096 bytes   16384 bytes/unit
``icebreaker``    iCE40 UP5K          12 MHz      FT2232H 512 bytes    1024 bytes/unit
================= =================== =========== ======= ============ ============

Platforms come from amaranth-boards; the tools are YoWASP's (:mod:`lutmix.fpga.tools`), run
with their arguments directly, so no environment variable is needed. The design
(:class:`BoardTop`) is a UART (:mod:`lutmix.rtl.uart`; divisor rounded to nearest, at most 2 %
off: :func:`lutmix.link.baud_divisor`), a 64-byte receive FIFO and the link core
(:class:`lutmix.rtl.link.LinkCore`) with the config's units, all in the board clock's domain.

Exact baud rates: 25 MHz gives 115200 (+0.01 %), 1 Mbaud, 1.25, 1.5625, 2.5 and 3.125 Mbaud
(3 Mbaud is 4.2 % off and refused); 12 MHz gives 115200 (+0.16 %), 1, 1.2, 1.5, 2 and 3 Mbaud.

The build: Amaranth writes the build plan; Yosys synthesizes it and its cell counts are checked
against the device (:func:`lutmix.fpga.synth` 's fit check) *before* place and route, so a
configuration that does not fit stops there with one line; then nextpnr (timing target: the
board clock, ``--timing-allow-fail`` so the achieved Fmax is reported) and ``ecppack`` /
``icepack``. ``DIR/report.json`` records the bitstream size, resources and Fmax against the
board clock.
"""

__all__ = ["Board", "BOARDS", "BoardTop", "board_plan", "build_board", "format_board_report"]

import json
import time
from dataclasses import asdict, dataclass
from importlib import metadata

from amaranth import Module
from amaranth.lib import fifo, io
from amaranth.lib.wiring import Elaboratable

from lutmix import __version__
from lutmix.errors import ConfigError, ToolError
from lutmix.link import baud_divisor, timeout_cycles
from lutmix.rtl.link import LinkCore, LinkParams
from lutmix.rtl.uart import UartRx, UartTx

from .synth import _check_fit, _first_line, _overflow_from_log, _read_nextpnr, write_staged
from .targets import count_cells, target
from .tools import TOOLS, run_tool, tool_versions

TOP = "lutmix_board"
FRAME_TIMEOUT_S = 0.1           # a frame whose bytes stop for 100 ms is cut short


@dataclass(frozen=True)
class Board:
    """One board: its amaranth-boards platform, target, clock and link buffer sizes."""
    name: str
    platform: str               # "module:Class" in amaranth_boards
    target: str                 # lutmix.fpga.targets name
    clock_hz: int
    frame_bytes: int
    fifo_bytes: int

    def make_platform(self):
        import importlib
        module, cls = self.platform.split(":")
        return getattr(importlib.import_module(f"amaranth_boards.{module}"), cls)()


BOARDS = {b.name: b for b in [
    Board("ulx3s-85f", "ulx3s:ULX3S_85F_Platform", "ecp5-85k", 25_000_000, 4096, 16384),
    Board("icebreaker", "icebreaker:ICEBreakerPlatform", "ice40-up5k", 12_000_000, 512, 1024),
]}


def board(name):
    if not isinstance(name, str) or name not in BOARDS:
        raise ConfigError(f"board must be one of {', '.join(map(repr, BOARDS))}, not {name!r}")
    return BOARDS[name]


def link_params(b, baud):
    """The :class:`LinkParams` of board ``b`` at ``baud`` (``ConfigError`` if the rate is
    not within 2 % with the board's clock)."""
    try:
        baud_divisor(b.clock_hz, baud)
    except ValueError as e:
        raise ConfigError(f"--baud: {e}") from None
    return LinkParams(frame_bytes=b.frame_bytes, fifo_bytes=b.fifo_bytes,
                      timeout=timeout_cycles(b.clock_hz, FRAME_TIMEOUT_S), board=b.name,
                      clock_hz=b.clock_hz, baud=baud)


class BoardTop(Elaboratable):
    """UART pins -> receive FIFO -> :class:`LinkCore` (with the units) -> UART pins.

    Latency and throughput are the UART's: one byte per ``10 * divisor`` cycles each way.
    """

    def __init__(self, config, params):
        self._divisor, _ = baud_divisor(params.clock_hz, params.baud)
        self._core = LinkCore(config, params)

    def elaborate(self, platform):
        m = Module()
        uart = platform.request("uart", 0, dir="-")
        m.submodules.rx_pin = rx_pin = io.Buffer("i", uart.rx)
        m.submodules.tx_pin = tx_pin = io.Buffer("o", uart.tx)
        m.submodules.rx = rx = UartRx(divisor=self._divisor)
        m.submodules.tx = tx = UartTx(divisor=self._divisor)
        m.submodules.rx_fifo = q = fifo.SyncFIFOBuffered(width=8, depth=64)
        m.submodules.core = core = self._core
        m.d.comb += [
            rx.rx.eq(rx_pin.i), tx_pin.o.eq(tx.tx),
            q.w_data.eq(rx.o.payload), q.w_en.eq(rx.o.valid),
            core.rx.payload.eq(q.r_data), core.rx.valid.eq(q.r_rdy), q.r_en.eq(core.rx.ready),
            tx.i.payload.eq(core.tx.payload.data), tx.i.valid.eq(core.tx.valid),
            core.tx.ready.eq(tx.i.ready),
        ]
        return m


def board_plan(config, board_name, *, baud=115200):
    """Amaranth's build plan (``platform.build(..., do_build=False)``) and the link
    parameters."""
    b = board(board_name)
    params = link_params(b, baud)
    plan = b.make_platform().build(BoardTop(config, params), name=TOP, do_build=False)
    return plan, params


def _run(tool, args, cwd, log, steps):
    rc, seconds = run_tool(tool, args, cwd=cwd, log=cwd / log)
    steps[tool] = {"seconds": round(seconds, 3), "log": log}
    if rc != 0:
        return _first_line(cwd / log, r"ERROR") or f"exit status {rc}"
    return None


def _build(config, b, params, work, pnr):
    tgt = target(b.target)
    steps = {}
    start = time.monotonic()
    plan = b.make_platform().build(BoardTop(config, params), name=TOP, do_build=False)
    plan.extract(work)
    script = (work / f"{TOP}.ys").read_text().rstrip("\n") + "\ntee -q -o stat.json stat -json\n"
    (work / f"{TOP}.ys").write_text(script)
    steps["generate"] = {"seconds": round(time.monotonic() - start, 3)}
    error = _run("yosys", ["-q", "-l", f"{TOP}.rpt", f"{TOP}.ys"], work, "yosys.log", steps)
    if error:
        raise ToolError(f"yosys failed on the {b.name} top: {error}")
    stat = json.loads((work / "stat.json").read_text())
    cells = count_cells(tgt.family, stat["design"]["num_cells_by_type"])
    _check_fit(f"this config on {b.name}", tgt, cells)
    report = {
        "lutmix_version": __version__, "board": b.name, "device": tgt.device,
        "target": tgt.name, "link": asdict(params), "config": config.to_dict(),
        "cells": cells, "packed": None, "fmax_mhz": None, "clock_mhz": b.clock_hz / 1e6,
        "timing_met": None, "bitstream": None, "bitstream_bytes": None, "steps": steps,
    }
    if not pnr:
        report["tools"] = tool_versions(["yosys"])
        return report
    freq = f"{b.clock_hz / 1e6:g}"
    common = ["--json", f"{TOP}.json", "--freq", freq, "--timing-allow-fail",
              "--report", "nextpnr.json", *tgt.nextpnr_args]
    if tgt.family == "ecp5":
        args = common + ["--lpf", f"{TOP}.lpf", "--textcfg", f"{TOP}.config"]
        pack = ("ecppack", ["--compress", "--input", f"{TOP}.config", "--bit", f"{TOP}.bit"])
        bitstream = f"{TOP}.bit"
    else:
        args = common + ["--pcf", f"{TOP}.pcf", "--asc", f"{TOP}.asc"]
        pack = ("icepack", [f"{TOP}.asc", f"{TOP}.bin"])
        bitstream = f"{TOP}.bin"
    error = _run(tgt.nextpnr, args, work, "nextpnr.log", steps)
    if error:
        overflow = _overflow_from_log(work / "nextpnr.log")
        if overflow is not None:
            raise ToolError(f"this config does not fit {b.name}: it needs {overflow[1]} "
                            f"{overflow[0]}, the device has {overflow[2]}")
        raise ToolError(f"{tgt.nextpnr} failed on the {b.name} top: {error}")
    error = _run(pack[0], pack[1], work, "pack.log", steps)
    if error:
        raise ToolError(f"{pack[0]} failed: {error}")
    _, packed, fmax = _read_nextpnr(work / "nextpnr.json", tgt.family)
    report.update({
        "packed": packed,
        "fmax_mhz": None if fmax is None else round(fmax, 2),
        "timing_met": None if fmax is None else fmax >= b.clock_hz / 1e6,
        "bitstream": bitstream,
        "bitstream_bytes": (work / bitstream).stat().st_size,
        "tools": {**tool_versions(["yosys", tgt.nextpnr]),
                  pack[0]: {"package": f"{TOOLS[pack[0]][0]} "
                                       f"{metadata.version(TOOLS[pack[0]][0])}"}},
    })
    return report


def build_board(config, board_name, outdir, *, baud=115200, pnr=True):
    """Build the bitstream of ``config`` for ``board_name`` into ``outdir``; returns the
    report (also written to ``outdir/report.json``). Work happens in a staging directory and
    only a complete build is moved into ``outdir``."""
    b = board(board_name)
    params = link_params(b, baud)
    if config.gemm is None and config.softmax is None and config.gelu is None:
        raise ConfigError("a board needs at least one unit: [gemm], [softmax] or [gelu]")
    return write_staged(outdir, "board", lambda stage: _build(config, b, params, stage, pnr))


def format_board_report(report):
    """The printed summary of a board build."""
    c = report["cells"]
    lines = [f"{report['board']} ({report['device']}), link {report['link']['baud']} baud, "
             f"clock {report['clock_mhz']:g} MHz",
             f"  synthesis: {c['lut4']} LUT4, {c['ff']} FF, {c['carry']} carry, {c['dsp']} DSP, "
             f"{c['bram']} BRAM" + (f", {c['spram']} SPRAM" if c.get("spram") else "")]
    p = report["packed"]
    if p:
        lines.append(f"  placed: {p['logic_cells']} / {p['logic_cells_available']} logic cells, "
                     f"{p.get('bram', 0)} / {p.get('bram_available', 0)} BRAM, "
                     f"{p.get('dsp', 0)} / {p.get('dsp_available', 0)} DSP")
        status = "met" if report["timing_met"] else "MISSED"
        lines.append(f"  Fmax {report['fmax_mhz']:.2f} MHz vs board clock "
                     f"{report['clock_mhz']:g} MHz: {status}")
        lines.append(f"  bitstream {report['bitstream']}: {report['bitstream_bytes']:,} bytes")
    else:
        lines.append("  synthesis only: no placement, no bitstream")
    steps = ", ".join(f"{k} {v['seconds']:.1f} s" for k, v in report["steps"].items())
    lines.append(f"  time: {steps}")
    return "\n".join(lines)
