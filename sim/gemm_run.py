"""``run gemm``: any ``X @ W.T`` through the engine's RTL, tiled by :mod:`lutmix.tiling`."""

__all__ = ["GemmRun", "gemm_job", "run_gemm"]

from dataclasses import dataclass

import numpy as np

from lutmix import words
from lutmix.errors import ToolError
from lutmix.gemm_spec import gemm_spec
from lutmix.operands import check_gemm_operands
from lutmix.tiling import plan_gemm

from .gemm_job import GemmJob
from .session import simulate_job


@dataclass
class GemmRun:
    """The result of one GEMM through the RTL.

    Attributes
    ----------
    y : ndarray of int64, shape (M, N)
    cycles : int
        Clock cycles from reset release to the last result beat.
    ideal_cycles : int
        Cycles a fully used array would need (:meth:`GemmSpec.ideal_cycles`).
    tiles : int
        Result tiles (activation tiles) streamed.
    matched : int
        Tiles the scoreboard found equal to the golden model.
    sim : SimResult
    """
    y: np.ndarray
    cycles: int
    ideal_cycles: int
    tiles: int
    matched: int
    sim: object

    @property
    def utilization(self):
        return self.ideal_cycles / self.cycles if self.cycles else 0.0

    @property
    def golden_ok(self):
        return self.sim.passed


def gemm_job(config, w, x, *, pause=None, seed=0):
    """The job and plan that compute ``x @ w.T`` (operands already checked)."""
    spec = gemm_spec(config)
    plan = plan_gemm(x.shape[0], w.shape[0], x.shape[1], spec)
    xp, codes = plan.pad(x.astype(np.int64), config.weight_format.encode(w))
    m, n = config.m, config.n
    passes = []
    for nt in range(plan.n_tiles):
        for kt, (k0, k1) in enumerate(plan.k_tiles):
            tiles = [(xp[mt * m:(mt + 1) * m, k0:k1], f"tile n{nt} k{kt} m{mt}")
                     for mt in range(plan.m_tiles)]
            passes.append((codes[nt * n:(nt + 1) * n, k0:k1], tiles))
    return GemmJob.from_passes(config, passes, pause=pause, seed=seed), plan


def run_gemm(config, w, x, *, sim="verilator", waves=False, workdir=None, cache_dir=None,
             pause=None, seed=0):
    """Compute ``x @ w.T`` on the RTL of ``config`` in simulation.

    Parameters
    ----------
    config : GemmConfig
    w : ndarray (N, K)
        Weights in the config's weight format.
    x : ndarray (M, K)
        Activations in the config's activation format (``int8`` or ``int16``).
    sim : str
        ``"verilator"`` or ``"icarus"``.

    Returns
    -------
    GemmRun
    """
    w, x = check_gemm_operands(w, x, config)
    spec = gemm_spec(config)
    job, plan = gemm_job(config, w, x, pause=pause, seed=seed)
    result = simulate_job(job, sim=sim, waves=waves, workdir=workdir, cache_dir=cache_dir)
    m, n = config.m, config.n
    y = np.zeros((plan.m_tiles * m, plan.n_tiles * n), dtype=np.int64)
    beats = result.y_beats
    expected_beats = len(job.x_lens) * m
    if len(beats) != expected_beats:
        raise ToolError(f"{sim}: expected {expected_beats} result beats, got {len(beats)}; "
                        f"see {result.workdir / 'sim.log'}")
    tiles = words.unpack_outputs(beats, spec).reshape(-1, m, n)
    for tile, (nt, _, mt, _) in zip(tiles, plan.order()):
        y[mt * m:(mt + 1) * m, nt * n:(nt + 1) * n] += tile
    run = GemmRun(y=y[:plan.M, :plan.N], cycles=result.cycles,
                  ideal_cycles=spec.ideal_cycles(plan.M, plan.N, plan.K),
                  tiles=len(job.x_lens), matched=result.summary["matched"], sim=result)
    return run
