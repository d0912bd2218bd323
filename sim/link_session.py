"""Run host-API steps against the link top's RTL in simulation (cocotb + Verilator/Icarus).

:func:`simulate_link` generates :func:`~lutmix.rtl.link.link_top` for a config, builds it (in
the shared cache), and runs :mod:`lutmix.sim.link_tb`, where an unchanged
:class:`~lutmix.fpga.host.Device` executes the steps through a byte-stream transport. The UART
itself is not simulated here: it is checked bit by bit in the Amaranth simulator
(``tests/test_uart.py``), while a UART-level Verilator run would cost ``10 * divisor`` cycles
per byte for no further coverage of the protocol.
"""

__all__ = ["SIM_LINK", "LinkSession", "simulate_link", "link_verilog"]

import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog as amaranth_verilog

from lutmix.errors import ToolError
from lutmix.rtl.link import LinkParams, link_top

from .runner import build, run_test

TOP = "lutmix_link"
# small buffers and a short frame timeout keep simulation cheap; the host adapts to them
SIM_LINK = LinkParams(frame_bytes=256, fifo_bytes=64, timeout=3000, board="sim")


@dataclass
class LinkSession:
    """``results``: per step ``("ok", value)``, ``("error", message)`` or ``("crash",
    traceback)``; ``cycles``: simulated clock cycles; ``workdir``."""
    results: list
    cycles: int
    workdir: Path


def link_verilog(config, params=SIM_LINK):
    """Verilog of the link top of ``config`` (deterministic)."""
    return amaranth_verilog.convert(link_top(config, params), name=TOP, emit_src=False)


def simulate_link(config, steps, *, params=SIM_LINK, sim="verilator", timeout=1e-3,
                  pause=None, seed=0, workdir=None, cache_dir=None, waves=False):
    """Run ``steps`` through a :class:`~lutmix.fpga.host.Device` on the RTL.

    A step is ``("gemm", W, X[, scales, zeros])``, ``("softmax", X)``, ``("gelu", X)`` (any
    :class:`Device` method and its positional arguments, then optionally a dict of keyword
    arguments), ``("manifest",)`` or ``("raw",
    request bytes)`` (then one reply is read). ``timeout`` is the host's timeout in simulated
    seconds (1 ms = 100,000 cycles).
    """
    text = link_verilog(config, params)
    build_dir = build(text, TOP, sim=sim, waves=waves, cache_dir=cache_dir)
    workdir = (Path(workdir) if workdir is not None
               else Path(tempfile.mkdtemp(prefix="lutmix-link-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    job, result = workdir / "job.pkl", workdir / "result.pkl"
    with open(job, "wb") as f:
        pickle.dump({"steps": list(steps), "timeout": timeout, "pause": dict(pause or {}),
                     "seed": seed}, f)
    result.unlink(missing_ok=True)
    run_test(build_dir, TOP, "lutmix.sim.link_tb", sim=sim, test_dir=workdir, waves=waves,
             seed=seed, env={"LUTMIX_JOB": str(job), "LUTMIX_RESULT": str(result)})
    if not result.exists():
        raise ToolError(f"{sim}: the link bench wrote no results; see {workdir / 'sim.log'}")
    with open(result, "rb") as f:
        out = pickle.load(f)
    return LinkSession(results=out["results"], cycles=out["cycles"], workdir=workdir)
