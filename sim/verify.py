"""``lutmix verify``: the cocotb regression on a user's own config.

Each unit of the config gets random and corner vectors, streamed with random idle cycles and
backpressure and checked against the golden model by the bench's scoreboard. The result is a
pass/fail summary, a JUnit XML file for CI systems, and on a mismatch the first failing vector
and a waveform of the run.
"""

__all__ = ["VectorResult", "VerifyReport", "verify", "gemm_vectors", "write_junit",
           "VERIFIERS", "verify_gelu", "verify_softmax", "stream_errors"]

import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from .gemm_job import GemmJob
from .session import simulate_job

STALLS = {"w": 0.3, "s": 0.3, "x": 0.3, "y": 0.4}


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
    detail: str = ""

    @property
    def passed(self):
        return not self.stream_errors and all(v.passed for v in self.vectors)

    @property
    def failed(self):
        return [v for v in self.vectors if not v.passed]


def _act_extremes(afmt):
    """(lowest, highest) activation: integers' range, or the float format's largest finite."""
    if afmt.is_float:
        big = float(afmt.from_bits([(((1 << afmt.exp_bits) - 2) << afmt.frac_bits)
                                    | ((1 << afmt.frac_bits) - 1)])[0])
        return -big, big
    return afmt.min, afmt.max


def _acts(afmt, x):
    """Activation values to what the stream carries (float activations: bit patterns)."""
    return afmt.to_bits(x).astype(np.int64) if afmt.is_float else np.asarray(x, np.int64)


def _corner(fmt, afmt, kind, shape_w, shape_x, rng):
    lo, hi = _act_extremes(afmt)
    if kind == "zeros":
        return rng.choice(fmt.values, size=shape_w), np.zeros(shape_x)
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


def _random_acts(afmt, shape, rng):
    if not afmt.is_float:
        return rng.integers(afmt.min, afmt.max + 1, size=shape)
    x = rng.standard_normal(shape) * np.exp(rng.uniform(-6, 6, size=(shape[0], 1)))
    x[:, ::13] *= 50                                          # outliers
    return x


def _random_scales(config, spec, n, blocks, rng, kind="random"):
    dtype = np.float16 if config.scale == "fp16" else np.float32
    s = rng.uniform(-0.05, 0.05, size=(n, blocks))
    if kind == "extreme":
        s[:, ::2] = float(np.finfo(dtype).max)
        s[:, 1::2] = float(np.finfo(dtype).smallest_subnormal)
        s[0] = 0
    s = s.astype(dtype)
    z = None
    if spec.has_zeros:
        top = (1 << config.weight_format.bits) - 1
        if config.zero_point == "original":
            z = rng.integers(0, top + 1, size=(n, blocks))
        else:
            z = s.astype(np.float64) * rng.uniform(0, top, size=(n, blocks))
            z = np.clip(z, -np.finfo(dtype).max, np.finfo(dtype).max).astype(dtype)
    return s, z


GEMM_CORNERS = ["zeros", "all-min", "all-max", "min-x max-w", "max-x min-w", "alternating"]


def gemm_vectors(config, count, seed):
    """Passes of corner then random vectors for :class:`~lutmix.sim.gemm_job.GemmJob`.

    Corners come first: zeros, all-min, all-max, mixed extremes and alternating signs, at a short
    K and again at the full ``max_k`` (the accumulator's worst case). With ``group_size``, the
    scales and zero points are random, and extreme (largest, subnormal, zero) in one corner;
    float activations also get a vector with NaN and infinities. Random vectors follow, with
    random K and one to three activation tiles sharing a weight tile.
    """
    from lutmix.gemm_spec import gemm_spec
    spec = gemm_spec(config)
    rng = np.random.default_rng(seed)
    fmt, afmt = config.weight_format, config.activation_format
    m, n, k = config.m, config.n, config.k
    unit = config.block_groups if config.dequant else 1     # groups per block
    most = config.max_groups // unit                          # blocks (or groups) per tile
    short = min(most, 3 if not config.dequant else 1)
    kinds = [(kind, short) for kind in GEMM_CORNERS]
    kinds += [(kind, most) for kind in ("all-min", "all-max", "max-x min-w")]
    if config.dequant:
        kinds.append(("extreme scales", min(most, 2)))
        if afmt.is_float:
            kinds.append(("nan and inf", min(most, 2)))

    def scales_for(units, kind="random"):
        return _random_scales(config, spec, n, units, rng, kind) if config.dequant else None

    passes, made = [], 0
    for kind, units in kinds:
        if made >= count:
            break
        width = units * unit * k
        if kind in GEMM_CORNERS:
            w, x = _corner(fmt, afmt, kind, (n, width), (m, width), rng)
        else:
            w = rng.choice(fmt.values, size=(n, width))
            x = _random_acts(afmt, (m, width), rng)
            if kind == "nan and inf":
                x[0, 1] = np.nan
                x[-1, width - 2] = -np.inf
        tag = f"vector {made} ({kind}, K={width})"
        scales = scales_for(units, "extreme" if kind == "extreme scales" else "random")
        passes.append((fmt.encode(w), [(_acts(afmt, x), tag)], scales))
        made += 1
    while made < count:
        units = int(rng.integers(1, min(most, 4 if config.dequant else 24) + 1))
        width = units * unit * k
        w = rng.choice(fmt.values, size=(n, width))
        tiles = []
        for _ in range(int(rng.integers(1, 4))):
            if made >= count:
                break
            x = _random_acts(afmt, (m, width), rng)
            tiles.append((_acts(afmt, x), f"vector {made} (random, K={width})"))
            made += 1
        passes.append((fmt.encode(w), tiles, scales_for(units)))
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
    report.stream_errors += stream_errors(summary, "result tiles",
                                          f"without {cfg.m} beats before tlast")
    return report


def stream_errors(summary, what, misframed):
    """The stream faults a bench's scoreboard counted, one line each: outputs (``what``, e.g.
    ``"result tiles"``) beyond or short of the vectors, protocol violations, and outputs
    framed wrongly (``"<n> <what> <misframed>"``)."""
    errors = []
    if summary["extra"]:
        errors.append(f"{summary['extra']} {what} more than vectors")
    if summary["missing"]:
        errors.append(f"{summary['missing']} {what} never arrived")
    errors += [f"protocol: {violation}" for violation in summary.get("violations", [])]
    if summary["bad_framing"]:
        errors.append(f"{summary['bad_framing']} {what} {misframed}")
    return errors


def verify_gelu(config, **kwargs):
    """Verify the GELU / SiLU unit; see :func:`lutmix.sim.gelu_verify.verify_gelu`."""
    # imported here: gelu_verify imports this module's report classes
    from .gelu_verify import verify_gelu as run
    return run(config, **kwargs)


def verify_softmax(config, **kwargs):
    """Verify the softmax unit; see :func:`lutmix.sim.softmax_verify.verify_softmax`."""
    # imported here: softmax_verify imports this module's report classes
    from .softmax_verify import verify_softmax as run
    return run(config, **kwargs)


VERIFIERS = {"gemm": verify_gemm, "gelu": verify_gelu, "softmax": verify_softmax}


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
