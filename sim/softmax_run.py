"""``run softmax``: rows of logits through the softmax unit's RTL in simulation."""

__all__ = ["SoftmaxRun", "softmax_job", "run_softmax"]

from dataclasses import dataclass

import numpy as np

from lutmix import softmax_words
from lutmix.errors import ToolError
from lutmix.operands import check_softmax_operands
from lutmix.softmax_math import softmax_spec

from .session import simulate_job
from .softmax_job import SoftmaxJob


@dataclass
class SoftmaxRun:
    """The result of rows through the RTL.

    Attributes
    ----------
    words : ndarray of int64, shape (R, L)
        The output words (``out_frac_bits`` fractional bits).
    cycles : int
        Clock cycles from the first input beat to the last output beat.
    latency : int
        Cycles from the first row's last input beat to its first output beat.
    rows : int
    matched : int
        Rows the scoreboard found equal to the golden model.
    sim : SimResult
    """
    words: np.ndarray
    cycles: int
    latency: int
    rows: int
    matched: int
    frac_bits: int
    sim: object

    @property
    def p(self):
        """The words' exact real values (float64)."""
        return self.words / float(1 << self.frac_bits)

    @property
    def golden_ok(self):
        return self.sim.passed


def softmax_job(config, x, mask, *, pause=None, seed=0):
    """The job that streams rows ``x`` (with ``mask``) through the unit (operands checked)."""
    rows = [(x[r], mask[r], f"row {r}") for r in range(x.shape[0])]
    return SoftmaxJob.from_rows(config, rows, pause=pause, seed=seed)


def run_softmax(config, x, mask=None, *, sim="verilator", waves=False, workdir=None,
                cache_dir=None, pause=None, seed=0):
    """Softmax of every row of ``x * in_scale`` on the RTL of ``config``, in simulation.

    Parameters
    ----------
    config : SoftmaxConfig
    x : ndarray of int, shape (R, L)
        Logits of ``input_bits``; ``L <= max_len``.
    mask : ndarray of bool or 0/1 int, shape (R, L), optional
        True (1) masks a logit out: its probability is exactly 0.
    sim : str
        ``"verilator"`` or ``"icarus"``.

    Returns
    -------
    SoftmaxRun
    """
    x, mask = check_softmax_operands(x, mask, config)
    spec = softmax_spec(config)
    job = softmax_job(config, x, mask, pause=pause, seed=seed)
    result = simulate_job(job, sim=sim, waves=waves, workdir=workdir, cache_dir=cache_dir,
                          section="softmax", test_module="lutmix.sim.softmax_tb")
    beats = result.y_beats
    if len(beats) != sum(job.lens):
        raise ToolError(f"{sim}: expected {sum(job.lens)} output beats, got {len(beats)}; "
                        f"see {result.workdir / 'sim.log'}")
    words = softmax_words.unpack_words(beats, spec).reshape(x.shape[0], -1)[:, :x.shape[1]]
    summary = result.summary
    ins, outs = summary["in_times"], summary["out_times"]
    latency = outs[0][0] - ins[0][1] if ins and outs else 0
    return SoftmaxRun(words=words, cycles=result.cycles, latency=latency, rows=x.shape[0],
                      matched=summary["matched"], frac_bits=spec.frac_bits, sim=result)
