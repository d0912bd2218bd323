"""Run a combinational binary32 unit's Verilog on a vector set (Verilator or Icarus)."""

__all__ = ["simulate_vectors"]

import tempfile
from pathlib import Path

import numpy as np
from amaranth.back import verilog as amaranth_verilog

from lutmix.errors import ToolError

from .runner import build, run_test


def simulate_vectors(component, top, *, sim="verilator", cache_dir=None, workdir=None,
                     **inputs):
    """Convert ``component`` to Verilog (module ``top``), apply every row of ``inputs`` (one
    array per input port) through :mod:`lutmix.sim.fp32_tb`, and return ``o`` as ``uint64``.

    The build is cached by the Verilog's hash (see :func:`lutmix.sim.runner.build`).
    """
    text = amaranth_verilog.convert(component, name=top, emit_src=False)
    build_dir = build(text, top, sim=sim, cache_dir=cache_dir)
    workdir = (Path(workdir) if workdir is not None
               else Path(tempfile.mkdtemp(prefix="lutmix-fp32-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    job, result = workdir / "vectors.npz", workdir / "outputs.npz"
    np.savez(job, **{k: np.asarray(v).astype(np.int64) for k, v in inputs.items()})
    result.unlink(missing_ok=True)
    run_test(build_dir, top, "lutmix.sim.fp32_tb", sim=sim, test_dir=workdir,
             env={"LUTMIX_JOB": str(job), "LUTMIX_RESULT": str(result)})
    if not result.exists():
        raise ToolError(f"{sim}: the bench wrote no results; see {workdir / 'sim.log'}")
    with np.load(result) as f:
        return f["o"]
