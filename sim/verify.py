"""``lutmix verify``: the cocotb regression on a user's own config.

Each unit of the config gets random and corner vectors, streamed with random idle cycles and
backpressure and checked against the golden model by the bench's scoreboard. The result is a
pass/fail summary, a JUnit XML file for CI systems, and on a mismatch the first failing vector
and a waveform of the run.
"""

__all__ = ["VectorResult", "VerifyReport", "verify", "gemm_vectors", "write_junit",
           "VERIFIERS"]

import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from .gemm_job import GemmJob
from .session import simulate_job
from .softmax_verify import verify_softmax

STALLS = {"w": 0.3, "x": 0.3, "y": 0.4}


@dataclass
class VectorResult:
    """One vector: its tag, and the difference if it failed."""
    tag: str
    passed: bool
    difference: dict | None = None
    expected: list | None = None
    actual: list | None = None


@dataclass
class VerifyReport:
    """The outcome of verifying one unit."""
    unit: str
    sim: str
    seed: int
    vectors: list
    stream_errors: list = field(default_factory=list)
    waves: Path | None = None
    workdir: Path | None = None
    seconds: float = 0.0

    @property
    def passed(self):
        return not self.stream_errors and all(v.passed for v in self.vectors)

    @property
    def failed(self):
        return [v for v in self.vectors if not v.passed]


def _corner(fmt, afmt, kind, shape_w, shape_x, rng):
    lo, hi = afmt.min, afmt.max
    if kind == "zeros":
        return rng.choice(fmt.values, size=shape_w), np.zeros(shape_x, dtype=np.int64)
    if kind == "all-min":
        return np.full(shape_w, fmt.min), np.full(shape_x, lo)
    if kind == "all-max":
        return np.full(shape_w, fmt.max), np.full(shape_x, hi)
    if kind == "min-x max-w":
        return np.full(shape_w, fmt.max), np.full(shape_x, lo)
    if kind == "max-x min-w":
        return np.full(shape_w, fmt.min), np.full(shape_x, hi)
    if kind == "alternating":
        signs_w = np.indices(shape_w).sum(axis=0) % 2
        signs_x = np.indices(shape_x).sum(axis=0) % 2
        return np.where(signs_w, fmt.max, fmt.min), np.where(signs_x, hi, lo)
    raise ValueError(kind)


GEMM_CORNERS = ["zeros", "all-min", "all-max", "min-x max-w", "max-x min-w", "alternating"]


def gemm_vectors(config, count, seed):
    """Passes of corner then random vectors for :class:`~lutmix.sim.gemm_job.GemmJob`.

    Corners come first: zeros, all-min, all-max, mixed extremes and alternating signs, at a short
    K and again at the full ``max_k`` (the accumulator's worst case). Random vectors follow,
    with random K and one to three activation tiles sharing a weight tile.
    """
    rng = np.random.default_rng(seed)
    fmt, afmt = config.weight_format, config.activation_format
    m, n, k = config.m, config.n, config.k
    short = min(config.max_groups, 3)
    kinds = [(kind, short) for kind in GEMM_CORNERS]
    kinds += [(kind, config.max_groups) for kind in ("all-min", "all-max", "max-x min-w")]
    passes, made = [], 0
    for kind, groups in kinds:
        if made >= count:
            break
        w, x = _corner(fmt, afmt, kind, (n, groups * k), (m, groups * k), rng)
        tag = f"vector {made} ({kind}, K={groups * k})"
        passes.append((fmt.encode(w), [(x, tag)]))
        made += 1
    while made < count:
        groups = int(rng.integers(1, min(config.max_groups, 24) + 1))
        w = rng.choice(fmt.values, size=(n, groups * k))
        tiles = []
        for _ in range(int(rng.integers(1, 4))):
            if made >= count:
                break
            x = rng.integers(afmt.min, afmt.max + 1, size=(m, groups * k))
            tiles.append((x, f"vector {made} (random, K={groups * k})"))
            made += 1
        passes.append((fmt.encode(w), tiles))
    return passes


