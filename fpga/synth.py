"""``lutmix synth``: Yosys synthesis and nextpnr place and route of every unit of a config.

Each unit is generated exactly as ``lutmix generate`` writes it, put inside the few-pin
:class:`~lutmix.fpga.wrapper.SynthWrapper`, synthesized with ``synth_ecp5`` or
``synth_ice40`` (the unit kept as its own module) and placed and routed by nextpnr with
``--timing-allow-fail``, so a missed timing target still reports the achieved Fmax.

The report of a unit holds

* ``unit`` / ``wrapper`` / ``total``: Yosys's cell counts (LUT4, FF, carry, DSP, block RAM,
  ...), for the unit's own module, for the wrapper and for both;
* ``packed``: nextpnr's utilization after packing (``logic_cells`` is ``TRELLIS_COMB`` or
  ``ICESTORM_LC``), for the whole top;
* ``logic_cells``: the packed logic cells of the whole top, of the wrapper and of the unit
  alone (the difference; see :func:`wrapper_logic_cells`);
* ``fmax_mhz`` with ``seed`` and the ``freq_mhz`` target, the critical path's end points;
* ``ops_per_cycle`` and ``gops`` (``ops_per_cycle * fmax``), from the unit's manifest;
* ``steps``: the wall time of generation, Yosys and nextpnr.

The whole report adds the tool versions, the target and the flow options.
"""

__all__ = ["SynthOptions", "synth_unit", "synth_config", "write_synth", "write_staged",
           "format_report", "ops_per_cycle", "wrapper_logic_cells", "WRAPPER_NOTE"]

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from amaranth.back import verilog as amaranth_verilog

from lutmix import __version__
from lutmix.errors import ToolError, show
from lutmix.outputs import write_staged
from lutmix.rtl.generate import UNITS

from .targets import PACKED_KINDS, Target, count_cells, target
from .tools import run_tool, tool_versions
from .wrapper import WRAPPER_NAME, SynthWrapper, unit_ports, wrapper_cost

WRAPPER_NOTE = (
    "Each unit is synthesized inside lutmix_synth_top, a wrapper with pins clk, din and "
    "dout[0..{pins_minus_1}]. Every input of the unit is a flip-flop of a shift chain fed from "
    "din; every output is captured in a flip-flop and folded by a pipelined tree of 4-input "
    "XORs into dout. The unit stays a separate module (keep_hierarchy), so no logic of it is "
    "optimized away and its paths start and end at flip-flops. 'unit' counts the unit's own "
    "cells, 'wrapper' the wrapper's; packed logic cells of the unit are those of the whole top "
    "minus the wrapper's.")


MAX_TIMEOUT = 1e7               # seconds (about 4 months): more is surely a mistake


@dataclass(frozen=True)
class SynthOptions:
    """How to build: ``pnr`` (False stops after synthesis), ``freq`` (MHz, None for the
    target's default), ``seed`` (nextpnr), ``dsp`` (False keeps multipliers in logic),
    ``pins`` (output pins of the wrapper) and ``timeout`` (seconds per tool, or None)."""
    pnr: bool = True
    freq: float | None = None
    seed: int = 1
    dsp: bool = True
    pins: int = 4
    timeout: float | None = None

    def __post_init__(self):
        if not isinstance(self.pnr, bool):
            raise TypeError(f"pnr must be True or False, not {self.pnr!r}")
        if not isinstance(self.dsp, bool):
            raise TypeError(f"dsp must be True or False, not {self.dsp!r}")
        if self.freq is not None and (isinstance(self.freq, bool)
                                      or not isinstance(self.freq, (int, float))
                                      or not 1 <= self.freq <= 1000):
            raise ValueError(f"freq must be a number of MHz from 1 to 1000, not {self.freq!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) \
                or not 0 <= self.seed < 2 ** 31:
            raise ValueError(f"seed must be an integer from 0 to 2147483647, not {self.seed!r}")
        t = self.timeout
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))
                              or not 0 < t <= MAX_TIMEOUT):
            raise ValueError(f"timeout must be a positive, finite number of seconds (at most "
                             f"{MAX_TIMEOUT:g}), not {show(t)}")


def ops_per_cycle(info):
    """``(operations per cycle, operation name)`` from a unit's manifest entry, or ``(None,
    None)``.

    GEMM engines give ``geometry.macs_per_cycle``; any unit may give ``ops_per_cycle`` and
    ``op`` at the top of its entry.
    """
    geometry = info.get("geometry", {})
    if "macs_per_cycle" in geometry:
        return float(geometry["macs_per_cycle"]), "MAC"
    if "ops_per_cycle" in info:
        return float(info["ops_per_cycle"]), str(info.get("op", "op"))
    return None, None


