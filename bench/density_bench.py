"""Compute density: GMAC/s per 1000 logic cells of every GEMM engine, placed and routed.

    python bench/density_bench.py [--part precision,device] [--jobs N] [--scheduler ADDR]
                                  [--cache DIR] [--out DIR] [--cached-only]
                                  [--devices ecp5-85k,ice40-up5k]

One run, on the ECP5-85k, of every engine ``lutmix.config`` accepts, in its default
configuration (m, n, k, max_k), built from logic only (Yosys ``-nodsp``); the ``mac`` engine
also with DSP blocks, at the largest n whose multipliers fit the device's MULT18X18Ds (n16:
m2 x n16 x k4 = 128 products). Weights int1, ternary, int2, int4 and activations int8 and
fp16 (with per-group dequantization, group size 128, for every engine alike), where the engine
takes the format.
Then, per engine at W2A8 and W4A8, the largest configuration (by output channels ``n``) that
places and routes on the ECP5-85k and on the iCE40-UP5K, against the device's DSP-bound peak
(DSP count x Fmax).

Every point goes through ``lutmix.fpga`` (the same flow as ``lutmix synth``) and its cache, so
an interrupted run resumes; ``--cached-only`` prints the table of what is cached so far
without building anything. Prints Markdown and writes ``OUT/density.md`` and the plot
``OUT/density.png`` (the README carries them).
"""
import argparse
import dataclasses
import json
import sys
from pathlib import Path

from lutmix import formats
from lutmix.config import ENGINES, Config, GemmConfig
from lutmix.fpga.results import rows
from lutmix.fpga.sweep import Point, point_keys, run_points
from lutmix.fpga.synth import SynthOptions
from lutmix.fpga.targets import TARGETS
from lutmix.rtl.generate import verilog

ROOT = Path(__file__).resolve().parent.parent
# the order points are built in: the most telling first
WEIGHTS = ["int2", "int4", "int1", "ternary"]
ACTIVATIONS = ["int8", "fp16"]
DEVICE_PRECISIONS = [("int2", "int8"), ("int4", "int8")]
# the configuration the whole-device search grows (in n) on each device
DEVICE_BASES = {"ecp5-85k": {}, "ice40-up5k": {"m": 1, "max_k": 512}}
DEVICE_START_N = {"ecp5-85k": 64, "ice40-up5k": 8}
DEVICE_STEP = {"ecp5-85k": 8, "ice40-up5k": 1}
FILL = 0.8                  # aim the whole-device guess at this utilization
FLOAT_GROUP = 128           # dequantization group of float activations, every engine alike
DSP_N = 16                  # mac (DSP): m2 x n16 x k4 = 128 products of the 156 MULT18X18Ds


def variants():
    """(label, engine, dsp allowed) of every engine build to compare."""
    out = []
    for engine in ENGINES:
        out.append((f"{engine}" if engine != "mac" else "mac (logic)", engine, False))
        if engine == "mac":
            out.append(("mac (DSP)", engine, True))
    return out


def _variant_keys(engine, dsp):
    """Config keys a variant sets beyond the default configuration."""
    return {"n": DSP_N} if engine == "mac" and dsp else {}


def precisions():
    ws = [w for w in WEIGHTS if w in formats.WEIGHT_FORMATS]
    acts = [a for a in ACTIVATIONS if a in formats.ACTIVATION_FORMATS]
    return ws, acts


def _config(engine, **keys):
    if formats.ACTIVATION_FORMATS[keys.get("activation", "int8")].is_float:
        keys.setdefault("group_size", FLOAT_GROUP)
    try:
        return dataclasses.replace(GemmConfig(engine=engine), **keys)
    except (TypeError, ValueError):
        return None


def precision_part(args, cache):
    ws, acts = precisions()
    points, labels, shared = [], {}, {}
    seen_verilog = {}
    for act in acts:
        for w in ws:
            for label, engine, dsp in variants():
                cfg = _config(engine, weight=w, activation=act, **_variant_keys(engine, dsp))
                if cfg is None:
                    continue
                # identical hardware (ternary runs as int2 on the LUT engine) is built once;
                # only the LUT engine's ternary is compared (generation is not free)
                key = None
                if engine == "lut" and w in ("int2", "ternary"):
                    key = (verilog("gemm", cfg), dsp)
                    if key in seen_verilog:
                        shared[(label, w, act)] = seen_verilog[key]
                        continue
                point = Point(len(points), Config(gemm=cfg), "ecp5-85k",
                              SynthOptions(dsp=dsp, timeout=args.timeout), {})
                if key is not None:
                    seen_verilog[key] = (label, w, act)
                labels[point.index] = (label, w, act)
                points.append(point)
    results = _run(args, points, cache, "precision")
    table = {}
    for result, row in zip(results, rows(results)):
        table[labels[result["index"]]] = row
    for key, source in shared.items():
        table[key] = {**table[source], "same_as": source}
    return table, ws, acts


