"""A sweep's outputs: ``results.csv``, ``summary.md`` and the plots.

One row per point and unit. The throughput of a row is ``gops = ops_per_cycle * Fmax / 1000``
(GMAC/s for GEMM engines); its cost is ``logic_cells``, the packed logic cells of the unit
alone (see :func:`lutmix.fpga.synth.wrapper_logic_cells`). Synthesis-only sweeps have no Fmax
and no packing: their rows rank by ``ops_per_cycle`` against the LUT4 count instead.

The Pareto front of a target holds the rows no other row of that target beats on both: no
fewer logic cells with at least the throughput, or at most the cells with more throughput.
"""

__all__ = ["rows", "pareto_front", "write_csv", "write_summary", "write_plots",
           "write_results", "COLUMNS"]

import csv
import dataclasses
import io
from pathlib import Path

from lutmix.config import SECTIONS
from lutmix.outputs import atomic_write

METRICS = ["status", "lut4", "ff", "carry", "dsp", "bram", "lutram", "spram",
           "logic_cells", "logic_cells_total", "fmax_mhz", "freq_mhz", "timing_met",
           "ops_per_cycle", "op", "gops", "gops_per_kcell", "yosys_s", "nextpnr_s", "error"]
COLUMNS = ["point", "hash", "target", "seed", "dsp_allowed", "section"]


def _config_columns(results):
    cols = []
    for section, cls in SECTIONS.items():
        if any(section in r["config"] for r in results):
            cols += [f"{section}.{f.name}" for f in dataclasses.fields(cls)]
    return cols


def rows(results):
    """Flatten point results into dict rows (one per point and unit, or one per failed
    point)."""
    out = []
    for r in results:
        base = {"point": r["index"], "hash": r["hash"], "target": r["target"],
                "seed": r["options"]["seed"], "dsp_allowed": r["options"]["dsp"]}
        for section, values in r["config"].items():
            for key, value in values.items():
                base[f"{section}.{key}"] = value
        if r["status"] != "ok" or not r.get("units"):
            sections = list(r["config"])
            out.append({**base, "section": ",".join(sections), "status": r["status"],
                        "error": r.get("error")})
            continue
        for section, u in r["units"].items():
            row = {**base, "section": section, "status": "ok", "error": None}
            for key in ("lut4", "ff", "carry", "dsp", "bram", "lutram", "spram"):
                row[key] = u["unit"].get(key)
            lc = u.get("logic_cells") or {}
            row["logic_cells"] = lc.get("unit")
            row["logic_cells_total"] = lc.get("total")
            row["fmax_mhz"] = u.get("fmax_mhz")
            row["freq_mhz"] = u.get("freq_mhz")
            row["timing_met"] = u.get("timing_met")
            row["ops_per_cycle"] = u.get("ops_per_cycle")
            row["op"] = u.get("op")
            row["gops"] = u.get("gops")
            if row["gops"] is not None and row["logic_cells"]:
                row["gops_per_kcell"] = round(1000 * row["gops"] / row["logic_cells"], 4)
            row["yosys_s"] = u["steps"].get("yosys", {}).get("seconds")
            row["nextpnr_s"] = u["steps"].get("nextpnr", {}).get("seconds")
            out.append(row)
    return out


def _cost_and_speed(row):
    """(cost, throughput) of a row: packed cells and G-ops/s after place and route, LUT4s and
    ops per cycle after synthesis only."""
    if row.get("gops") is not None and row.get("logic_cells") is not None:
        return row["logic_cells"], row["gops"]
    if row.get("ops_per_cycle") is not None and row.get("lut4") is not None:
        return row["lut4"], row["ops_per_cycle"]
    return None


def pareto_front(table):
    """The rows of ``table`` on the (fewer cells, more throughput) Pareto front, by cost."""
    scored = [(cs, row) for row in table if (cs := _cost_and_speed(row)) is not None]
    front = []
    for (cost, speed), row in scored:
        dominated = any(c <= cost and s >= speed and (c < cost or s > speed)
                        for (c, s), _ in scored)
        if not dominated:
            front.append(row)
    return sorted(front, key=lambda r: _cost_and_speed(r))


def _columns(results):
    return COLUMNS + _config_columns(results) + METRICS


def write_csv(table, columns, path):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in columns})
    _atomic_text(path, buf.getvalue())


def _atomic_text(path, text):
    atomic_write(path, text)


def _varying(table, columns):
    """Config columns whose value differs between rows (what the grid changed)."""
    out = []
    for c in columns:
        values = {str(row.get(c)) for row in table}
        if len(values) > 1:
            out.append(c)
    return out


def _md_value(value):
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "/")


