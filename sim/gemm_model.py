"""Transaction-level model of a GEMM engine: input frames in, expected output frames out.

It follows the stream protocol, not the RTL's structure: weight tiles queue in load order, each
activation tile uses the oldest one, and a tile with ``release`` retires it. The arithmetic is
the bit-exact golden model.
"""

__all__ = ["GemmModel"]

from collections import deque

import numpy as np

from lutmix import words
from lutmix.golden.dequant import canonical_nan
from lutmix.golden.gemm import SPANS, align_device, dequant_tile


class GemmModel:
    """Predicts the ``m_axis_y`` frame of each ``s_axis_x`` frame.

    Frames arrive in any interleaving (a float front end takes activations before their
    weights are loaded); the model pairs them in order and predicts an activation tile's result
    as soon as its weight tile (and scales) are known.

    Parameters
    ----------
    spec : GemmSpec
    """

    def __init__(self, spec):
        self._spec = spec
        self._weights = deque()
        self._scales = deque()
        self._acts = deque()

    def weights(self, beats):
        """A weight frame entered the engine; returns the predictions it completes."""
        self._weights.append(words.unpack_weights(beats, self._spec))
        return self._drain()

    def scales(self, beats):
        """A scale frame entered the engine; returns the predictions it completes."""
        self._scales.append(words.unpack_scales(beats, self._spec))
        return self._drain()

    def acts(self, beats, release):
        """An activation frame entered the engine; returns the predictions it completes."""
        self._acts.append((words.unpack_acts(beats, self._spec), release))
        return self._drain()

    @property
    def pending(self):
        """Activation tiles still waiting for their weights."""
        return len(self._acts)

    def _drain(self):
        done = []
        dequant = self._spec.config.dequant
        while self._acts and self._weights and (self._scales or not dequant):
            x, release = self._acts.popleft()
            done.append(self._predict(x, release))
        return done

    def _predict(self, x, release):
        spec = self._spec
        c = spec.config
        codes = self._weights[0]
        if x.shape[1] != codes.shape[1]:
            raise RuntimeError(f"activation tile has K={x.shape[1]}, its weight tile "
                               f"K={codes.shape[1]}")
        scales = self._scales[0] if c.dequant else None
        if release:
            self._weights.popleft()
            if c.dequant:
                self._scales.popleft()
        if not c.dequant:
            return SPANS[c.engine](x, codes, spec)[0]
        S, Z = scales
        if spec.activation_format.is_float:
            core, shift, special = align_device(x, spec)
        else:
            core = x
            shift = np.zeros((c.m, S.shape[1]), np.int64)
            special = np.zeros((c.m, S.shape[1]), bool)
        if Z is None:
            Z = np.zeros(S.shape, np.int64)
        return canonical_nan(dequant_tile(core, shift, special, codes, S, Z, spec))


def compare_tiles(expected, actual):
    """Scoreboard compare for result tiles: ``None`` or the first differing element."""
    if expected is None:
        return {"unpredictable": "the engine accepted a frame the protocol forbids"}
    if expected.shape != actual.shape:
        return {"shape": [list(expected.shape), list(actual.shape)]}
    if expected.dtype == np.float32:          # float results: compare the bits
        eb, ab = expected.view(np.uint32), actual.view(np.uint32)
        diff = np.argwhere(eb != ab)
        if len(diff) == 0:
            return None
        r, j = (int(i) for i in diff[0])
        return {"row": r, "col": j,
                "expected": f"{float(expected[r, j])!r} (0x{int(eb[r, j]):08x})",
                "actual": f"{float(actual[r, j])!r} (0x{int(ab[r, j]):08x})",
                "count": int(len(diff))}
    diff = np.argwhere(expected != actual)
    if len(diff) == 0:
        return None
    r, j = (int(i) for i in diff[0])
    return {"row": r, "col": j, "expected": int(expected[r, j]), "actual": int(actual[r, j]),
            "count": int(len(diff))}
