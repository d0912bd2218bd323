"""Row shapes for the softmax unit's tests, regression and bench, from the issue's list.

Logits are drawn in real units and quantized with ``in_scale`` (clipped to the input range).
"""

__all__ = ["SHAPES", "ACCURACY_LIMIT_LSB", "make_rows", "top1_preserved"]

import numpy as np

SHAPES = {
    "uniform": "uniform over the whole input range",
    "gauss1": "Gaussian, sigma 1 (real units)",
    "gauss3": "Gaussian, sigma 3 (real units)",
    "peaky": "Gaussian sigma 1, one logit 4 to 10 above the rest",
    "equal": "all logits equal",
    "extreme": "all at the minimum, one at the maximum",
    "heavy-mask": "Gaussian sigma 3, 90% of the elements masked",
    "one-hot": "one element unmasked",
    "masked": "every element masked (the output is all zeros)",
}

# The requirement on max |word / 2**F - p|, in LSB, for method "exact".
ACCURACY_LIMIT_LSB = {8: 0.6, 16: 1.0}


def _quantize(real, spec):
    return np.clip(np.round(real / spec.config.in_scale), spec.x_min, spec.x_max).astype(np.int64)


def make_rows(shape, spec, rng, rows, length):
    """``(x, mask)`` of shape ``(rows, length)`` for one of :data:`SHAPES`."""
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(map(repr, SHAPES))}, not {shape!r}")
    size = (rows, length)
    mask = np.zeros(size, dtype=bool)
    at = rng.integers(0, length, size=rows)
    idx = np.arange(rows)
    if shape == "uniform":
        x = rng.integers(spec.x_min, spec.x_max + 1, size=size)
    elif shape in ("gauss1", "gauss3", "heavy-mask", "one-hot", "masked"):
        sigma = 1.0 if shape == "gauss1" else 3.0
        x = _quantize(rng.normal(0.0, sigma, size=size), spec)
        if shape == "heavy-mask":
            mask = rng.random(size) < 0.9
        elif shape == "one-hot":
            mask[:] = True
            mask[idx, at] = False
        elif shape == "masked":
            mask[:] = True
    elif shape == "peaky":
        real = rng.normal(0.0, 1.0, size=size)
        real[idx, at] = real.max(axis=1) + rng.uniform(4.0, 10.0, size=rows)
        x = _quantize(real, spec)
    elif shape == "equal":
        x = np.repeat(rng.integers(spec.x_min, spec.x_max + 1, size=(rows, 1)), length, axis=1)
    else:                                               # extreme
        x = np.full(size, spec.x_min, dtype=np.int64)
        x[idx, at] = spec.x_max
    return x.astype(np.int64), mask


def top1_preserved(words, x, mask):
    """Per row: the largest unmasked logit's word is the row's largest word (ties allowed)."""
    xm = np.where(mask, np.iinfo(np.int64).min, x)
    best = xm.argmax(axis=1)
    live = ~mask.all(axis=1)
    ok = words[np.arange(len(words)), best] == words.max(axis=1)
    return ok | ~live
