"""``lutmix verify`` for the GELU / SiLU unit: every input word through the RTL, under stalls.

The vectors are frames: the first holds the corner inputs (range ends, zero, the pwq clamp and
segment boundaries, I-BERT's clip point), the others split every one of the
``2**input_bits`` inputs, shuffled, at random points, so frames of every length meet random
idle cycles on ``s_axis_x`` and backpressure on ``m_axis_y``.
"""

__all__ = ["gelu_corners", "gelu_vectors", "verify_gelu", "STALLS"]

import time
from pathlib import Path

import numpy as np

from lutmix.gelu_math import gelu_spec, reference_lsb
from lutmix.golden import gelu

from .gelu_job import GeluJob
from .session import simulate_job
from .verify import VectorResult, VerifyReport, stream_errors

STALLS = {"x": 0.3, "y": 0.4}


def gelu_corners(spec):
    """Input words where a datapath changes behaviour, ascending and unique."""
    points = [spec.x_min, spec.x_min + 1, -1, 0, 1, spec.x_max - 1, spec.x_max]
    if spec.method == "pwq":
        p = spec.pwq
        starts = [p.lo + (j << p.seg_shift) for j in range(p.segments)] + [p.hi]
        points += [v + e for v in starts for e in (-1, 0)]
    if spec.method == "ibert":
        clip = -spec.ibert.b_int
        points += [v for c in (clip, -clip) for v in (c - 1, c, c + 1)]
    points = np.array(points, dtype=np.int64)
    return np.unique(points[(points >= spec.x_min) & (points <= spec.x_max)])


def _pad(words, lanes, rng, spec):
    extra = rng.integers(spec.x_min, spec.x_max + 1, size=-len(words) % lanes)
    return np.concatenate([words, extra])


def gelu_vectors(config, count, seed, sample=None):
    """Frames ``[(words, tag), ...]``: the corners, then every input word (or ``sample`` of
    them, corners included) shuffled and cut into ``count - 1`` frames of random lengths."""
    spec = gelu_spec(config)
    rng = np.random.default_rng(seed)
    corners = gelu_corners(spec)
    if sample is None:
        words, what = spec.inputs, "exhaustive"
    else:
        words = np.union1d(corners, rng.choice(spec.inputs, size=min(sample, spec.inputs.size),
                                               replace=False))
        what = "sample"
    words = rng.permutation(words)
    if count == 1:
        words = _pad(np.concatenate([corners, words]), spec.lanes, rng, spec)
        return [(words, f"vector 0 (corners and {what}: {len(words)} words)")]
    frames = [(_pad(corners, spec.lanes, rng, spec), "vector 0 (corners)")]
    words = _pad(words, spec.lanes, rng, spec)
    beats = len(words) // spec.lanes
    parts = min(count - 1, beats)
    cuts = np.sort(rng.choice(np.arange(1, beats), size=parts - 1, replace=False)) \
        if parts > 1 else np.array([], dtype=np.int64)
    bounds = [0, *(int(c) for c in cuts), beats]
    for j in range(parts):
        lo, hi = bounds[j] * spec.lanes, bounds[j + 1] * spec.lanes
        frames.append((words[lo:hi], f"vector {j + 1} ({what} part {j + 1}/{parts}: "
                                     f"{hi - lo} words)"))
    return frames


def verify_gelu(config, *, vectors, seed, sim, waves, workdir, cache_dir, verilog_text=None,
                sample=None):
    """Verify the GELU / SiLU unit of ``config.gelu``; returns a :class:`VerifyReport`.

    Every input word (or ``sample`` of them) goes through the RTL and must equal the golden
    model bit for bit; the report's ``detail`` also gives the golden model's error against
    the float64 function over every input.
    """
    cfg = config.gelu
    spec = gelu_spec(cfg)
    frames = gelu_vectors(cfg, vectors, seed, sample)
    job = GeluJob.from_frames(cfg, frames, pause=STALLS, seed=seed)
    start = time.monotonic()
    kw = dict(cache_dir=cache_dir, verilog_text=verilog_text, section="gelu",
              test_module="lutmix.sim.gelu_tb")
    result = simulate_job(job, sim=sim, waves=waves, workdir=workdir, **kw)
    if not result.passed and not waves:
        # the run is deterministic: repeat it with a waveform for the user to open
        result = simulate_job(job, sim=sim, waves=True, workdir=Path(workdir) / "waves", **kw)
    summary = result.summary
    bad = {mm["index"]: mm for mm in summary["mismatches"]}
    checked = sum(len(w) for w, _ in frames)
    err = np.abs(gelu(spec.inputs, spec) - reference_lsb(spec, spec.inputs))
    detail = (f"{spec.function} {spec.method}: {checked} words through the RTL "
              f"({'all ' + str(spec.inputs.size) + ' inputs' if sample is None else 'sampled'}"
              f", {spec.lanes} a beat); golden vs float64 over all inputs: max "
              f"{err.max():.3f} LSB, mean {err.mean():.3f} LSB")
    report = VerifyReport(unit="gelu", sim=sim, seed=seed, vectors=[], waves=result.waves,
                          workdir=result.workdir, seconds=time.monotonic() - start,
                          detail=detail)
    received = summary["frames_out"]
    for i, (_, tag) in enumerate(frames):
        if i in bad:
            mm = bad[i]
            report.vectors.append(VectorResult(tag, False, mm["difference"],
                                               mm.get("expected_words"),
                                               mm.get("actual_words")))
        elif i >= received:
            report.vectors.append(VectorResult(tag, False, {"missing": "no output frame"}))
        else:
            report.vectors.append(VectorResult(tag, True))
    report.stream_errors += stream_errors(summary, "output frames",
                                          "whose length differs from their input frame's")
    return report