def wrapper_logic_cells(family, wrapper_counts):
    """Packed logic cells the wrapper occupies.

    ECP5 packs flip-flops apart from ``TRELLIS_COMB``, so the wrapper's logic cells are its
    LUT4s (its XOR tree), exactly. An iCE40 ``ICESTORM_LC`` holds one LUT and the flip-flop it
    feeds, and a flip-flop with no LUT still takes an LC, so the wrapper takes one LC per
    flip-flop; where a capture flip-flop shares an LC with the unit's last LUT, that LC is
    counted for the wrapper, so the unit's count is a slight underestimate there.
    """
    if family == "ecp5":
        return wrapper_counts["lut4"]
    return max(wrapper_counts["ff"], wrapper_counts["lut4"])


def _first_line(path, pattern):
    try:
        for line in Path(path).read_text(errors="replace").splitlines():
            if re.search(pattern, line):
                return line.strip()
    except OSError:
        pass
    return None


_UTIL = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%")


def _overflow_from_log(path):
    """``(cell type, used, available)`` of the first resource nextpnr found over capacity."""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        m = _UTIL.match(line.strip().replace("\t", " "))
        if m and int(m.group(2)) > int(m.group(3)):
            return m.group(1), int(m.group(2)), int(m.group(3))
    for line in lines:
        m = re.search(r"no BELs remaining to implement cell type '(\w+)'", line)
        if m:
            return m.group(1), None, None
    return None


RESOURCE_NAMES = {
    "lut4": "LUT4", "ff": "flip-flops", "dsp": "DSP blocks", "bram": "block RAMs",
    "spram": "SPRAMs", "logic_cells": "logic cells",
}


def _read_nextpnr(path, family):
    """nextpnr's ``--report`` JSON: ``(report, packed cells used and available, Fmax MHz or
    None)``; the Fmax is the slowest clock's."""
    pnr = json.loads(Path(path).read_text())
    util = pnr["utilization"]
    packed = {}
    for key, cell in PACKED_KINDS[family].items():
        if cell in util:
            packed[key] = util[cell]["used"]
            packed[f"{key}_available"] = util[cell]["available"]
    fmax = min(clock["achieved"] for clock in pnr["fmax"].values()) if pnr["fmax"] else None
    return pnr, packed, fmax


def _check_fit(section, tgt, total):
    """Raise ``ToolError`` naming the first resource the synthesized design overflows.

    The LUT count is a lower bound on the logic cells (ECP5 carry cells take two more each),
    so a design reported here surely does not fit.
    """
    cap = tgt.capacity
    need = {
        "logic_cells": total["lut4"] + (2 * total["carry"] if tgt.family == "ecp5" else 0),
        "ff": total["ff"], "dsp": total["dsp"], "bram": total["bram"],
        "spram": total.get("spram", 0),
    }
    for key, value in need.items():
        if value > cap.get(key, 0):
            raise ToolError(f"{section} does not fit {tgt.name}: it needs {value} "
                            f"{RESOURCE_NAMES[key]}, the device has {cap.get(key, 0)}")


def _yosys_script(unit_file, top_name, tgt, dsp):
    return "\n".join([
        f"read_verilog -sv {unit_file}",
        f"read_verilog -sv {WRAPPER_NAME}.v",
        f"hierarchy -check -top {WRAPPER_NAME}",
        f"setattr -mod -set keep_hierarchy 1 {top_name}",
        f"{tgt.synth_command(WRAPPER_NAME, dsp=dsp)} -json synth.json",
        "tee -q -o stat.json stat -json",
        "",
    ])


def _module_counts(stat, name):
    for key, value in stat["modules"].items():
        if key.lstrip("\\") == name:
            return value["num_cells_by_type"]
    raise ToolError(f"yosys: module {name!r} missing from its statistics")


