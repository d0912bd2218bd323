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
``s_axis_x`` (activations), one beat per LUT group, ``groups`` beats per tile:
    activation ``x[r, g*k + t]`` is lane ``r * k + t``, in the activation format's width.
``m_axis_y`` (results), one beat per row, ``m`` beats per tile:
    ``y[r, j]`` is lane ``j``, a signed integer of ``y_lane_bits``.
"""

__all__ = [
    "pack_weights", "unpack_weights", "pack_acts", "unpack_acts",
    "pack_outputs", "unpack_outputs",
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


def pack_acts(x, spec):
    """Activations ``(m, G*k)`` of one tile to ``(G, x_tdata_bits/8)`` beat bytes."""
    c = spec.config
    x = np.asarray(x)
    m, kk = x.shape
    if m != c.m or kk % c.k:
        raise ValueError(f"Activation tile must be ({c.m}, G*{c.k}), not {x.shape}")
    groups = kk // c.k
    lanes = x.reshape(m, groups, c.k).transpose(1, 0, 2).reshape(groups, m * c.k)
    lanes = np.ascontiguousarray(lanes.astype(_lane_dtype(spec.activation_format.bits)))
    return lanes.view(np.uint8).reshape(groups, -1)


def unpack_acts(beats, spec):
    """Invert :func:`pack_acts`: beat bytes to activations ``(m, G*k)`` (int64)."""
    c = spec.config
    beats = np.ascontiguousarray(beats, dtype=np.uint8)
    lanes = beats.view(_lane_dtype(spec.activation_format.bits)).astype(np.int64)
    groups = lanes.shape[0]
    return lanes.reshape(groups, c.m, c.k).transpose(1, 0, 2).reshape(c.m, groups * c.k)


def pack_outputs(y, spec):
    """Results ``(m, n)`` to ``(m, y_tdata_bits/8)`` beat bytes."""
    y = np.ascontiguousarray(np.asarray(y).astype(_lane_dtype(spec.y_lane_bits)))
    return y.view(np.uint8).reshape(y.shape[0], -1)


def unpack_outputs(beats, spec):
    """Invert :func:`pack_outputs`: beat bytes ``(rows, bytes)`` to results (int64)."""
    beats = np.ascontiguousarray(beats, dtype=np.uint8)
    return beats.view(_lane_dtype(spec.y_lane_bits)).astype(np.int64).reshape(beats.shape[0], -1)
