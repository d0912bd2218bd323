"""Verilog generation and the manifest that describes a generated design."""

__all__ = ["Unit", "UNITS", "TOP_NAMES", "gemm_top", "softmax_top", "verilog", "manifest",
           "design_files", "write_design"]

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from amaranth.back import verilog as amaranth_verilog

from lutmix import __version__, words
from lutmix.gemm_spec import gemm_spec
from lutmix.outputs import Outputs

from .axis import AxisTop
from .gelu import gelu_manifest, gelu_top
from .gemm_engine import GemmEngine
from .softmax import Softmax


@dataclass(frozen=True)
class Unit:
    """How one config section becomes hardware.

    Attributes
    ----------
    top_name : str
        Verilog module name of the unit's top.
    build : callable
        ``build(unit_config)`` returns the AXI4-Stream top (an :class:`AxisTop`).
    describe : callable
        ``describe(unit_config, top)`` returns the unit's manifest entries (streams, widths,
        latency, ...).
    """
    top_name: str
    build: Callable
    describe: Callable


def gemm_top(config):
    """The AXI4-Stream top of the GEMM engine of a :class:`~lutmix.config.GemmConfig`."""
    return AxisTop(GemmEngine(config))


def _convert(section, unit_config, name=None):
    unit = UNITS[section]
    top = unit.build(unit_config)
    text = amaranth_verilog.convert(top, name=name or unit.top_name, emit_src=False)
    return top, text


def verilog(section, unit_config, name=None):
    """Verilog text for one unit. The same config always gives the same bytes."""
    return _convert(section, unit_config, name)[1]


def _port_list(top):
    ports = []
    for pname, member in top.signature.members.items():
        ports.append({"name": pname, "direction": "in" if member.flow.name == "In" else "out",
                      "width": member.shape.width if hasattr(member.shape, "width")
                      else len(getattr(top, pname))})
    return ports


def _gemm_manifest(cfg, top):
    spec = gemm_spec(cfg)
    c = spec.config
    return {
        "ports": _port_list(top),
        "clock": "aclk (rising edge)",
        "reset": "aresetn (active low, synchronous)",
        "streams": {
            "s_axis_w": {
                "role": "weight tiles",
                "tdata_bits": spec.w_tdata_bits,
                "beats_per_tile": "groups * chunks",
                "tlast": "last beat of a weight tile",
                "word": words.__doc__.split("``s_axis_w``")[1].split("``s_axis_x``")[0].strip(),
            },
            "s_axis_x": {
                "role": "activation tiles",
                "tdata_bits": spec.x_tdata_bits,
                "lane_bits": spec.activation_format.bits,
                "lanes": c.m * c.k,
                "beats_per_tile": "groups",
                "tlast": "last beat of an activation tile (group groups-1)",
                "tuser": "bit 0, release: on the tile's last beat, frees its weight tile",
                "word": "x[r, g*k + t] in lane r*k + t",
            },
            "m_axis_y": {
                "role": "results",
                "tdata_bits": spec.y_tdata_bits,
                "lane_bits": spec.y_lane_bits,
                "lanes": c.n,
                "beats_per_tile": c.m,
                "tlast": "row m-1 of a tile",
                "word": "y[r, j] in lane j of beat r, signed",
            },
        },
        "geometry": {
            "chunks": spec.chunks,
            "max_groups": spec.max_groups,
            "bank_depth": spec.bank_depth,
            # a group of k activations x n outputs x m rows every `chunks` cycles (the same
            # rate as GemmSpec.ideal_cycles); the mac engine takes whole weights: chunks = 1
            "macs_per_cycle": c.m * c.n * c.k / spec.chunks,
        },
        "widths": {
            "table_entry": spec.entry_bits,
            "shifted_entry": spec.table_reg_bits,
            "partial": spec.partial_bits,
            "accumulator": spec.acc_bits,
            "row_sum": spec.rowsum_bits,
            "result": spec.y_bits,
        },
        "latency_cycles": spec.latency,
        "latency": "chunks + 2 cycles from the last s_axis_x beat of a tile to m_axis_y_tvalid",
        "throughput": "one weight word per cycle; an s_axis_x beat every chunks cycles",
    }


def _gelu_manifest(cfg, top):
    # ops_per_cycle / op: the throughput `lutmix synth` multiplies by Fmax
    return {"ports": _port_list(top), **gelu_manifest(cfg), "ops_per_cycle": cfg.lanes,
            "op": "elem"}


