"""cocotb bench of the host link: the host API itself, run against the RTL.

Runs inside the simulator on the :func:`~lutmix.rtl.link.link_top` of a config. The host
passes a pickled session in ``LUTMIX_JOB`` (the config, the link parameters and a list of
steps) and reads the results from ``LUTMIX_RESULT``. The steps run in a cocotb bridge thread
through an unchanged :class:`~lutmix.fpga.host.Device`, whose transport
(:class:`CocotbTransport`) writes request bytes with a cocotbext-axi ``AxiStreamSource`` on
``s_axis_rx`` (with random idle cycles) and reads reply bytes from an ``AxiStreamSink`` on
``m_axis_tx`` (with random backpressure). Transport time is simulated time, so the host's
timeouts are exercised for real, in clock cycles.
"""

__all__ = ["CocotbTransport", "link_test"]

import os
import pickle
import traceback

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from lutmix.errors import LutmixError
from lutmix.sim.stalls import pause_generator

PERIOD_NS = 10


class CocotbTransport:
    """Bytes to and from the RTL's streams; ``read`` times out in simulated time."""

    name = "rtl"
    clock = " of simulated time"        # for the Device's timeout message

    def __init__(self, dut, source, sink):
        self._dut = dut
        self._source = source
        self._sink = sink
        self._buf = bytearray()

    @resume
    async def _write(self, data):
        await self._source.send(AxiStreamFrame(bytes(data)))
        await self._source.wait()

    @resume
    async def _fill(self, n, cycles):
        waited = 0
        while len(self._buf) < n and waited < cycles:
            while not self._sink.empty():
                self._buf += bytes(self._sink.recv_nowait().tdata)
            if len(self._buf) >= n:
                break
            await RisingEdge(self._dut.aclk)
            waited += 1

    @resume
    async def _idle(self, cycles):
        await ClockCycles(self._dut.aclk, cycles)

    def write(self, data):
        self._write(data)

    def read(self, n, timeout):
        from lutmix.fpga.host import ReplyTimeout
        self._fill(n, int(timeout * 1e9 / PERIOD_NS))
        if len(self._buf) < n:
            got = len(self._buf)
            raise ReplyTimeout(f"rtl: no reply within {timeout:g} s of simulated time (got "
                               f"{got} of {n} bytes)", got=got, wanted=n)
        out, self._buf = bytes(self._buf[:n]), self._buf[n:]
        return out

    def now(self):
        return get_sim_time(unit="ns") * 1e-9

    def pause(self):
        self._idle(20)


def _run_steps(transport, session):
    from lutmix.fpga.host import Device
    dev = Device(transport, timeout=session["timeout"])
    out = []
    for step in session["steps"]:
        kind, args = step[0], step[1:]
        try:
            if kind == "raw":                       # raw request bytes, then one reply
                data, = args
                transport.write(data)
                out.append(("ok", dev.reply()))
            elif kind == "manifest":
                out.append(("ok", dev.manifest))
            else:
                kwargs = args[-1] if args and isinstance(args[-1], dict) else {}
                args = args[:-1] if kwargs else args
                out.append(("ok", getattr(dev, kind)(*args, **kwargs)))
        except LutmixError as e:
            out.append(("error", f"{type(e).__name__}: {e}"))
        except Exception:                          # a bench bug: keep the traceback
            out.append(("crash", traceback.format_exc()))
    return out


@cocotb.test()
async def link_test(dut):
    with open(os.environ["LUTMIX_JOB"], "rb") as f:
        session = pickle.load(f)
    cocotb.start_soon(Clock(dut.aclk, PERIOD_NS, unit="ns").start())
    kw = dict(reset_active_level=False)
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_rx"), dut.aclk,
                             dut.aresetn, **kw)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_tx"), dut.aclk, dut.aresetn,
                         **kw)
    pause = session.get("pause", {})
    for i, (name, port) in enumerate([("rx", source), ("tx", sink)]):
        if pause.get(name, 0) > 0:
            port.set_pause_generator(pause_generator(pause[name], session.get("seed", 0) + i))
    dut.aresetn.value = 0
    await ClockCycles(dut.aclk, 4)
    dut.aresetn.value = 1
    await ClockCycles(dut.aclk, 2)
    start = get_sim_time(unit="ns")
    results = await bridge(_run_steps)(CocotbTransport(dut, source, sink), session)
    cycles = int((get_sim_time(unit="ns") - start) // PERIOD_NS)
    with open(os.environ["LUTMIX_RESULT"], "wb") as f:
        pickle.dump({"results": results, "cycles": cycles}, f)
