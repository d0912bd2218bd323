"""Every width, depth and latency of a GEMM engine, derived once from its :class:`GemmConfig`.

The RTL sizes its registers from a :class:`GemmSpec`, the golden models check their values
against the same widths, and the drivers pack stream words with the same layout.

Ranges are exact integer bounds. ``A = max|x|`` over what the arrays see (the activation, or
for float activations the aligned mantissa, :mod:`lutmix.bfp`), ``G`` the groups of ``k`` one
accumulation spans (a whole weight tile for integer results, one dequantization block with
``group_size``), ``b`` the weight bits, ``p`` the planes per cycle, ``c`` the chunk.

Each engine accumulates its own integer ``acc`` and corrects it once per accumulation into the
exact dot product ``V = sum(x * q)``:

========= ======================================= ========================================
engine    per cycle and output (``partial``)       correction to ``V``
========= ======================================= ========================================
lut       +-table[index] << (c*p + pp), p planes  ``(acc + offset * xsum) / denom``
shiftadd  sum of x_t << (c*p + pp) where the code  ``acc - bias * xsum`` (bias 2**(b-1) for
          bit is set, p planes                    signed formats, 0 for unsigned)
mac       sum of x_t * q_t (a multiplier)          ``acc``
========= ======================================= ========================================

``xsum`` (the activations' sum per row) is computed once per group and shared by all ``n``
outputs; the LUT engine reads it from its table's all-plus entry.
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
        Cycles spent on one group (``ceil(bits / planes_per_cycle)``, 1 for ``mac``).
    max_groups : int
        Groups (of ``k`` activations) in one weight tile.
    acc_groups : int
        Groups one accumulation spans: ``max_groups``, or ``block_groups`` with dequantization.
    entry_bits : int
        ``lut``: a table entry; ``shiftadd``/``mac``: an activation as the array sees it.
    table_reg_bits : int
        The register that is shifted left by ``planes_per_cycle`` each chunk (the table, or the
        activations for ``shiftadd``).
    partial_bits, acc_bits, rowsum_bits, sum_bits, y_bits : int
        Signed widths: one cycle's contribution, the accumulator, the activation sum, the
        corrected sum before the division by ``denom``, and the dot product ``V``.
    y_lane_bits : int
        Width of one output lane: ``y_bits`` rounded up to 8, 16, 32 or 64, or 32 (fp32) with
        dequantization.
    w_word_bits, w_tdata_bits : int
        One weight-buffer word and its stream width: ``n * planes_per_cycle * k`` index bits
        for ``lut``, ``n * planes_per_cycle * k`` code bits for ``shiftadd``, and
        ``n * k * bits`` code bits for ``mac``.
    x_tdata_bits : int
        One activation beat: ``m * k`` activations.
    y_tdata_bits : int
        One output beat: ``n`` lanes.
    bank_depth : int
        Words in one of the two weight-buffer banks: ``max_groups * chunks``.
    t_bits : int
        Dequantization: width of ``V - z * xsum``.
    shift_bits : int
        Dequantization: signed width of a block's power of two (float activations).
    scale_bits, zero_bits : int
        Widths of one scale and one zero point on ``s_axis_s`` (0 when there are none).
    s_word_bits, s_tdata_bits : int
        One ``s_axis_s`` beat: ``n`` scales then ``n`` zero points, and its byte-padded width.
    dequant_lanes, dequant_steps : int
        Elements converted per cycle, and cycles to convert one block's ``m * n`` results.
    latency : int
        Cycles from the handshake of a tile's last activation beat to ``m_axis_y_tvalid``, with
        nothing stalled.
    """
    config: GemmConfig
    chunks: int
    max_groups: int
    acc_groups: int
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
    t_bits: int = 0
    shift_bits: int = 1
    scale_bits: int = 0
    zero_bits: int = 0
    s_word_bits: int = 0
    s_tdata_bits: int = 0
    dequant_lanes: int = 0
    dequant_steps: int = 0
    latency: int = 0

    @property
    def weight_format(self):
        return self.config.weight_format

    @property
    def activation_format(self):
        return self.config.activation_format

    @property
    def has_zeros(self):
        """Whether ``s_axis_s`` carries zero points (unsigned weights with dequantization)."""
        return self.zero_bits > 0

    def ideal_cycles(self, M, N, K):
        """Cycles a fully used array needs for an ``M x N x K`` GEMM (no padding, no stalls)."""
        c = self.config
        return math.ceil(M * N * K * self.chunks / (c.m * c.n * c.k))


