"""Stream word layouts of the softmax unit: rows to AXI4-Stream beats and back.

Little-endian lanes, as in :mod:`lutmix.words`. One row is one frame of
``ceil(length / lanes)`` beats, ``tlast`` on the final one.

``s_axis_x`` (logits): element ``j * lanes + i`` of a row is lane ``i`` of beat ``j``, a signed
    integer sign-extended to ``in_lane_bits`` (8 or 16). ``tuser`` bit ``i`` masks lane ``i`` out;
    the final beat's unused lanes are masked.
``m_axis_p`` (probabilities): the word of element ``j * lanes + i`` is lane ``i`` of beat ``j``,
    unsigned in ``out_lane_bits`` (16 or 32); unused lanes of the final beat are 0.
"""

__all__ = ["pack_row", "unpack_row", "pack_words", "unpack_words"]

import numpy as np


def _lanes(x, mask, spec):
    x = np.asarray(x, dtype=np.int64).ravel()
    mask = np.zeros(x.shape, dtype=bool) if mask is None else np.asarray(mask, bool).ravel()
    pad = -len(x) % spec.lanes
    x = np.pad(x, (0, pad)).reshape(-1, spec.lanes)
    mask = np.pad(mask, (0, pad), constant_values=True).reshape(-1, spec.lanes)
    return x, mask


def pack_row(x, mask, spec):
    """One row of logits (and mask) to ``(beat bytes (beats, bytes), tuser (beats,))``."""
    x, mask = _lanes(x, mask, spec)
    lanes = np.ascontiguousarray(x.astype(f"<i{spec.in_lane_bits // 8}"))
    beats = lanes.view(np.uint8).reshape(len(x), -1)
    user = (mask.astype(np.int64) << np.arange(spec.lanes)).sum(axis=1)
    return beats, user


def unpack_row(beats, user, spec):
    """Invert :func:`pack_row`: ``(x, mask)`` of ``beats * lanes`` elements (padding included)."""
    beats = np.ascontiguousarray(beats, dtype=np.uint8)
    x = beats.view(f"<i{spec.in_lane_bits // 8}").astype(np.int64).reshape(-1)
    mask = (np.asarray(user, dtype=np.int64)[:, None] >> np.arange(spec.lanes)) & 1
    return x, mask.reshape(-1).astype(bool)


def pack_words(words, spec):
    """Output words of one row (padded to whole beats with 0) to beat bytes."""
    words = np.asarray(words, dtype=np.int64).ravel()
    words = np.pad(words, (0, -len(words) % spec.lanes)).reshape(-1, spec.lanes)
    lanes = np.ascontiguousarray(words.astype(f"<u{spec.out_lane_bits // 8}"))
    return lanes.view(np.uint8).reshape(len(words), -1)


def unpack_words(beats, spec):
    """Beat bytes ``(beats, bytes)`` to words, ``beats * lanes`` of them (int64)."""
    beats = np.ascontiguousarray(beats, dtype=np.uint8)
    return beats.view(f"<u{spec.out_lane_bits // 8}").astype(np.int64).reshape(-1)
