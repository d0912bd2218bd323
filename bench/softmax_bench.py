"""Softmax benchmarks: accuracy of exact / ibert / softermax against float64, and cycles per row.

    python bench/softmax_bench.py [--rows 15000] [--sim verilator] [--no-rtl]

Prints Markdown tables (the README carries the latest ones):

* accuracy: for each method, on both presets' numbers (int8 at 1/16 with 8 fractional bits;
  int16 at 2**-10 with 16), max and mean absolute error in LSB of the golden model (bit-exact
  with the RTL) against float64 softmax of ``x * in_scale`` with masked entries excluded, on the
  issue's row shapes; over 10**5 rows per method and preset;
* cycles: rows streamed through the RTL in simulation, back to back without stalls: cycles per
  row in steady state and end to end for a lone row, checked bit-exact against the golden model.
"""
import argparse
import dataclasses
import time

import numpy as np

from lutmix.config import PRESETS
from lutmix.golden.softmax import error_lsb, softmax_words
from lutmix.sim.session import simulate_job
from lutmix.sim.softmax_job import SoftmaxJob
from lutmix.softmax_math import softmax_spec
from lutmix.softmax_rows import ACCURACY_LIMIT_LSB, make_rows, top1_preserved

METHODS = ("exact", "ibert", "softermax")
PRESET_NAMES = ("softmax-int8", "softmax-int16")
# (label, shape, length): the shapes at length 128, then length 1 and max_len
ROWS = [(s, s, 128) for s in ("uniform", "gauss1", "gauss3", "peaky", "equal", "extreme",
                              "heavy-mask")] + [("length 1", "gauss3", 1),
                                                ("max_len", "gauss3", None)]


def accuracy_rows(config, rows_per_shape, seed=0):
    spec = softmax_spec(config)
    rng = np.random.default_rng(seed)
    out, total, worst = [], 0, 0.0
    for label, shape, length in ROWS:
        length = config.max_len if length is None else length
        count = max(1, rows_per_shape * 128 // length) if length > 128 else rows_per_shape
        errs, kept, n = [], 0, 0
        for start in range(0, count, 4000):
            x, mask = make_rows(shape, spec, rng, min(4000, count - start), length)
            words = softmax_words(x, mask, spec=spec)
            err = error_lsb(words, x, mask, spec)
            errs.append((float(err.max()), float(err[~mask].sum()), int((~mask).sum())))
            kept += int(top1_preserved(words, x, mask).sum())
            n += len(x)
        e_max = max(e for e, _, _ in errs)
        e_mean = sum(s for _, s, _ in errs) / max(1, sum(c for _, _, c in errs))
        worst = max(worst, e_max)
        total += n
        out.append((label, length, n, e_max, e_mean, kept))
    return out, total, worst


def rtl_cycles(config, sim, length, rows, seed=0):
    spec = softmax_spec(config)
    x, mask = make_rows("gauss3", spec, np.random.default_rng(seed), rows, length)
    job = SoftmaxJob.from_rows(config, [(x[r], mask[r], f"row {r}") for r in range(rows)])
    result = simulate_job(job, sim=sim, section="softmax", test_module="lutmix.sim.softmax_tb")
    assert result.passed, "RTL differs from the golden model"
    ins, outs = result.summary["in_times"], result.summary["out_times"]
    steady = (outs[-1][1] - outs[0][1]) / (rows - 1)
    lone = outs[0][1] - ins[0][0] + 1
    return job.lens[0], steady, lone, outs[0][0] - ins[0][1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=15000, help="rows per shape (default 15000)")
    parser.add_argument("--sim", default="verilator", choices=["verilator", "icarus"])
    parser.add_argument("--no-rtl", action="store_true", help="skip the RTL cycle counts")
    args = parser.parse_args()

    print("### Accuracy against float64 softmax (golden model = RTL, bit for bit)\n")
    print("Max and mean |word / 2^F - p| in LSB (2^-F); mean over unmasked elements.\n")
    header = "| shape | length | rows |" + "".join(f" {m} max | {m} mean |" for m in METHODS)
    for name in PRESET_NAMES:
        base = PRESETS[name].softmax
        print(f"**{name}**: int{base.input_bits} logits x {base.in_scale:g}, "
              f"{base.out_frac_bits} fractional bits, lanes {base.lanes}, "
              f"max_len {base.max_len}\n")
        print(header)
        print("|---|---|---|" + "---|---|" * len(METHODS))
        results = {}
        start = time.perf_counter()
        for method in METHODS:
            results[method] = accuracy_rows(dataclasses.replace(base, method=method), args.rows)
        seconds = time.perf_counter() - start
        for i, (label, length, n, _, _, _) in enumerate(results["exact"][0]):
            cells = "".join(f" {results[m][0][i][3]:.3f} | {results[m][0][i][4]:.3f} |"
                            for m in METHODS)
            print(f"| {label} | {length} | {n} |{cells}")
        spec = softmax_spec(base)
        limit = ACCURACY_LIMIT_LSB[base.out_frac_bits]
        for method in METHODS:
            rows_, total, worst = results[method]
            kept = sum(r[5] for r in rows_)
            note = ""
            if method == "exact":
                note = (f"; bound {limit} LSB {'met' if worst <= limit else 'MISSED'}, "
                        f"analytic bound {spec.error_bound_lsb:.4f} LSB")
            print(f"\n{method}: {total} rows, worst {worst:.4f} LSB, top-1 preserved in "
                  f"{kept}/{total} rows{note}", end="")
        print(f"\n\n({seconds:.1f} s for the three methods' golden models and float64)\n")

    if args.no_rtl:
        return
    print(f"### Cycles through the RTL ({args.sim}), rows back to back, no stalls\n")
    print("| preset | method | lanes | length | beats/row | cycles/row (steady) | "
          "lone row, end to end | latency |")
    print("|---|---|---|---|---|---|---|---|")
    for name in PRESET_NAMES:
        for method in METHODS:
            config = dataclasses.replace(PRESETS[name].softmax, method=method)
            for length, rows in ((128, 16), (config.max_len, 3)):
                beats, steady, lone, latency = rtl_cycles(config, args.sim, length, rows)
                print(f"| {name} | {method} | {config.lanes} | {length} | {beats} | "
                      f"{steady:.1f} | {lone} | {latency} |", flush=True)


if __name__ == "__main__":
    main()
