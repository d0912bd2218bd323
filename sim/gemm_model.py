"""Transaction-level model of a GEMM engine: input frames in, expected output frames out.

It follows the stream protocol, not the RTL's structure: weight tiles queue in load order, each
activation tile uses the oldest one, and a tile with ``release`` retires it. The arithmetic is
the bit-exact golden model.
"""

__all__ = ["GemmModel"]

from collections import deque

import numpy as np

from lutmix import words
from lutmix.golden.gemm import SPANS


class GemmModel:
    """Predicts the ``m_axis_y`` frame of each ``s_axis_x`` frame.

    Parameters
    ----------
    spec : GemmSpec
    """

    def __init__(self, spec):
        self._spec = spec
        self._weights = deque()

    def weights(self, beats):
        """A weight frame entered the engine: ``beats`` of shape (beats, bytes)."""
        self._weights.append(words.unpack_weights(beats, self._spec))

    def acts(self, beats, release):
        """An activation frame entered the engine; returns the expected result (m, n)."""
        if not self._weights:
            raise RuntimeError("activation tile with no weight tile loaded")
        codes = self._weights[0]
        x = words.unpack_acts(beats, self._spec)
        if x.shape[1] != codes.shape[1]:
            raise RuntimeError(f"activation tile has K={x.shape[1]}, its weight tile "
                               f"K={codes.shape[1]}")
        if release:
            self._weights.popleft()
        return SPANS[self._spec.config.engine](x, codes, self._spec)[0]


def compare_tiles(expected, actual):
    """Scoreboard compare for result tiles: ``None`` or the first differing element."""
    if expected is None:
        return {"unpredictable": "the engine accepted a frame the protocol forbids"}
    if expected.shape != actual.shape:
        return {"shape": [list(expected.shape), list(actual.shape)]}
    diff = np.argwhere(expected != actual)
    if len(diff) == 0:
        return None
    r, j = (int(i) for i in diff[0])
    return {"row": r, "col": j, "expected": int(expected[r, j]), "actual": int(actual[r, j]),
            "count": int(len(diff))}
