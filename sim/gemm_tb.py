"""cocotb bench for the GEMM engines: driver, monitors, model and scoreboard.

Runs inside the simulator. The host passes a :class:`~lutmix.sim.gemm_job.GemmJob` file in
``LUTMIX_JOB`` and reads the results from ``LUTMIX_RESULT``:

* drivers: cocotbext-axi ``AxiStreamSource`` on ``s_axis_w`` and ``s_axis_x``, with random idle
  cycles;
* monitors: ``AxiStreamMonitor`` on both inputs (what the engine accepted) and an
  ``AxiStreamSink`` on ``m_axis_y`` with random backpressure;
* model: :class:`~lutmix.sim.gemm_model.GemmModel` predicts a result tile for each accepted
  activation frame;
* scoreboard: :class:`~lutmix.sim.scoreboard.Scoreboard` pairs predictions with results in
  order, so a lost, duplicated or reordered tile fails.
"""

import json
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import AxiStreamFrame

from lutmix import words
from lutmix.sim.axis_ports import AxisPorts
from lutmix.sim.gemm_job import GemmJob
from lutmix.sim.gemm_model import GemmModel, compare_tiles
from lutmix.sim.scoreboard import Scoreboard

PERIOD_NS = 10
KEEP_MISMATCHES = 4


def _last_user(frame):
    tuser = frame.tuser
    if isinstance(tuser, list):
        tuser = tuser[-1] if tuser else 0
    return bool(int(tuser or 0) & 1)


class GemmTB:
    """Clock, reset and the AXI4-Stream pieces around one engine."""

    def __init__(self, dut, job):
        self.dut = dut
        self.job = job
        self.spec = job.spec
        inputs = ["w", "x"] + (["s"] if job.s_beats is not None else [])
        axis = AxisPorts(dut, inputs=inputs, outputs=["y"], pause=job.pause, seed=job.seed,
                         order=["w", "x", "y", "s"], stride=4, period_ns=PERIOD_NS)
        self.reset = axis.reset
        self.cycle = axis.cycle
        self.w_source, self.x_source = axis.sources["w"], axis.sources["x"]
        self.w_monitor, self.x_monitor = axis.monitors["w"], axis.monitors["x"]
        self.s_source = axis.sources.get("s")
        self.s_monitor = axis.monitors.get("s")
        self.y_sink = axis.sinks["y"]
        self.model = GemmModel(self.spec)
        self.scoreboard = Scoreboard(compare_tiles)
        self.expected_by_index = {}
        self.predicted = 0
        self.violations = []

    async def drive_scales(self):
        for beats in self.job.frames("s"):
            await self.s_source.send(AxiStreamFrame(beats.tobytes()))

    def expect(self, predictions):
        for expected in predictions:
            index = self.predicted
            tag = self.job.x_tags[index] if index < len(self.job.x_tags) else f"frame {index}"
            self.expected_by_index[index] = expected
            self.scoreboard.expect(expected, tag)
            self.predicted += 1

    def model_call(self, method, *args):
        try:
            self.expect(method(*args))
        except RuntimeError as e:       # the engine took a frame the protocol forbids
            self.violations.append(str(e))

    async def watch_scales(self):
        while True:
            frame = await self.s_monitor.recv()
            self.model_call(self.model.scales, np.frombuffer(bytes(frame.tdata),
                            dtype=np.uint8).reshape(-1, self.spec.s_tdata_bits // 8))

    async def drive(self):
        for beats in self.job.frames("w"):
            await self.w_source.send(AxiStreamFrame(beats.tobytes()))
        for beats, release in zip(self.job.frames("x"), self.job.x_release):
            await self.x_source.send(AxiStreamFrame(beats.tobytes(), tuser=int(release)))

    async def watch_weights(self):
        while True:
            frame = await self.w_monitor.recv()
            beats = np.frombuffer(bytes(frame.tdata), dtype=np.uint8).reshape(
                -1, self.spec.w_tdata_bits // 8)
            self.model_call(self.model.weights, beats)

    async def watch_acts(self):
        while True:
            frame = await self.x_monitor.recv()
            beats = np.frombuffer(bytes(frame.tdata), dtype=np.uint8).reshape(
                -1, self.spec.x_tdata_bits // 8)
            self.model_call(self.model.acts, beats, _last_user(frame))

    def frame_timeout_cycles(self):
        most = max(self.job.x_lens) if self.job.x_lens else 1
        return 50 * (most * self.spec.chunks + self.spec.config.m + self.spec.latency) + 10_000


@cocotb.test()
async def gemm_job(dut):
    """Stream a job, check every result tile, and record results and cycle counts."""
    await run_job(dut)


async def run_job(dut):
    """The body of :func:`gemm_job`, for benches that add their own probes."""
    job = GemmJob.load(os.environ["LUTMIX_JOB"])
    tb = GemmTB(dut, job)
    await tb.reset()
    start = tb.cycle()
    cocotb.start_soon(tb.watch_weights())
    cocotb.start_soon(tb.watch_acts())
    if tb.s_source is not None:
        cocotb.start_soon(tb.watch_scales())
        cocotb.start_soon(tb.drive_scales())
    cocotb.start_soon(tb.drive())

    y_bytes = tb.spec.y_tdata_bits // 8
    m = tb.spec.config.m
    received, bad_framing, last_cycle = [], 0, start
    timeout = tb.frame_timeout_cycles() * PERIOD_NS
    for index in range(len(job.x_lens)):
        try:
            frame = await with_timeout(tb.y_sink.recv(), timeout, "ns")
        except TimeoutError:
            break
        last_cycle = tb.cycle()
        beats = np.frombuffer(bytes(frame.tdata), dtype=np.uint8).reshape(-1, y_bytes)
        if len(beats) != m:
            bad_framing += 1
        tile = words.unpack_outputs(beats, tb.spec)
        received.append(beats)
        tb.scoreboard.receive(tile)
    # anything more would be a duplicate
    await ClockCycles(dut.aclk, 4 * (tb.spec.latency + m) + 20)
    while not tb.y_sink.empty():
        tile = words.unpack_outputs(np.frombuffer(bytes(tb.y_sink.recv_nowait().tdata),
                                                  dtype=np.uint8).reshape(-1, y_bytes), tb.spec)
        tb.scoreboard.receive(tile)

    if tb.model.pending:
        tb.violations.append(f"{tb.model.pending} activation tiles never had weights")
    summary = tb.scoreboard.finish()
    for mismatch in summary["mismatches"][:KEEP_MISMATCHES]:
        i = mismatch["index"]
        if i < len(received) and tb.expected_by_index.get(i) is not None:
            mismatch["expected_tile"] = tb.expected_by_index[i].tolist()
            mismatch["actual_tile"] = words.unpack_outputs(received[i], tb.spec).tolist()
    summary.update({
        "frames_in": len(job.x_lens),
        "frames_out": len(received),
        "bad_framing": bad_framing,
        "violations": tb.violations,
        "cycles": last_cycle - start,
        "passed": tb.scoreboard.passed and bad_framing == 0 and not tb.violations,
    })
    y = np.concatenate(received) if received else np.zeros((0, y_bytes), dtype=np.uint8)
    np.savez(os.environ["LUTMIX_RESULT"], y_beats=y,
             summary=np.frombuffer(json.dumps(summary).encode(), dtype=np.uint8))
    assert summary["passed"], (
        f"{summary['mismatched']} mismatched, {summary['missing']} missing, "
        f"{summary['extra']} extra result tiles, {bad_framing} badly framed, "
        f"{len(tb.violations)} protocol violations")
