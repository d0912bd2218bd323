"""GELU / SiLU benchmarks: error against float64 over every input, storage, RTL throughput.

    python bench/gelu_bench.py [--sim verilator] [--no-rtl]

Prints Markdown tables (the README carries the latest ones). Errors are in output LSBs against
the saturated float64 function, over all ``2**input_bits`` inputs. The 16-bit ``rom`` row is
the correctly rounded ideal computed in NumPy (65536 entries): the ``rom`` method itself takes
at most 10-bit inputs.
"""
import argparse
import time

import numpy as np

from lutmix.config import PRESETS, GeluConfig
from lutmix.gelu_math import correctly_rounded, gelu_spec, reference_lsb
from lutmix.golden import gelu
from lutmix.rtl.generate import verilog
from lutmix.sim.gelu_run import run_gelu
from lutmix.sim.runner import build

FORMATS = {8: (8, 4, 8, 4), 16: (16, 12, 16, 12)}


def error_row(function, method, bits):
    b, fi, ob, fo = FORMATS[bits]
    fmt = f"int{b} (1/{2 ** fi}) -> int{ob} (1/{2 ** fo})"
    if method == "rom" and b > 10:
        spec = gelu_spec(GeluConfig(function=function, method="pwq", input_bits=b,
                                    in_frac_bits=fi, out_bits=ob, out_frac_bits=fo))
        x = spec.inputs
        y = np.clip(correctly_rounded(function, x, fi, fo), spec.y_min, spec.y_max)
        storage = (f"not buildable (rom stops at 10 bits): {x.size} x {ob} bits = "
                   f"{x.size * ob} bits")
        label = "rom (ideal)"
    else:
        spec = gelu_spec(GeluConfig(function=function, method=method, input_bits=b,
                                    in_frac_bits=fi, out_bits=ob, out_frac_bits=fo))
        x = spec.inputs
        y = gelu(x, spec)
        storage = spec.table_summary()
        label = method
    err = np.abs(y - reference_lsb(spec, x))
    return (f"| {function} | {label} | {fmt} | {err.max():.3f} | {err.mean():.4f} | "
            f"{storage} |")


def pwq_row(function, fi, fo):
    spec = gelu_spec(GeluConfig(function=function, method="pwq", input_bits=16, in_frac_bits=fi,
                                out_bits=16, out_frac_bits=fo))
    x = spec.inputs
    err = np.abs(gelu(x, spec) - reference_lsb(spec, x))
    p = spec.pwq
    w = p.widths
    return (f"| {function} | 1/{2 ** fi} -> 1/{2 ** fo} | [{p.lo / 2 ** fi:g}, "
            f"{p.hi / 2 ** fi:g}) | {p.segments} x {1 << p.seg_shift} | "
            f"{w['b0']}+{w['b1']}+{w['b2']} | {w['b2']}x{p.seg_shift} and {w['h']}x"
            f"{p.seg_shift} | {err.max():.3f} | {err.mean():.4f} |")


def rtl_row(name, sim):
    config = PRESETS[name].gelu
    spec = gelu_spec(config)
    build(verilog("gelu", config), "lutmix_gelu", sim=sim)        # not timed: compile once
    x = spec.inputs
    start = time.perf_counter()
    run = run_gelu(config, x, sim=sim)
    seconds = time.perf_counter() - start
    assert run.golden_ok and np.array_equal(run.words, gelu(x, spec))
    return (f"| {name} | {spec.function} {spec.method} | {spec.lanes} | {x.size} | "
            f"{run.cycles} | {run.words_per_cycle:.2f} | {spec.latency} | "
            f"{x.size / seconds:.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", default="verilator", choices=["verilator", "icarus"])
    parser.add_argument("--no-rtl", action="store_true", help="skip the RTL simulation table")
    args = parser.parse_args()

    print("### Error against float64 over every input (LSB of the output)\n")
    print("| function | method | format | max abs error | mean abs error | storage |")
    print("|---|---|---|---|---|---|")
    for bits in (8, 16):
        for function in ("gelu", "silu"):
            for method in ("rom", "pwq", "ibert"):
                print(error_row(function, method, bits), flush=True)

    print("\n### pwq at 16 bits across scales\n")
    print("| function | scale in -> out | polynomial range | segments x inputs | "
          "coefficient bits | multipliers | max abs error | mean abs error |")
    print("|---|---|---|---|---|---|---|---|")
    for function in ("gelu", "silu"):
        for fi, fo in ((8, 8), (10, 11), (12, 12), (13, 13), (14, 15)):
            print(pwq_row(function, fi, fo), flush=True)

    if not args.no_rtl:
        print(f"\n### RTL throughput ({args.sim}), every input once, no stalls\n")
        print("| preset | unit | lanes | words | cycles | words/cycle | latency | "
              "simulated words/s (wall) |")
        print("|---|---|---|---|---|---|---|---|")
        for name in ("gelu8", "gelu8-ibert", "gelu16", "silu16"):
            print(rtl_row(name, args.sim), flush=True)


if __name__ == "__main__":
    main()
