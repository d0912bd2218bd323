"""GEMM benchmarks: RTL-simulation throughput and array utilization, golden-model throughput.

    python bench/gemm_bench.py [--presets w2a8,w1a8] [--sim verilator]

Prints a Markdown table (the README carries the latest one). Figures are measured on this
machine; the simulator's wall time includes the Python bench (cocotb drivers, monitors and the
scoreboard's golden model), which is most of it.
"""
import argparse
import time

import numpy as np

from lutmix.config import PRESETS
from lutmix.gemm_spec import gemm_spec
from lutmix.golden import lut_gemm
from lutmix.rtl.generate import verilog
from lutmix.sim.gemm_run import run_gemm
from lutmix.sim.runner import build


def operands(config, M, N, K, seed=0):
    rng = np.random.default_rng(seed)
    fmt, afmt = config.weight_format, config.activation_format
    w = rng.choice(np.array(fmt.values), size=(N, K))
    x = rng.integers(afmt.min, afmt.max + 1, size=(M, K)).astype(afmt.dtype)
    return w, x


def rtl_row(name, sim, M=16, N=384, K=384):
    config = PRESETS[name].gemm
    build(verilog("gemm", config), "lutmix_gemm", sim=sim)        # not timed: compile once
    w, x = operands(config, M, N, K)
    start = time.perf_counter()
    run = run_gemm(config, w, x, sim=sim)
    seconds = time.perf_counter() - start
    assert np.array_equal(run.y, x.astype(np.int64) @ w.T.astype(np.int64))
    macs = M * N * K
    return (f"| {name} | {config.weight} x {config.activation} | m{config.m} n{config.n} "
            f"k{config.k} p{config.planes_per_cycle} | {M}x{N}x{K} | {run.cycles} | "
            f"{run.ideal_cycles} | {100 * run.utilization:.1f}% | {macs / seconds / 1e6:.2f} |")


def golden_row(name, M, N, K):
    config = PRESETS[name].gemm
    spec = gemm_spec(config.__class__(**{**config.__dict__, "max_k": max(K, 1)}))
    w, x = operands(config, M, N, K)
    start = time.perf_counter()
    y = lut_gemm(x, w, spec)
    seconds = time.perf_counter() - start
    ok = np.array_equal(y, x.astype(np.int64) @ w.T.astype(np.int64))
    return (f"| {name} | {M}x{N}x{K} | {seconds:.2f} | {M * N * K / seconds / 1e9:.2f} | "
            f"{'yes' if ok else 'NO'} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="w2a8,w1a8,bitnet,w4a8,w2a8-parallel,w2a16")
    parser.add_argument("--sim", default="verilator", choices=["verilator", "icarus"])
    args = parser.parse_args()
    names = args.presets.split(",")

    print(f"### `run gemm` through RTL simulation ({args.sim}), 16 tokens x 384x384 weights\n")
    print("| preset | formats | tile | M x N x K | cycles | ideal | utilization | "
          "MAC/s (millions, wall) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        print(rtl_row(name, args.sim), flush=True)

    print("\n### Golden model (NumPy, bit-exact, vectorized)\n")
    print("| preset | M x N x K | seconds | GMAC/s | equals X @ W.T |")
    print("|---|---|---|---|---|")
    for name, shape in [("w2a8", (16, 4096, 4096)), ("w4a8", (16, 4096, 4096)),
                        ("w2a8", (512, 4096, 4096))]:
        print(golden_row(name, *shape), flush=True)


if __name__ == "__main__":
    main()
