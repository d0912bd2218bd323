"""Every width, depth and latency of a GEMM engine, derived once from its :class:`GemmConfig`.

The RTL sizes its registers from a :class:`GemmSpec`, the golden model checks its values
against the same widths, and the drivers pack stream words with the same layout.

Ranges are exact integer bounds: ``A = max|x|`` for the activation format, ``E`` the largest
table entry magnitude (:func:`lutmix.lut.table_bounds`), ``G`` the groups a weight tile holds
and ``b`` the weight bits.

============== ================================================== ===========================
register       range                                              why
============== ================================================== ===========================
table entry    table_bounds(k, x_min, x_max)                      k signed activations
shifted entry  entry << (c * planes_per_cycle), c < chunks         bit-serial weight 2**i
partial        +-E * 2**((chunks-1)*p) * (2**p - 1)               p planes in one cycle
acc            +-G * E * (2**b - 1)                               sum of x*q' over the tile
rowsum         +-G * k * A                                        sum of x over the tile
y              +-G * k * A * max|q|                               the exact dot product
============== ================================================== ===========================
"""

__all__ = ["GemmSpec", "gemm_spec"]

import math
from dataclasses import dataclass

from . import lut
from .arith import lane_bits, signed_bits
from .config import GemmConfig


@dataclass(frozen=True)
class GemmSpec:
    """Derived parameters of a GEMM engine (see the module docstring for the ranges).

    Attributes
    ----------
    config : GemmConfig
    chunks : int
        Cycles spent on one LUT group (``ceil(bits / planes_per_cycle)``).
    max_groups : int
        LUT groups (of ``k`` activations) in one weight tile.
    entry_bits, table_reg_bits, partial_bits, acc_bits, rowsum_bits, y_bits : int
        Signed widths of the datapath registers.
    y_lane_bits : int
        Width of one output lane on the stream: ``y_bits`` rounded up to 8, 16, 32 or 64.
    w_word_bits, w_tdata_bits : int
        One weight-buffer word (``n * planes_per_cycle * k`` index bits) and its stream width.
    x_tdata_bits : int
        One activation beat: ``m * k`` activations.
    y_tdata_bits : int
        One output beat: ``n`` lanes.
    bank_depth : int
        Words in one of the two weight-buffer banks: ``max_groups * chunks``.
    latency : int
        Cycles from the handshake of a tile's last activation beat to ``m_axis_y_tvalid``
        with a free output buffer: ``chunks + 2``.
    """
    config: GemmConfig
    chunks: int
    max_groups: int
    entry_bits: int
    table_reg_bits: int
    partial_bits: int
    acc_bits: int
    rowsum_bits: int
    sum_bits: int
    y_bits: int
    y_lane_bits: int
    w_word_bits: int
    w_tdata_bits: int
    x_tdata_bits: int
    y_tdata_bits: int
    bank_depth: int
    latency: int

    @property
    def weight_format(self):
        return self.config.weight_format

    @property
    def activation_format(self):
        return self.config.activation_format

    def ideal_cycles(self, M, N, K):
        """Cycles a fully used array needs for an ``M x N x K`` GEMM (no padding, no stalls)."""
        c = self.config
        return math.ceil(M * N * K * self.chunks / (c.m * c.n * c.k))


def gemm_spec(config):
    """Derive the :class:`GemmSpec` of ``config``."""
    if not isinstance(config, GemmConfig):
        raise TypeError(f"config must be a GemmConfig, not {config!r}")
    wfmt, afmt = config.weight_format, config.activation_format
    b, p, k = wfmt.bits, config.planes_per_cycle, config.k
    chunks = config.chunks
    groups = config.max_groups

    tmin, tmax = lut.table_bounds(k, afmt.min, afmt.max)
    emag = max(-tmin, tmax)
    entry_bits = signed_bits(tmin, tmax)
    shift = (chunks - 1) * p
    table_reg_bits = signed_bits(tmin << shift, tmax << shift)
    pmag = emag * (1 << shift) * ((1 << p) - 1)
    partial_bits = signed_bits(-pmag, pmag)
    amag = groups * emag * ((1 << b) - 1)
    acc_bits = signed_bits(-amag, amag)
    xmag = max(-afmt.min, afmt.max)
    rmag = groups * k * xmag
    rowsum_bits = signed_bits(-rmag, rmag)
    cmag = abs(wfmt.offset) * rmag
    sum_bits = signed_bits(-(amag + cmag), amag + cmag)
    qmag = max(-wfmt.min, wfmt.max)
    ymag = groups * k * xmag * qmag
    y_bits = signed_bits(-ymag, ymag)
    y_lane = lane_bits(y_bits)

    w_word_bits = config.n * p * k
    return GemmSpec(
        config=config,
        chunks=chunks,
        max_groups=groups,
        entry_bits=entry_bits,
        table_reg_bits=table_reg_bits,
        partial_bits=partial_bits,
        acc_bits=acc_bits,
        rowsum_bits=rowsum_bits,
        sum_bits=sum_bits,
        y_bits=y_bits,
        y_lane_bits=y_lane,
        w_word_bits=w_word_bits,
        w_tdata_bits=8 * math.ceil(w_word_bits / 8),
        x_tdata_bits=config.m * k * afmt.bits,
        y_tdata_bits=config.n * y_lane,
        bank_depth=groups * chunks,
        latency=chunks + 2,
    )