def synth_unit(section, unit_config, tgt, options, workdir):
    """Synthesize (and place and route) one unit in ``workdir``; returns its report dict.

    Raises ``ToolError`` with one line when a tool fails or the design does not fit.
    """
    if not isinstance(tgt, Target):
        tgt = target(tgt)
    if section not in UNITS:
        raise ValueError(f"section must be one of {', '.join(map(repr, UNITS))}, "
                         f"not {section!r}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    unit = UNITS[section]
    steps = {}

    start = time.monotonic()
    top = unit.build(unit_config)
    text = amaranth_verilog.convert(top, name=unit.top_name, emit_src=False)
    info = unit.describe(unit_config, top)
    ports = unit_ports(top)
    wrapper = SynthWrapper(module=unit.top_name, ports=ports, pins=options.pins)
    wrapper_text = amaranth_verilog.convert(wrapper, name=WRAPPER_NAME, emit_src=False)
    unit_file = f"{unit.top_name}.v"
    (workdir / unit_file).write_text(text)
    (workdir / f"{WRAPPER_NAME}.v").write_text(wrapper_text)
    (workdir / "synth.ys").write_text(_yosys_script(unit_file, unit.top_name, tgt, options.dsp))
    steps["generate"] = {"seconds": round(time.monotonic() - start, 3)}

    log = workdir / "yosys.log"
    rc, seconds = run_tool("yosys", ["-s", "synth.ys"], cwd=workdir, log=log,
                           timeout=options.timeout)
    steps["yosys"] = {"seconds": round(seconds, 3), "log": "yosys.log"}
    if rc != 0:
        error = _first_line(log, r"ERROR") or f"exit status {rc}"
        raise ToolError(f"yosys failed on {section}: {error}")
    stat = json.loads((workdir / "stat.json").read_text())
    unit_counts = count_cells(tgt.family, _module_counts(stat, unit.top_name))
    wrapper_counts = count_cells(tgt.family, {
        k: v for k, v in _module_counts(stat, WRAPPER_NAME).items() if k != unit.top_name})
    total = {key: unit_counts[key] + wrapper_counts[key] for key in unit_counts
             if key != "other_types"}
    total["other_types"] = {t: unit_counts["other_types"].get(t, 0)
                            + wrapper_counts["other_types"].get(t, 0)
                            for t in sorted({*unit_counts["other_types"],
                                             *wrapper_counts["other_types"]})}
    _check_fit(section, tgt, total)

    ops, op = ops_per_cycle(info)
    freq = float(options.freq if options.freq is not None else tgt.default_freq)
    report = {
        "section": section,
        "top": unit.top_name,
        "config": asdict(unit_config),
        "verilog_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "ports": [{"name": n, "direction": d, "width": w} for n, d, w in ports],
        "unit": unit_counts,
        "wrapper": wrapper_counts,
        "wrapper_design": wrapper_cost(ports, options.pins),
        "total": total,
        "ops_per_cycle": ops,
        "op": op,
        "freq_mhz": freq,
        "seed": options.seed,
        "dsp_allowed": options.dsp,
        "packed": None,
        "logic_cells": None,
        "fmax_mhz": None,
        "timing_met": None,
        "gops": None,
        "critical_path": None,
        "steps": steps,
    }
    if not options.pnr:
        return report

    log = workdir / "nextpnr.log"
    args = [*tgt.nextpnr_args, "--json", "synth.json", "--freq", f"{freq:g}",
            "--timing-allow-fail", "--seed", str(options.seed), "--report", "nextpnr.json"]
    args.append("--lpf-allow-unconstrained" if tgt.family == "ecp5"
                else "--pcf-allow-unconstrained")
    rc, seconds = run_tool(tgt.nextpnr, args, cwd=workdir, log=log, timeout=options.timeout)
    steps["nextpnr"] = {"seconds": round(seconds, 3), "log": "nextpnr.log"}
    if rc != 0:
        overflow = _overflow_from_log(log)
        if overflow is not None:
            cell, used, available = overflow
            amount = f"{used} {cell}, the device has {available}" if used is not None \
                else f"more {cell} cells than the device has"
            raise ToolError(f"{section} does not fit {tgt.name}: it needs {amount}")
        error = _first_line(log, r"ERROR") or f"exit status {rc}"
        raise ToolError(f"{tgt.nextpnr} failed on {section}: {error}")
    pnr, packed, fmax = _read_nextpnr(workdir / "nextpnr.json", tgt.family)
    total_cells = packed.get("logic_cells")
    wrap_cells = wrapper_logic_cells(tgt.family, wrapper_counts)
    report.update({
        "packed": packed,
        "logic_cells": {"total": total_cells, "wrapper": wrap_cells,
                        "unit": None if total_cells is None else total_cells - wrap_cells},
        "fmax_mhz": None if fmax is None else round(fmax, 2),
        "timing_met": None if fmax is None else fmax >= freq,
    })
    if fmax is not None and ops is not None:
        report["gops"] = round(ops * fmax / 1000, 4)
    paths = [p for p in pnr.get("critical_paths", []) if p["from"] == p["to"]
             and p["from"] != "<async>" and p["path"]]
    if paths:
        path = paths[0]["path"]
        report["critical_path"] = {
            "from": path[0]["from"].get("cell"), "to": path[-1]["to"].get("cell"),
            "ns": round(sum(step["delay"] for step in path), 3),
            "logic_ns": round(sum(s["delay"] for s in path if s["type"] == "logic"), 3),
        }
    return report


def synth_config(config, tgt, options, workdir):
    """Synthesize every unit of ``config`` into ``workdir/<section>``; returns the report."""
    if not isinstance(tgt, Target):
        tgt = target(tgt)
    units = {}
    for section in UNITS:
        unit_config = getattr(config, section, None)
        if unit_config is None:
            continue
        units[section] = synth_unit(section, unit_config, tgt, options,
                                    Path(workdir) / section)
    tools = ["yosys"] + ([tgt.nextpnr] if options.pnr else [])
    opts = asdict(options)
    opts["freq"] = float(options.freq if options.freq is not None else tgt.default_freq)
    return {
        "lutmix_version": __version__,
        "target": {"name": tgt.name, "family": tgt.family, "device": tgt.device,
                   "capacity": tgt.capacity},
        "flow": opts,
        "tools": tool_versions(tools),
        "wrapper": WRAPPER_NOTE.format(pins_minus_1=options.pins - 1),
        "config": config.to_dict(),
        "units": units,
    }


def write_synth(config, tgt, options, outdir):
    """Run :func:`synth_config` and write ``outdir/report.json`` and each unit's files.

    Work happens in a staging folder (:func:`lutmix.outputs.write_staged`); only a complete run
    is moved into ``outdir``, so a failure writes nothing. ``outdir`` must be new, empty or a
    folder lutmix made.
    """
    return write_staged(outdir, "synth", lambda stage: synth_config(config, tgt, options, stage))


def _fmt(value, digits=0):
    if value is None:
        return "-"
    if isinstance(value, float) and digits:
        return f"{value:.{digits}f}"
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)