def _bounds(config, groups):
    """(entry, table_reg, partial, acc, rowsum, sum, y) magnitudes for one accumulation."""
    wfmt, afmt = config.weight_format, config.activation_format
    b, p, k, chunks = wfmt.bits, config.planes_per_cycle, config.k, config.chunks
    xlo, xhi = afmt.core_min, afmt.core_max
    xmag = max(-xlo, xhi)
    qmag = max(-wfmt.min, wfmt.max)
    shift = (chunks - 1) * p
    rowsum = groups * k * xmag
    y = groups * k * xmag * qmag
    if config.engine == "lut":
        tmin, tmax = lut.table_bounds(k, xlo, xhi)
        emag = max(-tmin, tmax)
        entry = (tmin, tmax)
        table_reg = (tmin << shift, tmax << shift)
        partial = emag * (1 << shift) * ((1 << p) - 1)
        acc = groups * emag * ((1 << b) - 1)
        total = acc + abs(wfmt.offset) * rowsum
    elif config.engine == "shiftadd":
        entry = (xlo, xhi)
        table_reg = (xlo << shift, xhi << shift)
        partial = k * xmag * (1 << shift) * ((1 << p) - 1)
        acc = groups * k * xmag * ((1 << b) - 1)
        bias = (1 << (b - 1)) if wfmt.signed else 0
        total = acc + bias * rowsum
    else:
        entry = table_reg = (xlo, xhi)
        partial = k * xmag * qmag
        acc = groups * partial
        total = acc
    return entry, table_reg, partial, acc, rowsum, total, y


def gemm_spec(config):
    """Derive the :class:`GemmSpec` of ``config``."""
    if not isinstance(config, GemmConfig):
        raise TypeError(f"config must be a GemmConfig, not {config!r}")
    wfmt, afmt = config.weight_format, config.activation_format
    b, p, k, m, n = wfmt.bits, config.planes_per_cycle, config.k, config.m, config.n
    chunks = config.chunks
    acc_groups = config.block_groups if config.dequant else config.max_groups
    entry, table_reg, partial, acc, rowsum, total, y = _bounds(config, acc_groups)

    if config.engine == "mac":
        w_word_bits = n * k * b
    else:
        w_word_bits = n * p * k
    fields = dict(
        config=config,
        chunks=chunks,
        max_groups=config.max_groups,
        acc_groups=acc_groups,
        entry_bits=signed_bits(*entry),
        table_reg_bits=signed_bits(*table_reg),
        partial_bits=signed_bits(-partial, partial),
        acc_bits=signed_bits(-acc, acc),
        rowsum_bits=signed_bits(-rowsum, rowsum),
        sum_bits=signed_bits(-total, total),
        y_bits=signed_bits(-y, y),
        w_word_bits=w_word_bits,
        w_tdata_bits=8 * math.ceil(w_word_bits / 8),
        x_tdata_bits=m * k * afmt.bits,
        bank_depth=config.max_groups * chunks,
    )
    if not config.dequant:
        y_lane = lane_bits(fields["y_bits"])
        return GemmSpec(**fields, y_lane_bits=y_lane, y_tdata_bits=n * y_lane,
                        latency=chunks + 2)

    scale_bits = 16 if config.scale == "fp16" else 32
    if wfmt.signed:
        zero_bits, zmag = 0, 0
    elif config.zero_point == "original":
        zero_bits, zmag = 8, (1 << b) - 1
    else:
        zero_bits, zmag = scale_bits, 0
    tmag = y + zmag * rowsum
    lanes = config.dequant_lanes or math.ceil(m * n / (config.block_groups * chunks))
    steps = math.ceil(m * n / lanes)
    s_word_bits = n * (scale_bits + zero_bits)
    return GemmSpec(
        **fields,
        y_lane_bits=32,
        y_tdata_bits=n * 32,
        t_bits=signed_bits(-tmag, tmag),
        shift_bits=9 if afmt.is_float else 1,
        scale_bits=scale_bits,
        zero_bits=zero_bits,
        s_word_bits=s_word_bits,
        s_tdata_bits=8 * math.ceil(s_word_bits / 8),
        dequant_lanes=lanes,
        dequant_steps=steps,
        # issue -> lookup -> accumulate -> snapshot, then the dequantization pipeline
        # (select, convert, multiply, add) over its steps, then the output buffer
        latency=chunks + 2 + steps + 4,
    )
