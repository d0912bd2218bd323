"""Transaction-level model of the softmax unit: an input row in, its expected output row out.

It follows the stream protocol (one frame per row, in order); the arithmetic is the bit-exact
golden model.
"""

__all__ = ["SoftmaxModel", "compare_rows"]

import numpy as np

from lutmix import softmax_words
from lutmix.golden.softmax import softmax_words as golden_words


class SoftmaxModel:
    """Predicts the ``m_axis_p`` frame (as words) of each ``s_axis_x`` frame.

    Parameters
    ----------
    spec : SoftmaxSpec
    """

    def __init__(self, spec):
        self._spec = spec

    def row(self, beats, user):
        """A row entered the unit (beat bytes and per-beat ``tuser``); returns its words,
        one per lane of every beat."""
        spec = self._spec
        if len(beats) > spec.max_beats:
            raise RuntimeError(f"row of {len(beats)} beats is longer than max_len "
                               f"{spec.config.max_len}")
        x, mask = softmax_words.unpack_row(beats, user, spec)
        return golden_words(x[None], mask[None], spec=spec)[0]


def compare_rows(expected, actual):
    """Scoreboard compare for rows of words: ``None`` or the first differing element."""
    if expected is None:
        return {"unpredictable": "the unit accepted a row the protocol forbids"}
    if expected.shape != actual.shape:
        return {"words": [len(expected), len(actual)]}
    diff = np.flatnonzero(expected != actual)
    if len(diff) == 0:
        return None
    i = int(diff[0])
    return {"element": i, "expected": int(expected[i]), "actual": int(actual[i]),
            "count": int(len(diff))}