def _run(args, points, cache, label):
    """Build the points (or, with ``--cached-only``, look them up: missing ones are 'not run')."""
    if not args.cached_only:
        return run_points(points, cache, jobs=args.jobs, scheduler=args.scheduler, label=label)
    out = []
    keys = point_keys(points)          # the cache keys include each unit's Verilog digest
    for point in points:
        path = Path(cache) / f"{keys[point.index]}.json"
        result = json.loads(path.read_text()) if path.exists() else None
        if result is None or result.get("status") not in ("ok", "no-fit"):
            result = {**point.to_dict(), "status": "not run", "error": "not built yet",
                      "units": {}}
        out.append({**result, "index": point.index})
    return out


def _utilization(result, tgt):
    u = result["units"]["gemm"]
    packed = u["packed"] or {}
    cap = TARGETS[tgt].capacity
    parts = [packed.get("logic_cells", 0) / cap["logic_cells"]]
    if cap.get("bram"):
        parts.append(u["total"]["bram"] / cap["bram"])
    if cap.get("dsp"):
        parts.append(u["total"]["dsp"] / cap["dsp"])
    return max(parts)


def largest(args, cache, engine, dsp, weight, act, tgt):
    """The largest n that places and routes.

    Build the start size; scale n linearly to FILL of the device's tightest resource; on a
    failure try halfway back. Returns ``(result, every result tried)``.
    """
    step = DEVICE_STEP[tgt]
    base = _config(engine, weight=weight, activation=act, **DEVICE_BASES[tgt])
    if base is None:
        return None, []
    tried = {}

    def build(n):
        n = max(step, min(1024, n - n % step))
        if n not in tried:
            cfg = dataclasses.replace(base, n=n)
            point = Point(0, Config(gemm=cfg), tgt, SynthOptions(dsp=dsp, timeout=args.timeout),
                          {})
            tried[n] = _run(args, [point], cache, f"{engine} {weight}x{act} n={n} on {tgt}")[0]
        return n, tried[n]

    n, result = build(DEVICE_START_N[tgt])
    while result["status"] != "ok" and n > step:            # the start may not fit
        n, result = build(n // 2)
    if result["status"] != "ok":
        return None, list(tried.values())
    for _ in range(4):
        guess = int(n * FILL / _utilization(result, tgt))
        guess -= guess % step
        if guess <= n:
            break
        n2, r2 = build(guess)
        if r2["status"] != "ok":
            mid = (n + n2) // 2
            mid -= mid % step
            if mid > n:
                n3, r3 = build(mid)
                if r3["status"] == "ok":
                    n, result = n3, r3
            break
        n, result = n2, r2
        if _utilization(r2, tgt) > FILL - 0.1:
            break
    return result, list(tried.values())


def device_part(args, cache):
    out = []
    for label, engine, dsp in variants():
        for weight, act in DEVICE_PRECISIONS:
            if weight not in formats.WEIGHT_FORMATS or act not in formats.ACTIVATION_FORMATS:
                continue
            for tgt in args.devices.split(","):
                result, tried = largest(args, cache, engine, dsp, weight, act, tgt)
                out.append((label, weight, act, tgt, result, tried))
    return out


def _f(value, fmt="{:.1f}"):
    return "-" if value is None else fmt.format(value)


def precision_markdown(table, ws, acts):
    lines = [
        "| engine | weights | acts | MAC/cycle | Fmax MHz | GMAC/s | logic cells | DSP | BRAM "
        "| GMAC/s per 1000 LC | vs mac (logic) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, _, _ in variants():
        for act in acts:
            for w in ws:
                row = table.get((label, w, act))
                if row is None:
                    continue
                ref = table.get(("mac (logic)", w, act))
                ratio = "-"
                if ref is not None and ref.get("gops_per_kcell") and row.get("gops_per_kcell"):
                    ratio = f"{row['gops_per_kcell'] / ref['gops_per_kcell']:.2f}x"
                note = f" (same netlist as {row['same_as'][1]})" if "same_as" in row else ""
                if row["status"] != "ok":
                    lines.append(f"| {label} | {w}{note} | {act} | | | | {row['status']}: "
                                 f"{row.get('error')} | | | | |")
                    continue
                met = "" if row["timing_met"] else " (misses 150)"
                lines.append(
                    f"| {label} | {w}{note} | {act} | {row['ops_per_cycle']:g} | "
                    f"{row['fmax_mhz']:.1f}{met} | {row['gops']:.2f} | "
                    f"{row['logic_cells']:,} | {row['dsp']} | {row['bram']} | "
                    f"{row['gops_per_kcell']:.3f} | {ratio} |")
    return lines


def device_markdown(device_rows):
    lines = [
        "| engine | precision | device | largest config | MAC/cycle | Fmax MHz | GMAC/s "
        "| logic cells (with wrapper) | BRAM | DSP-bound peak, GMAC/s (DSPs x Fmax) | tried |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, weight, act, tgt, result, tried in device_rows:
        attempts = ", ".join(f"n{r['config']['gemm']['n']} {r['status']}"
                             for r in sorted(tried, key=lambda r: r["config"]["gemm"]["n"]))
        prec = f"W{formats.WEIGHT_FORMATS[weight].bits}A{act[3:]}" if act.startswith("int") \
            else f"{weight} x {act}"
        if result is None:
            lines.append(f"| {label} | {prec} | {tgt} | none places | | | | | | | {attempts} |")
            continue
        u = result["units"]["gemm"]
        g = result["config"]["gemm"]
        dsps = TARGETS[tgt].capacity["dsp"]
        peak = dsps * u["fmax_mhz"] / 1000
        lines.append(
            f"| {label} | {prec} | {tgt} | m{g['m']} n{g['n']} k{g['k']} | "
            f"{u['ops_per_cycle']:g} | {u['fmax_mhz']:.1f} | {u['gops']:.2f} | "
            f"{u['packed']['logic_cells']:,} of {u['packed']['logic_cells_available']:,} | "
            f"{u['total']['bram']} | {peak:.2f} ({dsps} x {u['fmax_mhz']:.0f} MHz) | "
            f"{attempts} |")
    return lines


def plot(table, ws, acts, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    labels = [label for label, _, _ in variants()]
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(1, len(labels))
    groups = [(w, a) for a in acts for w in ws]
    for i, label in enumerate(labels):
        ys = [(table.get((label, w, a)) or {}).get("gops_per_kcell") or 0 for w, a in groups]
        ax.bar([g + i * width for g in range(len(groups))], ys, width, label=label)
    ax.set_xticks([g + width * (len(labels) - 1) / 2 for g in range(len(groups))])
    ax.set_xticklabels([f"{w} x {a}" for w, a in groups], rotation=30, ha="right")
    ax.set_ylabel("GMAC/s per 1000 logic cells")
    ax.set_title("Compute density on ECP5-85k (placed and routed)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="precision,device")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--scheduler", default=None)
    parser.add_argument("--timeout", type=float, default=None, help="seconds per tool run")
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "density-points")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--devices", default=",".join(DEVICE_BASES),
                        help="targets of the whole-device part")
    parser.add_argument("--cached-only", action="store_true",
                        help="build nothing: print the table of the points cached so far")
    args = parser.parse_args()
    parts = args.part.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    ws, acts = precisions()
    missing = [a for a in ACTIVATIONS if a not in acts]
    lines = [f"Engines: {', '.join(ENGINES)}; weights {', '.join(ws)}; activations "
             f"{', '.join(acts)}" + (f" ({', '.join(missing)} not yet a format)" if missing
                                     else "") + ".", ""]
    if "precision" in parts:
        table, ws, acts = precision_part(args, args.cache)
        lines += ["### Compute density on ECP5-85k, default configurations", ""]
        lines += precision_markdown(table, ws, acts)
        plot(table, ws, acts, args.out / "density.png")
        (args.out / "density.json").write_text(json.dumps(
            {" / ".join(k): v for k, v in table.items()}, indent=2, default=str) + "\n")
    if "device" in parts:
        device_rows = device_part(args, args.cache)
        lines += ["", "### Whole device: the largest configuration that places and routes", ""]
        lines += device_markdown(device_rows)
    text = "\n".join(lines) + "\n"
    (args.out / "density.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