def verify_gemm(config, *, vectors, seed, sim, waves, workdir, cache_dir, verilog_text=None):
    """Verify the GEMM engine of ``config.gemm``; returns a :class:`VerifyReport`."""
    cfg = config.gemm
    job = GemmJob.from_passes(cfg, gemm_vectors(cfg, vectors, seed), pause=STALLS, seed=seed)
    start = time.monotonic()
    result = simulate_job(job, sim=sim, waves=waves, workdir=workdir, cache_dir=cache_dir,
                          verilog_text=verilog_text)
    if not result.passed and not waves:
        # the run is deterministic: repeat it with a waveform for the user to open
        result = simulate_job(job, sim=sim, waves=True, workdir=Path(workdir) / "waves",
                              cache_dir=cache_dir, verilog_text=verilog_text)
    summary = result.summary
    bad = {mm["index"]: mm for mm in summary["mismatches"]}
    report = VerifyReport(unit="gemm", sim=sim, seed=seed, vectors=[], waves=result.waves,
                          workdir=result.workdir, seconds=time.monotonic() - start)
    received = summary["frames_out"]
    for i, tag in enumerate(job.x_tags):
        if i in bad:
            mm = bad[i]
            report.vectors.append(VectorResult(tag, False, mm["difference"],
                                               mm.get("expected_tile"), mm.get("actual_tile")))
        elif i >= received:
            report.vectors.append(VectorResult(tag, False, {"missing": "no result tile"}))
        else:
            report.vectors.append(VectorResult(tag, True))
    if summary["extra"]:
        report.stream_errors.append(f"{summary['extra']} result tiles more than vectors")
    if summary["missing"]:
        report.stream_errors.append(f"{summary['missing']} result tiles never arrived")
    for violation in summary.get("violations", []):
        report.stream_errors.append(f"protocol: {violation}")
    if summary["bad_framing"]:
        report.stream_errors.append(f"{summary['bad_framing']} result tiles without "
                                    f"{cfg.m} beats before tlast")
    return report


VERIFIERS = {"gemm": verify_gemm, "softmax": verify_softmax}


def verify(config, *, vectors=32, seed=0, sim="verilator", waves=False, workdir, cache_dir=None,
           verilog=None):
    """Verify every unit of ``config`` that has a bench; returns a list of reports.

    ``verilog`` optionally maps a unit to Verilog text that replaces the generated design.
    """
    if not isinstance(vectors, int) or vectors < 1:
        raise ValueError(f"vectors must be a positive integer, not {vectors!r}")
    reports = []
    for unit, run in VERIFIERS.items():
        if getattr(config, unit, None) is None:
            continue
        reports.append(run(config, vectors=vectors, seed=seed, sim=sim, waves=waves,
                           workdir=Path(workdir) / unit, cache_dir=cache_dir,
                           verilog_text=(verilog or {}).get(unit)))
    return reports


def write_junit(reports, path):
    """Write the reports as JUnit XML, one test case per vector."""
    suites = ElementTree.Element("testsuites")
    for report in reports:
        suite = ElementTree.SubElement(
            suites, "testsuite", name=f"lutmix.verify.{report.unit}",
            tests=str(len(report.vectors) + 1), failures=str(len(report.failed)
                                                            + bool(report.stream_errors)),
            errors="0", time=f"{report.seconds:.3f}")
        for v in report.vectors:
            case = ElementTree.SubElement(suite, "testcase", name=v.tag,
                                          classname=f"lutmix.verify.{report.unit}.{report.sim}")
            if not v.passed:
                failure = ElementTree.SubElement(case, "failure", message=str(v.difference))
                if v.expected is not None:
                    failure.text = f"expected {v.expected}\nactual   {v.actual}"
        case = ElementTree.SubElement(suite, "testcase", name="stream integrity",
                                      classname=f"lutmix.verify.{report.unit}.{report.sim}")
        if report.stream_errors:
            ElementTree.SubElement(case, "failure", message="; ".join(report.stream_errors))
    ElementTree.indent(suites)
    Path(path).write_text(ElementTree.tostring(suites, encoding="unicode") + "\n")
