"""The cocotbext-axi pieces around a unit's AXI4-Stream ports, shared by every bench."""

__all__ = ["AxisPorts"]

import logging

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamMonitor, AxiStreamSink, AxiStreamSource

from lutmix.sim.stalls import pause_generator


class AxisPorts:
    """Starts ``aclk`` and attaches a source and a monitor to each ``s_axis_<name>`` and a
    sink to each ``m_axis_<name>``; :meth:`reset` and :meth:`cycle` drive and count the clock.

    Parameters
    ----------
    dut
        The cocotb handle of a top made by :class:`lutmix.rtl.axis.AxisTop`.
    inputs, outputs : list of str
        Stream names, e.g. ``["w", "x"]`` and ``["y"]``.
    pause : dict
        Idle-cycle probability per input and backpressure probability per output.
    seed : int
        The pause generators' seed; port ``i`` of ``order`` gets ``seed * stride + i``.
    order : list of str
        The ports in seed order (default: inputs then outputs).
    stride : int
        Seed stride (default: the number of ports).
    period_ns : int
        Clock period.
    """

    def __init__(self, dut, *, inputs, outputs, pause, seed, order=None, stride=None,
                 period_ns=10):
        self.dut, self.period_ns = dut, period_ns
        cocotb.start_soon(Clock(dut.aclk, period_ns, unit="ns").start())
        clk, rst = dut.aclk, dut.aresetn

        def bus(prefix):
            return AxiStreamBus.from_prefix(dut, prefix)

        kw = dict(reset_active_level=False)
        self.sources = {n: AxiStreamSource(bus(f"s_axis_{n}"), clk, rst, **kw) for n in inputs}
        self.monitors = {n: AxiStreamMonitor(bus(f"s_axis_{n}"), clk, rst, **kw)
                         for n in inputs}
        self.sinks = {n: AxiStreamSink(bus(f"m_axis_{n}"), clk, rst, **kw) for n in outputs}
        ports = {**self.sources, **self.sinks}
        order = list(order or [*inputs, *outputs])
        stride = stride or len(order)
        for i, name in enumerate(order):
            prob = float(pause.get(name, 0.0))
            if prob > 0 and name in ports:
                ports[name].set_pause_generator(pause_generator(prob, seed * stride + i))
        for port in [*ports.values(), *self.monitors.values()]:
            port.log.setLevel(logging.WARNING)      # one line per frame is too much for big jobs

    async def reset(self):
        """Hold ``aresetn`` low for 4 cycles, then release it."""
        self.dut.aresetn.value = 0
        await ClockCycles(self.dut.aclk, 4)
        self.dut.aresetn.value = 1
        await RisingEdge(self.dut.aclk)

    def cycle(self):
        """The current clock cycle."""
        return int(get_sim_time(unit="ns") // self.period_ns)
