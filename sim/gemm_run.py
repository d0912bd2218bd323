"""``run gemm``: any ``X @ W.T`` through the engine's RTL, tiled by :mod:`lutmix.tiling`."""

__all__ = ["GemmRun", "assemble", "gemm_job", "run_gemm"]

from dataclasses import dataclass

import numpy as np

from lutmix import words
from lutmix.errors import ToolError
from lutmix.gemm_spec import gemm_spec
from lutmix.golden.dequant import accumulate, block_scales, canonical_nan
from lutmix.operands import check_gemm_operands, check_scales
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


def assemble(tiles, plan, config):
    """Result tiles in stream order to Y: the K-tiles of each output tile are added in K order
    (int64, or float32 rounded to nearest even as the golden model does)."""
    m, n = config.m, config.n
    out = {}
    for tile, (nt, _, mt, _) in zip(tiles, plan.order()):
        key = (mt, nt)
        if config.dequant:
            out[key] = accumulate(out.get(key), tile)
        else:
            out[key] = out.get(key, 0) + tile
    dtype = np.float32 if config.dequant else np.int64
    y = np.zeros((plan.m_tiles * m, plan.n_tiles * n), dtype=dtype)
    for (mt, nt), tile in out.items():
        y[mt * m:(mt + 1) * m, nt * n:(nt + 1) * n] = tile
    if config.dequant:
        y = canonical_nan(y)
    return y[:plan.M, :plan.N]


def gemm_job(config, w, x, scales=None, zeros=None, *, pause=None, seed=0):
    """The job and plan that compute ``x @ w.T`` (operands already checked)."""
    spec = gemm_spec(config)
    afmt = spec.activation_format
    plan = plan_gemm(x.shape[0], w.shape[0], x.shape[1], spec)
    raw = afmt.to_bits(x) if afmt.is_float else x.astype(np.int64)
    xp, codes = plan.pad(raw, config.weight_format.encode(w))
    if config.dequant:
        S, Z = block_scales(scales, zeros, spec, plan.blocks, w.shape[0])
        S, Z = plan.pad_rows(S, config.n), plan.pad_rows(Z, config.n)
    m, n = config.m, config.n
    passes = []
    for nt in range(plan.n_tiles):
        for kt, (k0, k1) in enumerate(plan.k_tiles):
            tiles = [(xp[mt * m:(mt + 1) * m, k0:k1], f"tile n{nt} k{kt} m{mt}")
                     for mt in range(plan.m_tiles)]
            cols = slice(nt * n, (nt + 1) * n)
            tile_scales = None
            if config.dequant:
                b0, b1 = plan.tile_blocks(kt)
                tile_scales = (S[cols, b0:b1], Z[cols, b0:b1] if spec.has_zeros else None)
            passes.append((codes[cols, k0:k1], tiles, tile_scales))
    return GemmJob.from_passes(config, passes, pause=pause, seed=seed), plan


def run_gemm(config, w, x, scales=None, zeros=None, *, sim="verilator", waves=False,
             workdir=None, cache_dir=None, pause=None, seed=0):
    """Compute ``x @ w.T`` on the RTL of ``config`` in simulation.

    Parameters
    ----------
    config : GemmConfig
    w : ndarray (N, K)
        Weights in the config's weight format.
    x : ndarray (M, K)
        Activations in the config's activation format (``int8``/``int16`` arrays, ``float16``
        for fp16, ``float32`` holding bfloat16 values for bf16).
    scales, zeros : ndarray or None
        With ``group_size``: per-group scales and zero points (:func:`check_scales`).
    sim : str
        ``"verilator"`` or ``"icarus"``.

    Returns
    -------
    GemmRun
        ``y`` is int64 without ``group_size``, float32 with it.
    """
    w, x = check_gemm_operands(w, x, config)
    if config.dequant or scales is not None or zeros is not None:
        scales, zeros = check_scales(scales, zeros, config, w.shape[0], x.shape[1])
    spec = gemm_spec(config)
    job, plan = gemm_job(config, w, x, scales, zeros, pause=pause, seed=seed)
    result = simulate_job(job, sim=sim, waves=waves, workdir=workdir, cache_dir=cache_dir)
    m, n = config.m, config.n
    beats = result.y_beats
    expected_beats = len(job.x_lens) * m
    if len(beats) != expected_beats:
        raise ToolError(f"{sim}: expected {expected_beats} result beats, got {len(beats)}; "
                        f"see {result.workdir / 'sim.log'}")
    tiles = words.unpack_outputs(beats, spec).reshape(-1, m, n)
    y = assemble(tiles, plan, config)
    run = GemmRun(y=y, cycles=result.cycles,
                  ideal_cycles=spec.ideal_cycles(plan.M, plan.N, plan.K),
                  tiles=len(job.x_lens), matched=result.summary["matched"], sim=result)
    return run
