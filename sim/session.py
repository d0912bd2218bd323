"""Run a job through the RTL: generate, build (cached), simulate, collect results."""

__all__ = ["SimResult", "simulate_job"]

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lutmix.errors import ToolError
from lutmix.rtl.generate import TOP_NAMES, verilog

from .runner import build, run_test


@dataclass
class SimResult:
    """What the bench reports.

    Attributes
    ----------
    y_beats : ndarray of uint8, shape (beats, bytes)
        Every ``m_axis_y`` beat, in order.
    summary : dict
        Scoreboard counts (``matched``, ``mismatched``, ``missing``, ``extra``), ``cycles``,
        ``passed`` and the kept ``mismatches``.
    workdir : Path
        The run's directory (job, logs, results, waveform).
    waves : Path or None
        The waveform file, if one was recorded.
    """
    y_beats: np.ndarray
    summary: dict
    workdir: Path
    waves: Path | None

    @property
    def passed(self):
        return bool(self.summary["passed"])

    @property
    def cycles(self):
        return int(self.summary["cycles"])


WAVE_FILES = {"verilator": "dump.vcd", "icarus": "{top}.fst"}


def simulate_job(job, *, sim="verilator", waves=False, workdir=None, cache_dir=None,
                 section="gemm", test_module="lutmix.sim.gemm_tb", verilog_text=None):
    """Stream ``job`` through the RTL of its config on ``sim``; returns a :class:`SimResult`.

    ``verilog_text`` replaces the generated Verilog (same top name and ports), to check a
    modified design against the same bench and model.
    """
    top = TOP_NAMES[section]
    text = verilog(section, job.config) if verilog_text is None else verilog_text
    build_dir = build(text, top, sim=sim, waves=waves, cache_dir=cache_dir)
    workdir = (Path(workdir) if workdir is not None
               else Path(tempfile.mkdtemp(prefix="lutmix-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    job_path = workdir / "job.npz"
    result_path = workdir / "result.npz"
    job.save(job_path)
    result_path.unlink(missing_ok=True)
    run_test(build_dir, top, test_module, sim=sim, test_dir=workdir, waves=waves, seed=job.seed,
             env={"LUTMIX_JOB": str(job_path), "LUTMIX_RESULT": str(result_path)})
    if not result_path.exists():
        raise ToolError(f"{sim}: the bench wrote no results; see {workdir / 'sim.log'}")
    with np.load(result_path) as f:
        y_beats = f["y_beats"]
        summary = json.loads(f["summary"].tobytes().decode())
    wave = workdir / WAVE_FILES[sim].format(top=top) if waves else None
    return SimResult(y_beats=y_beats, summary=summary, workdir=workdir,
                     waves=wave if wave is not None and wave.exists() else None)
