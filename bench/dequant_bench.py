"""Per-group dequantization: accuracy of the golden model against float64 mathematics, and the
engines' RTL throughput with dequantization on.

    python bench/dequant_bench.py [--trials 4] [--rtl/--no-rtl] [--sim verilator]

Accuracy: for every activation format, weight format / zero-point convention and group size,
the largest ``|y - y_ref| / sum_k |s (w - z) x|`` over ``trials`` random 16 x 64 x 1024 GEMMs
(see :mod:`lutmix.golden.dequant_accuracy`), printed as log2 next to the issue's bound
(2^-16 for integer activations, 2^-9 for fp16 / bf16). The RTL equals the golden model bit for
bit (tests/test_gemm_dequant.py), so these are the hardware's figures too.

Throughput: ``run gemm`` through RTL simulation for each engine on the same GPTQ-style problem,
cycles against the ideal of a fully busy array. Prints Markdown (the README carries it).
"""
import argparse
import math
import time
import zlib

import numpy as np

from lutmix.config import PRESETS, GemmConfig
from lutmix.gemm_spec import gemm_spec
from lutmix.golden import dequant_gemm
from lutmix.golden.dequant_accuracy import BOUND, error_ratio, random_activations, random_quantized

__all__ = ["accuracy_row", "rtl_row", "main"]

ACTS = ["int8", "int16", "fp16", "bf16"]
WEIGHTS = [("uint4", "original"), ("uint4", "scaled"), ("int4", "original"),
           ("int2", "original"), ("ternary", "original"), ("int8", "original")]
GROUPS = [32, 128, "channel", "tensor"]


def accuracy_row(act, weight, zp, trials, M=16, N=64, K=1024):
    cells, means = [], []
    for group in GROUPS:
        config = GemmConfig(weight=weight, activation=act, group_size=group, zero_point=zp,
                            max_k=K, scale="fp16")
        spec = gemm_spec(config)
        worst, total = 0.0, []
        for trial in range(trials):
            rng = np.random.default_rng(zlib.crc32(f"{act}/{weight}/{zp}/{group}/{trial}"
                                                   .encode()))
            x = random_activations(rng, act, M, K)
            w, s, z = random_quantized(rng, config, N, K)
            ratio = error_ratio(config, x, w, s, z, dequant_gemm(x, w, spec, s, z))
            worst = max(worst, float(ratio.max()))
            total.append(ratio.mean())
        cells.append(f"{math.log2(worst):.1f}" if worst > 0 else "exact")
        means.append(float(np.mean(total)))
    bound = math.log2(BOUND[act])
    ok = all(c == "exact" or float(c) <= bound for c in cells)
    mean = math.log2(max(np.mean(means), 2.0 ** -60))
    return (f"| {act} | {weight} | {zp} | " + " | ".join(cells) + f" | {mean:.1f} | {bound:.0f} "
            f"| {'yes' if ok else 'NO'} |")


def rtl_row(name, sim, M=16, N=128, K=512):
    from lutmix.rtl.generate import verilog
    from lutmix.sim.gemm_run import run_gemm
    from lutmix.sim.runner import build

    config = PRESETS[name].gemm
    build(verilog("gemm", config), "lutmix_gemm", sim=sim)        # not timed: compile once
    rng = np.random.default_rng(0)
    x = random_activations(rng, config.activation, M, K)
    w, s, z = random_quantized(rng, config, N, K)
    start = time.perf_counter()
    run = run_gemm(config, w, x, s, z, sim=sim)
    seconds = time.perf_counter() - start
    same = np.array_equal(run.y.view(np.uint32),
                          dequant_gemm(x, w, gemm_spec(config), s, z).view(np.uint32))
    return (f"| {name} | {config.engine} | {config.weight} x {config.activation}, g"
            f"{config.group_size} | {M}x{N}x{K} | {run.cycles} | {run.ideal_cycles} | "
            f"{100 * run.utilization:.1f}% | {seconds:.1f} | {'yes' if same else 'NO'} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--rtl", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--sim", default="verilator", choices=["verilator", "icarus"])
    args = parser.parse_args()

    print(f"### Dequantized GEMM vs float64: log2 of max error / sum_k |s (w - z) x| "
          f"({args.trials} x 16x64x1024 per cell)\n")
    names = [f"g{g}" if isinstance(g, int) else str(g) for g in GROUPS]
    print("| activations | weights | zero point | " + " | ".join(names)
          + " | log2 mean | log2 bound | within |")
    print("|---" * (len(GROUPS) + 6) + "|")
    for act in ACTS:
        for weight, zp in WEIGHTS:
            print(accuracy_row(act, weight, zp, args.trials), flush=True)
    if args.rtl:
        print(f"\n### Engines with dequantization, `run gemm` through RTL simulation ({args.sim})"
              "\n")
        print("| preset | engine | formats | M x N x K | cycles | ideal | utilization | "
              "wall s | equals golden |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name in ["u4g128-a8", "u4g128-fp16", "u4g128-fp16-shiftadd", "u4g128-fp16-mac"]:
            print(rtl_row(name, args.sim), flush=True)


if __name__ == "__main__":
    main()
