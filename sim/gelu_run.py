"""``run gelu``: any integer array through the GELU / SiLU unit's RTL."""

__all__ = ["GeluRun", "gelu_job", "run_gelu", "check_gelu_input"]

from dataclasses import dataclass

import numpy as np

from lutmix.errors import InputError, ToolError
from lutmix.gelu_math import gelu_spec, unpack_words

from .gelu_job import GeluJob
from .session import simulate_job

FRAME_BEATS = 1024


@dataclass
class GeluRun:
    """The result of one array through the RTL.

    Attributes
    ----------
    words : ndarray of int64
        Output words, the shape of the input.
    y : ndarray of float64
        Their exact real values, ``words / 2**out_frac_bits``.
    cycles : int
        Clock cycles from reset release to the last output beat.
    beats : int
        Input beats streamed (``lanes`` words each, the last one padded with zeros).
    frames : int
        Frames streamed; ``matched`` of them equal the golden model.
    sim : SimResult
    """
    words: np.ndarray
    y: np.ndarray
    cycles: int
    beats: int
    frames: int
    matched: int
    sim: object

    @property
    def golden_ok(self):
        return self.sim.passed

    @property
    def words_per_cycle(self):
        return self.words.size / self.cycles if self.cycles else 0.0


def check_gelu_input(x, config, name="input"):
    """Check that ``x`` is a non-empty integer array of ``input_bits`` words.

    Raises
    ------
    InputError
        Naming ``name``, the first offending value and its index, and the allowed range.
    """
    spec = gelu_spec(config)
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        raise InputError(f"{name}: dtype must be an integer type holding {spec.in_bits}-bit "
                         f"words, not {x.dtype}")
    if x.size == 0:
        raise InputError(f"{name}: has no elements, shape {x.shape}")
    bad = (x < spec.x_min) | (x > spec.x_max)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"{name}: value {x[index]} at index {index} is outside the "
                         f"{spec.in_bits}-bit input words (allowed: {spec.x_min} to "
                         f"{spec.x_max}; input_bits = {spec.in_bits})")
    return x.astype(np.int64)


def gelu_job(config, x, *, pause=None, seed=0, frame_beats=FRAME_BEATS):
    """The job that streams the words of ``x`` (checked), ``frame_beats`` beats a frame."""
    lanes = config.lanes
    flat = np.asarray(x, dtype=np.int64).ravel()
    flat = np.concatenate([flat, np.zeros(-len(flat) % lanes, dtype=np.int64)])
    step = frame_beats * lanes
    frames = [(flat[i:i + step], f"words {i}-{min(i + step, x.size) - 1}")
              for i in range(0, len(flat), step)]
    return GeluJob.from_frames(config, frames, pause=pause, seed=seed)


def run_gelu(config, x, *, sim="verilator", waves=False, workdir=None, cache_dir=None,
             pause=None, seed=0):
    """GELU or SiLU of every word of ``x`` on the RTL of ``config`` in simulation.

    Parameters
    ----------
    config : GeluConfig
    x : ndarray of integers, any shape
        Input words of ``input_bits``.
    sim : str
        ``"verilator"`` or ``"icarus"``.

    Returns
    -------
    GeluRun
    """
    x = check_gelu_input(x, config)
    spec = gelu_spec(config)
    job = gelu_job(config, x, pause=pause, seed=seed)
    result = simulate_job(job, sim=sim, waves=waves, workdir=workdir, cache_dir=cache_dir,
                          section="gelu", test_module="lutmix.sim.gelu_tb")
    beats = len(job.x_beats)
    if len(result.y_beats) != beats:
        raise ToolError(f"{sim}: expected {beats} output beats, got {len(result.y_beats)}; "
                        f"see {result.workdir / 'sim.log'}")
    words = unpack_words(result.y_beats, spec.out_lane_bits).ravel()[:x.size].reshape(x.shape)
    return GeluRun(words=words, y=np.ldexp(words.astype(np.float64), -spec.out_frac),
                   cycles=result.cycles, beats=beats, frames=len(job.x_lens),
                   matched=result.summary["matched"], sim=result)
