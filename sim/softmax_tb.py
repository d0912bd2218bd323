"""cocotb bench for the softmax unit: driver, monitors, model and scoreboard.

Runs inside the simulator. The host passes a :class:`~lutmix.sim.softmax_job.SoftmaxJob` file in
``LUTMIX_JOB`` and reads the results from ``LUTMIX_RESULT``:

* driver: cocotbext-axi ``AxiStreamSource`` on ``s_axis_x`` (one frame per row, the mask bits in
  ``tuser``), with random idle cycles;
* monitors: ``AxiStreamMonitor`` on ``s_axis_x`` (the rows the unit accepted) and an
  ``AxiStreamSink`` on ``m_axis_p`` with random backpressure;
* model: :class:`~lutmix.sim.softmax_model.SoftmaxModel` predicts each accepted row's words;
* scoreboard: :class:`~lutmix.sim.scoreboard.Scoreboard` pairs predictions with output rows in
  order, so a lost, duplicated or reordered row fails.

The bench also records, per row, the cycles of the first and last beat handshakes on both
streams, from which the host measures latency and throughput.
"""

import json
import os

import cocotb
import numpy as np
from cocotb.simtime import convert, get_sim_time
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import AxiStreamFrame

from lutmix import softmax_words
from lutmix.sim.axis_ports import AxisPorts
from lutmix.sim.scoreboard import Scoreboard
from lutmix.sim.softmax_job import SoftmaxJob
from lutmix.sim.softmax_model import SoftmaxModel, compare_rows

PERIOD_NS = 10
KEEP_MISMATCHES = 4


def _cycle(steps):
    """The clock cycle of a time in simulator steps (cocotbext-axi's frame stamps)."""
    return int(convert(steps, "step", to="ns") // PERIOD_NS)


def _beat_user(tuser, beats, per_beat):
    """Per-beat ``tuser`` of a monitored frame (cocotbext-axi keeps one per byte, or one int
    when they are all equal)."""
    if isinstance(tuser, list):
        return np.array(tuser[per_beat - 1::per_beat], dtype=np.uint64)
    return np.full(beats, int(tuser or 0), dtype=np.uint64)


class SoftmaxTB:
    """Clock, reset and the AXI4-Stream pieces around one softmax unit."""

    def __init__(self, dut, job):
        self.dut = dut
        self.job = job
        self.spec = job.spec
        self.in_bytes = self.spec.lanes * self.spec.in_lane_bits // 8
        self.out_bytes = self.spec.lanes * self.spec.out_lane_bits // 8
        axis = AxisPorts(dut, inputs=["x"], outputs=["p"], pause=job.pause, seed=job.seed,
                         stride=3, period_ns=PERIOD_NS)
        self.reset = axis.reset
        self.source, self.monitor = axis.sources["x"], axis.monitors["x"]
        self.sink = axis.sinks["p"]
        self.model = SoftmaxModel(self.spec)
        self.scoreboard = Scoreboard(compare_rows)
        self.expected_by_index = {}
        self.in_times = []
        self.violations = []

    def cycle(self):
        return _cycle(get_sim_time())

    async def drive(self):
        for beats, user in self.job.frames():
            tuser = np.repeat(user, self.in_bytes).tolist()     # cocotbext-axi: one per byte
            await self.source.send(AxiStreamFrame(beats.tobytes(), tuser=tuser))

    async def watch_inputs(self):
        index = 0
        while True:
            frame = await self.monitor.recv()
            self.in_times.append((_cycle(frame.sim_time_start), _cycle(frame.sim_time_end)))
            beats = np.frombuffer(bytes(frame.tdata), dtype=np.uint8).reshape(-1, self.in_bytes)
            user = _beat_user(frame.tuser, len(beats), self.in_bytes)
            tag = self.job.tags[index] if index < len(self.job.tags) else f"row {index}"
            try:
                expected = self.model.row(beats, user)
            except RuntimeError as e:
                self.violations.append(f"{tag}: {e}")
                expected = None
            self.expected_by_index[index] = expected
            self.scoreboard.expect(expected, tag)
            index += 1

    def frame_timeout_cycles(self):
        most = max(self.job.lens) if self.job.lens else 1
        return 50 * (2 * most + self.spec.latency) + 10_000


@cocotb.test()
async def softmax_job(dut):
    """Stream a job's rows, check every output row, record words and cycle counts."""
    job = SoftmaxJob.load(os.environ["LUTMIX_JOB"])
    tb = SoftmaxTB(dut, job)
    await tb.reset()
    start = tb.cycle()
    cocotb.start_soon(tb.watch_inputs())
    cocotb.start_soon(tb.drive())

    received, out_times, bad_framing = [], [], 0
    timeout = tb.frame_timeout_cycles() * PERIOD_NS
    for index in range(len(job.lens)):
        try:
            frame = await with_timeout(tb.sink.recv(), timeout, "ns")
        except TimeoutError:
            break
        out_times.append((_cycle(frame.sim_time_start), _cycle(frame.sim_time_end)))
        beats = np.frombuffer(bytes(frame.tdata), dtype=np.uint8).reshape(-1, tb.out_bytes)
        if len(beats) != job.lens[index]:
            bad_framing += 1
        received.append(beats)
        tb.scoreboard.receive(softmax_words.unpack_words(beats, tb.spec))
    # anything more would be a duplicate
    await ClockCycles(dut.aclk, 4 * tb.spec.latency + 20)
    while not tb.sink.empty():
        beats = np.frombuffer(bytes(tb.sink.recv_nowait().tdata), dtype=np.uint8)
        tb.scoreboard.receive(softmax_words.unpack_words(beats.reshape(-1, tb.out_bytes),
                                                         tb.spec))

    summary = tb.scoreboard.finish()
    for mismatch in summary["mismatches"][:KEEP_MISMATCHES]:
        i = mismatch["index"]
        if i < len(received) and tb.expected_by_index.get(i) is not None:
            mismatch["expected_row"] = tb.expected_by_index[i].tolist()
            mismatch["actual_row"] = softmax_words.unpack_words(received[i], tb.spec).tolist()
    first_in = tb.in_times[0][0] if tb.in_times else start
    last_out = out_times[-1][1] if out_times else start
    summary.update({
        "frames_in": len(job.lens),
        "frames_out": len(received),
        "bad_framing": bad_framing,
        "violations": tb.violations,
        "cycles": last_out - first_in + 1 if out_times else 0,
        "in_times": tb.in_times,
        "out_times": out_times,
        "passed": tb.scoreboard.passed and bad_framing == 0 and not tb.violations,
    })
    p = np.concatenate(received) if received else np.zeros((0, tb.out_bytes), dtype=np.uint8)
    np.savez(os.environ["LUTMIX_RESULT"], y_beats=p,
             summary=np.frombuffer(json.dumps(summary).encode(), dtype=np.uint8))
    assert summary["passed"], (
        f"{summary['mismatched']} mismatched, {summary['missing']} missing, "
        f"{summary['extra']} extra rows, {bad_framing} badly framed, "
        f"{len(tb.violations)} protocol violations")
