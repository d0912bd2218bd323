"""cocotb bench for the GELU / SiLU unit: driver, monitor, model and scoreboard.

Runs inside the simulator. The host passes a :class:`~lutmix.sim.gelu_job.GeluJob` file in
``LUTMIX_JOB`` and reads the results from ``LUTMIX_RESULT``:

* driver: cocotbext-axi ``AxiStreamSource`` on ``s_axis_x``, with random idle cycles;
* monitor: ``AxiStreamMonitor`` on ``s_axis_x`` (what the unit accepted), and an
  ``AxiStreamSink`` on ``m_axis_y`` with random backpressure;
* model: :class:`~lutmix.sim.gelu_model.GeluModel` predicts the output frame of each accepted
  input frame with the golden model;
* scoreboard: :class:`~lutmix.sim.scoreboard.Scoreboard` pairs predictions with output frames
  in order, so a lost, duplicated, reordered or misframed word fails.
"""

__all__ = ["GeluTB", "gelu_job"]

import json
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import AxiStreamFrame

from lutmix.gelu_math import pack_words, unpack_words
from lutmix.sim.axis_ports import AxisPorts
from lutmix.sim.gelu_job import GeluJob
from lutmix.sim.gelu_model import GeluModel, compare_frames
from lutmix.sim.scoreboard import Scoreboard

PERIOD_NS = 10
KEEP_MISMATCHES = 4


class GeluTB:
    """Clock, reset and the AXI4-Stream pieces around one unit."""

    def __init__(self, dut, job):
        self.dut = dut
        self.job = job
        self.spec = job.spec
        axis = AxisPorts(dut, inputs=["x"], outputs=["y"], pause=job.pause, seed=job.seed,
                         stride=3, period_ns=PERIOD_NS)
        self.reset = axis.reset
        self.cycle = axis.cycle
        self.x_source, self.x_monitor = axis.sources["x"], axis.monitors["x"]
        self.y_sink = axis.sinks["y"]
        self.model = GeluModel(self.spec)
        self.scoreboard = Scoreboard(compare_frames)
        self.expected_by_index = {}

    def beats(self, frame, lane_bits):
        return np.frombuffer(bytes(frame.tdata), dtype=np.uint8).reshape(
            -1, self.spec.lanes * lane_bits // 8)

    async def drive(self):
        for beats in self.job.frames():
            await self.x_source.send(AxiStreamFrame(beats.tobytes()))

    async def watch_inputs(self):
        index = 0
        while True:
            frame = await self.x_monitor.recv()
            expected = self.model.frame(self.beats(frame, self.spec.in_lane_bits))
            tag = self.job.x_tags[index] if index < len(self.job.x_tags) else f"frame {index}"
            self.expected_by_index[index] = expected
            self.scoreboard.expect(expected, tag)
            index += 1

    def frame_timeout_cycles(self):
        most = max(self.job.x_lens)
        return 50 * (most + self.spec.latency) + 10_000


@cocotb.test()
async def gelu_job(dut):
    """Stream a job, check every output frame, and record results and the cycle count."""
    job = GeluJob.load(os.environ["LUTMIX_JOB"])
    tb = GeluTB(dut, job)
    await tb.reset()
    start = tb.cycle()
    cocotb.start_soon(tb.watch_inputs())
    cocotb.start_soon(tb.drive())

    received, bad_framing, last_cycle = [], 0, start
    timeout = tb.frame_timeout_cycles() * PERIOD_NS
    for index in range(len(job.x_lens)):
        try:
            frame = await with_timeout(tb.y_sink.recv(), timeout, "ns")
        except TimeoutError:
            break
        last_cycle = tb.cycle()
        words = unpack_words(tb.beats(frame, tb.spec.out_lane_bits), tb.spec.out_lane_bits)
        if len(words) != job.x_lens[index]:
            bad_framing += 1
        received.append(words)
        tb.scoreboard.receive(words)
    # anything more would be a duplicate
    await ClockCycles(dut.aclk, 4 * tb.spec.latency + 20)
    while not tb.y_sink.empty():
        frame = tb.y_sink.recv_nowait()
        tb.scoreboard.receive(unpack_words(tb.beats(frame, tb.spec.out_lane_bits),
                                           tb.spec.out_lane_bits))

    summary = tb.scoreboard.finish()
    for mismatch in summary["mismatches"][:KEEP_MISMATCHES]:
        i = mismatch["index"]
        expected = tb.expected_by_index.get(i)
        if i < len(received) and expected is not None:
            mismatch["inputs"] = expected[0].ravel()[:16].tolist()
            mismatch["expected_words"] = expected[1].ravel()[:16].tolist()
            mismatch["actual_words"] = received[i].ravel()[:16].tolist()
    summary.update({
        "frames_in": len(job.x_lens),
        "frames_out": len(received),
        "bad_framing": bad_framing,
        "cycles": last_cycle - start,
        "passed": tb.scoreboard.passed and bad_framing == 0,
    })
    y_bytes = tb.spec.lanes * tb.spec.out_lane_bits // 8
    y = (np.concatenate([pack_words(r, tb.spec.out_lane_bits) for r in received])
         if received else np.zeros((0, y_bytes), dtype=np.uint8))
    np.savez(os.environ["LUTMIX_RESULT"], y_beats=y,
             summary=np.frombuffer(json.dumps(summary).encode(), dtype=np.uint8))
    assert summary["passed"], (
        f"{summary['mismatched']} mismatched, {summary['missing']} missing, "
        f"{summary['extra']} extra output frames, {bad_framing} badly framed")
