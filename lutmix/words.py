"""Stream word layouts: how tiles become AXI4-Stream beats and back.

All streams are little-endian: lane ``i`` of a beat occupies bits ``[i*w, (i+1)*w)`` of
``tdata``, and byte 0 of a beat is ``tdata[7:0]``.

``s_axis_w`` (weights), one beat per weight-buffer word, ``groups * chunks`` beats per tile,
beat ``g * chunks + c`` for group ``g`` and chunk ``c``; ``tdata`` is padded with zero bits to a
whole number of bytes:
    ``lut``: for output channel ``j`` and plane slot ``pp``, the ``k``-bit index word
    (:func:`lutmix.lut.index_words`) of plane ``c * planes_per_cycle + pp`` at bits
    ``[(j * planes_per_cycle + pp) * k, ... + k)``; slots past the last plane are zero.
    ``shiftadd``: the same positions hold the plain code bits: bit ``t`` of the slot is bit
    ``c * planes_per_cycle + pp`` of the code of activation ``g*k + t``.
    ``mac`` (one chunk): the ``bits``-wide code of output ``j``, activation ``g*k + t`` at bit
    ``(j * k + t) * bits``.
``s_axis_s`` (scales, with ``group_size``), one beat per block, ``blocks`` beats per tile:
    the scale of output ``j`` in lane ``j`` (binary16 or binary32 bits), then, for unsigned
    weights, the zero point of output ``j`` in lane ``n + j``: an 8-bit unsigned integer
    (``"original"``) or the scale format's bits (``"scaled"``).
``s_axis_x`` (activations), one beat per group, ``groups`` beats per tile:
    activation ``x[r, g*k + t]`` is lane ``r * k + t``, in the activation format's width (the
    bit pattern for fp16 and bf16).
``m_axis_y`` (results), one beat per row, ``m`` beats per tile:
    ``y[r, j]`` is lane ``j``: a signed integer of ``y_lane_bits``, or binary32 bits with
    ``group_size``.
"""

__all__ = [
    "pack_weights", "unpack_weights", "pack_acts", "unpack_acts",
    "pack_scales", "unpack_scales", "pack_outputs", "unpack_outputs",
]

import numpy as np

from . import lut


def _lane_dtype(bits):
    return np.dtype(f"<i{bits // 8}")


def _plane_words(codes, spec):
    """Per (n, G, plane) the k-bit word of the plane: LUT index words, or plain code bits."""
    b, k = spec.weight_format.bits, spec.config.k
    if spec.config.engine == "lut":
        return lut.index_words(codes, b, k)
    cg = np.asarray(codes, dtype=np.int64).reshape(codes.shape[0], -1, k)
    planes = (cg[..., None, :] >> np.arange(b)[:, None]) & 1                # (n, G, b, k)
    return (planes << np.arange(k)).sum(axis=-1).astype(np.uint8)


def _codes_from_plane_words(words, spec):
    b, k = spec.weight_format.bits, spec.config.k
    if spec.config.engine == "lut":
        return lut.codes_from_index_words(words, k)
    bits = (words[..., None].astype(np.int64) >> np.arange(k)) & 1           # (n, G, b, k)
    codes = (bits << np.arange(b)[:, None]).sum(axis=-2)                     # (n, G, k)
    return codes.reshape(codes.shape[0], -1).astype(np.uint8)


def pack_weights(codes, spec):
    """Weight codes ``(n, G*k)`` of one tile to ``(G*chunks, w_tdata_bits/8)`` beat bytes."""
    c = spec.config
    b, p, k, chunks = spec.weight_format.bits, c.planes_per_cycle, c.k, spec.chunks
    codes = np.asarray(codes)
    n, kk = codes.shape
    if n != c.n or kk % k:
        raise ValueError(f"Weight tile must be ({c.n}, G*{k}), not {codes.shape}")
    groups = kk // k
    if c.engine == "mac":
        cg = codes.reshape(n, groups, k).transpose(1, 0, 2).astype(np.int64)  # (G, n, k)
        bits = (cg[..., None] >> np.arange(b)) & 1                           # (G, n, k, b)
        bits = bits.reshape(groups, n * k * b)
    else:
        words = _plane_words(codes, spec)                                    # (n, G, b)
        slots = np.zeros((n, groups, chunks * p), dtype=np.uint8)
        slots[..., :b] = words
        slots = slots.reshape(n, groups, chunks, p).transpose(1, 2, 0, 3)   # (G, C, n, p)
        bits = (slots[..., None] >> np.arange(k)) & 1                       # (G, C, n, p, k)
        bits = bits.reshape(groups * chunks, n * p * k)
    pad = spec.w_tdata_bits - spec.w_word_bits
    bits = np.pad(bits, ((0, 0), (0, pad))).astype(np.uint8)
    return np.packbits(bits, axis=1, bitorder="little")


