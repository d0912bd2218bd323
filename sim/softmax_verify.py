"""``lutmix verify`` for the softmax unit: corner and random rows, random stalls, scoreboard.

Every vector is one row. The bench checks the RTL against the golden model bit for bit; for the
``exact`` method each row is also checked against float64 softmax (the issue's bound, 0.6 LSB
at 8 fractional bits and 1 LSB at 16) and for a preserved top-1.
"""

__all__ = ["softmax_vectors", "verify_softmax", "STALLS"]

import time
from pathlib import Path

import numpy as np

from lutmix import softmax_words
from lutmix.golden.softmax import error_lsb
from lutmix.softmax_math import softmax_spec
from lutmix.softmax_rows import ACCURACY_LIMIT_LSB, make_rows, top1_preserved

from . import verify as _verify
from .session import simulate_job
from .softmax_job import SoftmaxJob

STALLS = {"x": 0.3, "p": 0.4}

CORNERS = [                     # (shape, length): None is max_len
    ("one-hot", 7), ("equal", 5), ("extreme", 9), ("peaky", 13), ("gauss1", 1),
    ("gauss3", None), ("heavy-mask", 24), ("masked", 6), ("uniform", 11), ("gauss1", 17),
    ("extreme", None), ("heavy-mask", None),
]
RANDOM_SHAPES = ["uniform", "gauss1", "gauss3", "peaky", "equal", "extreme", "heavy-mask"]


def softmax_vectors(config, count, seed):
    """Rows ``[(x, mask, tag), ...]``: the corners first (one-hot, all equal, extreme, peaky,
    length 1, ``max_len``, heavy masking, fully masked), then random shapes and lengths."""
    spec = softmax_spec(config)
    rng = np.random.default_rng(seed)
    rows = []
    plan = [(s, config.max_len if n is None else min(n, config.max_len)) for s, n in CORNERS]
    while len(plan) < count:
        shape = RANDOM_SHAPES[int(rng.integers(len(RANDOM_SHAPES)))]
        plan.append((shape, int(rng.integers(1, min(config.max_len, 8 * spec.lanes + 40) + 1))))
    for i, (shape, length) in enumerate(plan[:count]):
        x, mask = make_rows(shape, spec, rng, 1, length)
        rows.append((x[0], mask[0], f"vector {i} ({shape}, L={length})"))
    return rows


def _accuracy(words, x, mask, spec):
    """``None`` or a description of how a row misses the accuracy requirement."""
    if spec.method != "exact":
        return None
    err = float(error_lsb(words[None], x[None], mask[None], spec).max())
    limit = ACCURACY_LIMIT_LSB[spec.frac_bits]
    if err > limit:
        return {"accuracy": f"max error {err:.3f} LSB > {limit} LSB"}
    if not top1_preserved(words[None], x[None], mask[None])[0]:
        return {"accuracy": "top-1 not preserved"}
    return None


def verify_softmax(config, *, vectors, seed, sim, waves, workdir, cache_dir, verilog_text=None):
    """Verify the softmax unit of ``config.softmax``; returns a
    :class:`~lutmix.sim.verify.VerifyReport`."""
    cfg = config.softmax
    spec = softmax_spec(cfg)
    rows = softmax_vectors(cfg, vectors, seed)
    job = SoftmaxJob.from_rows(cfg, rows, pause=STALLS, seed=seed)
    start = time.monotonic()
    result = simulate_job(job, sim=sim, waves=waves, workdir=workdir, cache_dir=cache_dir,
                          section="softmax", test_module="lutmix.sim.softmax_tb",
                          verilog_text=verilog_text)
    if not result.passed and not waves:
        # the run is deterministic: repeat it with a waveform for the user to open
        result = simulate_job(job, sim=sim, waves=True, workdir=Path(workdir) / "waves",
                              cache_dir=cache_dir, section="softmax",
                              test_module="lutmix.sim.softmax_tb", verilog_text=verilog_text)
    summary = result.summary
    bad = {mm["index"]: mm for mm in summary["mismatches"]}
    report = _verify.VerifyReport(unit="softmax", sim=sim, seed=seed, vectors=[],
                                  waves=result.waves, workdir=result.workdir,
                                  seconds=time.monotonic() - start)
    received = summary["frames_out"]
    words = softmax_words.unpack_words(result.y_beats, spec)
    offset = 0
    for i, (x, mask, tag) in enumerate(rows):
        n = job.lens[i] * spec.lanes
        row_words = words[offset:offset + n][:len(x)]
        offset += n
        if i in bad:
            mm = bad[i]
            report.vectors.append(_verify.VectorResult(
                tag, False, mm["difference"], mm.get("expected_row"), mm.get("actual_row")))
        elif i >= received:
            report.vectors.append(_verify.VectorResult(tag, False, {"missing": "no output row"}))
        else:
            miss = _accuracy(row_words, x, mask, spec)
            report.vectors.append(_verify.VectorResult(tag, miss is None, miss))
    report.stream_errors += _verify.stream_errors(
        summary, "output rows", "with another number of beats than their input row")
    return report