def _md_table(table, columns):
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in table:
        lines.append("| " + " | ".join(_md_value(row.get(c)) for c in columns) + " |")
    return lines


def write_summary(sweep, results, table, skipped, path, plots):
    config_cols = _config_columns(results)
    varying = _varying(table, ["target", "seed", "dsp_allowed"] + config_cols)
    counts = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    cached = sum(1 for r in results if r.get("cached"))
    lines = [f"# Sweep {sweep.source}", ""]
    lines.append(f"{len(results)} points: " + ", ".join(f"{n} {s}" for s, n in
                                                         sorted(counts.items()))
                 + f" ({cached} from the cache)"
                 + (f"; {len(skipped)} grid points left out as invalid" if skipped else "")
                 + ".")
    lines.append("")
    lines.append("Throughput is ops/cycle x Fmax (GMAC/s for GEMM engines); logic cells are "
                 "the unit's own packed cells (TRELLIS_COMB on ECP5, ICESTORM_LC on iCE40), "
                 "without the few-pin synthesis wrapper.")
    lines.append("")
    metrics = ["logic_cells", "lut4", "ff", "carry", "dsp", "bram", "fmax_mhz", "ops_per_cycle",
               "gops", "gops_per_kcell"]
    ok = [row for row in table if row.get("status") == "ok"]
    lines += ["## All points", ""]
    lines += _md_table(ok, ["point", "section"] + varying + metrics)
    bad = [row for row in table if row.get("status") != "ok"]
    if bad:
        lines += ["", "## Points that did not build", ""]
        lines += _md_table(bad, ["point"] + varying + ["status", "error"])
    for tgt in sorted({row["target"] for row in ok}):
        front = pareto_front([row for row in ok if row["target"] == tgt])
        lines += ["", f"## Pareto front on {tgt}", ""]
        lines += _md_table(front, ["point", "section"] + [c for c in varying if c != "target"]
                           + metrics)
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{p.stem}]({p.name})" for p in plots]
    if skipped:
        lines += ["", "## Left out as invalid", ""]
        lines += [f"* {s}" for s in skipped]
    _atomic_text(path, "\n".join(lines) + "\n")


def _label(row, varying):
    return ", ".join(f"{c.split('.')[-1]}={row.get(c)}" for c in varying if c != "target")


def write_plots(results, table, outdir):
    """Throughput against logic cells for all targets, and one Pareto plot per target."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    ok = [row for row in table if row.get("status") == "ok" and _cost_and_speed(row)]
    if not ok:
        return []
    pnr = all(row.get("gops") is not None and row.get("logic_cells") is not None for row in ok)
    xlabel = "logic cells of the unit" if pnr else "LUT4s of the unit (synthesis only)"
    ylabel = "throughput, G-ops/s (GMAC/s for GEMM)" if pnr else "ops per cycle"
    varying = _varying(ok, _config_columns(results) + ["seed", "dsp_allowed"])
    targets = sorted({row["target"] for row in ok})
    paths = []
    meta = {"Software": None}               # no version stamp: same data, same file

    fig, ax = plt.subplots(figsize=(7, 5))
    for tgt in targets:
        pts = [_cost_and_speed(row) for row in ok if row["target"] == tgt]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], label=tgt, alpha=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title("Throughput against logic cells")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(outdir) / "throughput_vs_cells.png"
    fig.savefig(path, dpi=120, metadata=meta)
    plt.close(fig)
    paths.append(path)

    for tgt in targets:
        mine = [row for row in ok if row["target"] == tgt]
        front = pareto_front(mine)
        fig, ax = plt.subplots(figsize=(7, 5))
        pts = [_cost_and_speed(row) for row in mine]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], color="0.6", label="points")
        fpts = [_cost_and_speed(row) for row in front]
        ax.plot([p[0] for p in fpts], [p[1] for p in fpts], "o-", color="C3",
                label="Pareto front")
        for row, (x, y) in zip(front, fpts):
            ax.annotate(_label(row, varying), (x, y), fontsize=7, xytext=(4, 4),
                        textcoords="offset points")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(f"Pareto front on {tgt}")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = Path(outdir) / f"pareto_{tgt}.png"
        fig.savefig(path, dpi=120, metadata=meta)
        plt.close(fig)
        paths.append(path)
    return paths


def write_results(sweep, results, skipped, outdir):
    """Write ``results.csv``, the plots and ``summary.md`` into ``outdir``; returns the paths."""
    outdir = Path(outdir)
    table = rows(results)
    csv_path = outdir / "results.csv"
    write_csv(table, _columns(results), csv_path)
    plots = write_plots(results, table, outdir)
    summary = outdir / "summary.md"
    write_summary(sweep, results, table, skipped, summary, plots)
    return [csv_path, summary, *plots]