def format_report(report):
    """The printed table of a synthesis report (one block per unit)."""
    tgt = report["target"]
    lines = []
    for section, u in report["units"].items():
        cap = tgt["capacity"]
        lines.append(f"{section} ({u['top']}) on {tgt['name']} ({tgt['device']}), "
                     f"seed {u['seed']}, target {u['freq_mhz']:g} MHz"
                     + ("" if u["dsp_allowed"] else ", no DSP"))
        lines.append(f"  {'resource':<14}{'unit':>10}{'wrapper':>10}{'total':>10}"
                     f"{'device':>10}{'used':>8}")
        rows = [("LUT4", "lut4"), ("FF", "ff"), ("carry", "carry"), ("DSP", "dsp"),
                ("BRAM", "bram")]
        if "spram" in u["total"]:
            rows.append(("SPRAM", "spram"))
        if "lutram" in u["total"]:
            rows.append(("LUT RAM", "lutram"))
        for label, key in rows:
            avail = cap.get(key)
            used = f"{100 * u['total'][key] / avail:.1f}%" if avail else ""
            lines.append(f"  {label:<14}{_fmt(u['unit'][key]):>10}{_fmt(u['wrapper'][key]):>10}"
                         f"{_fmt(u['total'][key]):>10}{_fmt(avail):>10}{used:>8}")
        if u["logic_cells"] is not None:
            lc = u["logic_cells"]
            avail = u["packed"].get("logic_cells_available")
            used = f"{100 * lc['total'] / avail:.1f}%" if avail else ""
            cell = "TRELLIS_COMB" if tgt["family"] == "ecp5" else "ICESTORM_LC"
            lines.append(f"  {'logic cells':<14}{_fmt(lc['unit']):>10}{_fmt(lc['wrapper']):>10}"
                         f"{_fmt(lc['total']):>10}{_fmt(avail):>10}{used:>8}  ({cell})")
        steps = ", ".join(f"{name} {s['seconds']:.1f} s" for name, s in u["steps"].items())
        if u["fmax_mhz"] is not None:
            status = "met" if u["timing_met"] else "MISSED"
            lines.append(f"  Fmax {u['fmax_mhz']:.2f} MHz (target {u['freq_mhz']:g} MHz "
                         f"{status}, seed {u['seed']})")
            if u["gops"] is not None:
                lines.append(f"  throughput {u['ops_per_cycle']:g} {u['op']}/cycle x "
                             f"{u['fmax_mhz']:.2f} MHz = {u['gops']:.3f} G{u['op']}/s")
        else:
            lines.append("  synthesis only (--no-pnr): no packing, no Fmax")
        lines.append(f"  time: {steps}")
    tools = "; ".join(v["version"] for v in report["tools"].values())
    lines.append(f"tools: {tools}")
    return "\n".join(lines)