def unpack_weights(beats, spec):
    """Invert :func:`pack_weights`: beat bytes to weight codes ``(n, G*k)``."""
    c = spec.config
    b, p, k, chunks = spec.weight_format.bits, c.planes_per_cycle, c.k, spec.chunks
    beats = np.asarray(beats, dtype=np.uint8)
    if beats.ndim != 2 or beats.shape[0] % chunks:
        raise ValueError(f"Weight beats must be (G*{chunks}, bytes), not {beats.shape}")
    groups = beats.shape[0] // chunks
    bits = np.unpackbits(beats, axis=1, bitorder="little")[:, :spec.w_word_bits]
    if c.engine == "mac":
        bits = bits.reshape(groups, c.n, k, b).astype(np.int64)
        codes = (bits << np.arange(b)).sum(axis=-1)                          # (G, n, k)
        return codes.transpose(1, 0, 2).reshape(c.n, groups * k).astype(np.uint8)
    bits = bits.reshape(groups, chunks, c.n, p, k).astype(np.int64)
    words = (bits << np.arange(k)).sum(axis=-1)                              # (G, C, n, p)
    words = words.transpose(2, 0, 1, 3).reshape(c.n, groups, chunks * p)[..., :b]
    return _codes_from_plane_words(words, spec)


def _act_dtype(spec):
    afmt = spec.activation_format
    return np.dtype("<u2") if afmt.is_float else _lane_dtype(afmt.bits)


def pack_acts(x, spec):
    """Activations ``(m, G*k)`` of one tile to ``(G, x_tdata_bits/8)`` beat bytes (float
    activations as ``uint16`` bit patterns)."""
    c = spec.config
    x = np.asarray(x)
    m, kk = x.shape
    if m != c.m or kk % c.k:
        raise ValueError(f"Activation tile must be ({c.m}, G*{c.k}), not {x.shape}")
    groups = kk // c.k
    lanes = x.reshape(m, groups, c.k).transpose(1, 0, 2).reshape(groups, m * c.k)
    lanes = np.ascontiguousarray(lanes.astype(_act_dtype(spec)))
    return lanes.view(np.uint8).reshape(groups, -1)


def unpack_acts(beats, spec):
    """Invert :func:`pack_acts`: beat bytes to activations ``(m, G*k)`` (int64; bit patterns
    for float activations)."""
    c = spec.config
    beats = np.ascontiguousarray(beats, dtype=np.uint8)
    lanes = beats.view(_act_dtype(spec)).astype(np.int64)
    groups = lanes.shape[0]
    return lanes.reshape(groups, c.m, c.k).transpose(1, 0, 2).reshape(c.m, groups * c.k)


def _scale_dtype(spec):
    return np.dtype("<f2") if spec.scale_bits == 16 else np.dtype("<f4")


def pack_scales(s, z, spec):
    """Scales ``(n, blocks)`` and zero points (or ``None``) of one tile to
    ``(blocks, s_tdata_bits/8)`` beat bytes."""
    c = spec.config
    s = np.asarray(s)
    blocks = s.shape[1]
    parts = [np.ascontiguousarray(s.T.astype(_scale_dtype(spec))).view(np.uint8)]
    if spec.has_zeros:
        z = np.zeros(s.shape) if z is None else np.asarray(z)
        zdtype = np.dtype(np.uint8) if c.zero_point == "original" else _scale_dtype(spec)
        parts.append(np.ascontiguousarray(z.T.astype(zdtype)).view(np.uint8))
    beats = np.concatenate([p.reshape(blocks, -1) for p in parts], axis=1)
    return np.pad(beats, ((0, 0), (0, spec.s_tdata_bits // 8 - beats.shape[1])))


def unpack_scales(beats, spec):
    """Invert :func:`pack_scales`: ``(S float32 (n, blocks), Z or None)``; ``Z`` is int64
    (``"original"``) or float32 (``"scaled"``)."""
    c = spec.config
    beats = np.ascontiguousarray(beats, dtype=np.uint8)
    sbytes = c.n * spec.scale_bits // 8
    s = beats[:, :sbytes].copy().view(_scale_dtype(spec)).astype(np.float32).T
    if not spec.has_zeros:
        return s, None
    zbytes = c.n * spec.zero_bits // 8
    zraw = beats[:, sbytes:sbytes + zbytes].copy()
    if c.zero_point == "original":
        return s, zraw.astype(np.int64).T
    return s, zraw.view(_scale_dtype(spec)).astype(np.float32).T


def pack_outputs(y, spec):
    """Results ``(m, n)`` to ``(m, y_tdata_bits/8)`` beat bytes."""
    dtype = np.dtype("<f4") if spec.config.dequant else _lane_dtype(spec.y_lane_bits)
    y = np.ascontiguousarray(np.asarray(y).astype(dtype))
    return y.view(np.uint8).reshape(y.shape[0], -1)


def unpack_outputs(beats, spec):
    """Invert :func:`pack_outputs`: beat bytes ``(rows, bytes)`` to results (int64, or float32
    with ``group_size``)."""
    beats = np.ascontiguousarray(beats, dtype=np.uint8)
    if spec.config.dequant:
        return beats.view("<f4").reshape(beats.shape[0], -1).copy()
    return beats.view(_lane_dtype(spec.y_lane_bits)).astype(np.int64).reshape(beats.shape[0], -1)
