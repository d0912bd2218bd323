"""Transaction-level model of the GELU unit: each accepted input frame predicts one output
frame of the same length, computed by the bit-exact golden model."""

__all__ = ["GeluModel", "compare_frames"]

import numpy as np

from lutmix.gelu_math import unpack_words
from lutmix.golden import gelu


class GeluModel:
    """Predicts the ``m_axis_y`` frame of each ``s_axis_x`` frame.

    Parameters
    ----------
    spec : GeluSpec
    """

    def __init__(self, spec):
        self._spec = spec

    def inputs(self, beats):
        """The input words a frame carries, as the unit reads them: the low ``input_bits``
        of each lane, sign-extended. Shape (beats, lanes)."""
        bits = self._spec.in_bits
        words = unpack_words(beats, self._spec.in_lane_bits) & ((1 << bits) - 1)
        return words - ((words >> (bits - 1)) << bits)

    def frame(self, beats):
        """An input frame entered the unit; returns ``(inputs, expected outputs)``."""
        x = self.inputs(beats)
        return x, gelu(x, self._spec)


def compare_frames(expected, actual):
    """Scoreboard compare: ``None``, or the first differing word with its input."""
    x, y = expected
    if y.shape != actual.shape:
        return {"shape": [list(y.shape), list(actual.shape)]}
    diff = np.argwhere(y != actual)
    if len(diff) == 0:
        return None
    beat, lane = (int(i) for i in diff[0])
    return {"beat": beat, "lane": lane, "input": int(x[beat, lane]),
            "expected": int(y[beat, lane]), "actual": int(actual[beat, lane]),
            "count": int(len(diff))}
