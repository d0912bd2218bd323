"""The whole GEMM as the engines and their drivers compute it, bit for bit.

:func:`gemm` lays K out as the engine sees it (:mod:`lutmix.tiling`), aligns float activations
per block (:mod:`lutmix.bfp`), runs each accumulation span through the engine's array model
(:mod:`lutmix.golden.lut_gemm`, :mod:`~lutmix.golden.shiftadd_gemm`,
:mod:`~lutmix.golden.mac_gemm`), dequantizes per block (:mod:`lutmix.golden.dequant`) and adds the
K-tiles as the driver does.
"""

__all__ = ["gemm", "int_gemm", "dequant_gemm", "dequant_tile", "lut_gemm", "ref_lut_gemm",
           "core_activations", "align_device", "SPANS", "REF_SPANS"]

import numpy as np

from lutmix import bfp
from lutmix.gemm_spec import GemmSpec
from lutmix.operands import check_gemm_operands, check_scales
from lutmix.tiling import plan_gemm

from .dequant import accumulate, block_scales, canonical_nan, dequant_block
from .lut_gemm import lut_span, ref_lut_span
from .mac_gemm import mac_span, ref_mac_span
from .shiftadd_gemm import ref_shiftadd_span, shiftadd_span

SPANS = {"lut": lut_span, "shiftadd": shiftadd_span, "mac": mac_span}
REF_SPANS = {"lut": ref_lut_span, "shiftadd": ref_shiftadd_span, "mac": ref_mac_span}


def _check_spec(spec):
    if not isinstance(spec, GemmSpec):
        raise TypeError(f"spec must be a GemmSpec, not {spec!r}")


def core_activations(x, spec, plan):
    """What the arrays see: ``(core (M, device K) int64, shift (M, blocks), special)``.

    Integer activations pass through (shift 0); float ones are aligned block by block.
    """
    afmt = spec.activation_format
    if not afmt.is_float:
        core = plan.to_device_k(np.asarray(x).astype(np.int64))
        blocks = max(plan.blocks, 1)
        M = core.shape[0]
        return core, np.zeros((M, blocks), np.int64), np.zeros((M, blocks), bool)
    return align_device(plan.to_device_k(afmt.to_bits(x), fill=0), spec)


def align_device(bits, spec):
    """Float bit patterns laid out as device K (whole blocks) to aligned core integers."""
    c = spec.config
    block_k = c.block_groups * c.k
    M = bits.shape[0]
    mant, shift, special = bfp.align(bits.reshape(M, -1, block_k), spec.activation_format)
    return mant.reshape(M, -1), shift, special


def dequant_tile(core, shift, special, codes, S, Z, spec, *, ref=False):
    """One K-tile through the array and the dequantization unit: float32 (M, N).

    ``core`` (M, tile K) and ``codes`` (N, tile K) in device layout, ``shift``/``special``
    (M, blocks), ``S``/``Z`` (N, blocks) for the tile's blocks.
    """
    c = spec.config
    span = (REF_SPANS if ref else SPANS)[c.engine]
    block_k = c.block_groups * c.k
    y = None
    for blk in range(core.shape[1] // block_k):
        cols = slice(blk * block_k, (blk + 1) * block_k)
        V, xsum = span(core[:, cols], codes[:, cols], spec)
        v = dequant_block(V, xsum, shift[:, blk], special[:, blk], S[:, blk], Z[:, blk], spec)
        y = accumulate(y, v)
    return y


def int_gemm(x, w, spec, *, ref=False):
    """``X @ W.T`` as an engine without dequantization computes it: exact, int64."""
    _check_spec(spec)
    if spec.config.dequant:
        raise ValueError("int_gemm models engines without group_size; use gemm()")
    w, x = check_gemm_operands(w, x, spec.config, w_name="W", x_name="X")
    span = (REF_SPANS if ref else SPANS)[spec.config.engine]
    plan = plan_gemm(x.shape[0], w.shape[0], x.shape[1], spec)
    core, _, _ = core_activations(x, spec, plan)
    codes = plan.to_device_k(spec.weight_format.encode(w))
    y = np.zeros((x.shape[0], w.shape[0]), dtype=np.int64)
    for k0, k1 in plan.k_tiles:
        y += span(core[:, k0:k1], codes[:, k0:k1], spec)[0]
    return y


def dequant_gemm(x, w, spec, scales, zeros=None, *, ref=False):
    """``X @ W_real.T`` with per-group scales and zero points, as the engine computes it:
    float32, see :mod:`lutmix.golden.dequant` for every rounding."""
    _check_spec(spec)
    c = spec.config
    w, x = check_gemm_operands(w, x, c, w_name="W", x_name="X")
    scales, zeros = check_scales(scales, zeros, c, w.shape[0], x.shape[1],
                                 s_name="S", z_name="Z")
    plan = plan_gemm(x.shape[0], w.shape[0], x.shape[1], spec)
    core, shift, special = core_activations(x, spec, plan)
    codes = plan.to_device_k(spec.weight_format.encode(w))
    S, Z = block_scales(scales, zeros, spec, plan.blocks, w.shape[0])
    Y = None
    for kt, (k0, k1) in enumerate(plan.k_tiles):
        b0, b1 = plan.tile_blocks(kt)
        y = dequant_tile(core[:, k0:k1], shift[:, b0:b1], special[:, b0:b1], codes[:, k0:k1],
                         S[:, b0:b1], Z[:, b0:b1], spec, ref=ref)
        Y = accumulate(Y, y)
    return canonical_nan(Y)


def gemm(x, w, spec, scales=None, zeros=None):
    """The engine's result for ``X (M, K)`` and ``W (N, K)``: int64 without ``group_size``,
    float32 with it (then ``scales`` is required)."""
    _check_spec(spec)
    if spec.config.dequant:
        return dequant_gemm(x, w, spec, scales, zeros)
    if scales is not None or zeros is not None:
        raise ValueError("scales and zero points need a config with group_size")
    return int_gemm(x, w, spec)


def lut_gemm(x, w, spec):
    """``X @ W.T`` computed as the LUT engine computes it, bit for bit (int64)."""
    return int_gemm(x, w, spec)


def ref_lut_gemm(x, w, spec):
    """:func:`lut_gemm` through the engine's loop written out (slow; small shapes)."""
    return int_gemm(x, w, spec, ref=True)