def softmax_top(config):
    """The AXI4-Stream top of the softmax unit of a :class:`~lutmix.config.SoftmaxConfig`."""
    return AxisTop(Softmax(config))


def _softmax_manifest(cfg, top):
    from lutmix.softmax_math import softmax_spec
    s = softmax_spec(cfg)
    return {
        "ports": _port_list(top),
        "clock": "aclk (rising edge)",
        "reset": "aresetn (active low, synchronous)",
        "streams": {
            "s_axis_x": {
                "role": "logits, one row per frame",
                "tdata_bits": s.lanes * s.in_lane_bits,
                "lane_bits": s.in_lane_bits,
                "lanes": s.lanes,
                "word": f"x[j*lanes + i] in lane i of beat j, a signed {s.in_bits}-bit integer "
                        f"sign-extended to the lane; real value x * {cfg.in_scale!r}",
                "tuser": "bit i masks lane i out (probability 0); pad the final beat with masked "
                         "lanes",
                "tlast": "last beat of a row",
            },
            "m_axis_p": {
                "role": "probabilities, one row per frame",
                "tdata_bits": s.lanes * s.out_lane_bits,
                "lane_bits": s.out_lane_bits,
                "lanes": s.lanes,
                "word": f"unsigned, {s.frac_bits} fractional bits ({s.word_bits}-bit word, "
                        f"{s.one} = 1.0); masked lanes and fully masked rows give 0",
                "tlast": "last beat of a row",
            },
        },
        "method": cfg.method,
        "widths": {
            "mantissa": s.mant_bits + 1, "exponent": s.exp_bits, "guard": s.guard_bits,
            "sum": s.acc_bits, "normalized_sum": s.norm_bits + 1, "reciprocal": s.recip_bits,
            "product": s.prod_bits, "word": s.word_bits,
        },
        "buffer_beats": s.buffer_depth,
        "latency_cycles": s.latency,
        "latency": "cycles from a row's last s_axis_x beat to m_axis_p_tvalid of its first "
                   "output beat; a row of n beats takes 2n + latency - 1 cycles end to end",
        "throughput": "lanes elements per cycle in each pass, sustained over back-to-back rows",
        "error_bound_lsb": s.error_bound_lsb,
    }


UNITS = {
    "gemm": Unit("lutmix_gemm", gemm_top, _gemm_manifest),
    "gelu": Unit("lutmix_gelu", gelu_top, _gelu_manifest),
    "softmax": Unit("lutmix_softmax", softmax_top, _softmax_manifest),
}
TOP_NAMES = {section: unit.top_name for section, unit in UNITS.items()}


def manifest(config, converted):
    """The manifest of a design: config, and per unit its files, ports, words and latency.

    ``converted`` maps each section to the ``(top, verilog text)`` generated for it.
    """
    units = {}
    for section, name in TOP_NAMES.items():
        unit_config = getattr(config, section, None)
        if unit_config is None:
            continue
        top, text = converted[section]
        info = {"top": name, "verilog": f"{name}.v",
                "sha256": hashlib.sha256(text.encode()).hexdigest()}
        info.update(UNITS[section].describe(unit_config, top))
        units[section] = info
    return {"lutmix_version": __version__, "config": config.to_dict(), "units": units}


def design_files(config):
    """``{file name: text}`` of a design: each unit's Verilog and ``manifest.json``."""
    converted = {section: _convert(section, getattr(config, section))
                 for section in TOP_NAMES if getattr(config, section, None) is not None}
    files = {f"{TOP_NAMES[section]}.v": text for section, (_, text) in converted.items()}
    files["manifest.json"] = json.dumps(manifest(config, converted), indent=2) + "\n"
    return files


def write_design(config, outdir):
    """Write each unit's Verilog and ``manifest.json`` into ``outdir``; returns the paths.

    ``outdir`` must be new, empty or a folder lutmix made (:class:`lutmix.outputs.Outputs`,
    checked first); the files are written together at the end, so a failure writes nothing.
    """
    with Outputs() as out:
        folder = out.folder(outdir, kind="generate")
        files = design_files(config)
        for name, text in files.items():
            (folder.stage / name).write_text(text)
    return [Path(outdir) / name for name in files]
