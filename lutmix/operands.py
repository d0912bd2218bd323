"""Checking users' operands: one-line errors that name the array and the problem."""

__all__ = ["check_gemm_operands", "load_npy"]

from pathlib import Path

import numpy as np

from .errors import InputError


def load_npy(path, what):
    """Load a ``.npy`` file; ``InputError`` naming ``path`` if it is missing or not an array."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file ({what})")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"{path}: not a NumPy .npy array ({what}): {e}") from None


def check_gemm_operands(w, x, config, *, w_name="weights", x_name="activations"):
    """Check ``W (N, K)`` and ``X (M, K)`` against a :class:`~lutmix.config.GemmConfig`.

    Raises
    ------
    InputError
        On a wrong dimension, dtype, empty axis, value outside the weight format, or
        mismatched K; the message starts with ``w_name`` or ``x_name``.
    """
    w = np.asarray(w)
    x = np.asarray(x)
    for arr, name, shape in ((w, w_name, "(N, K)"), (x, x_name, "(M, K)")):
        if arr.ndim != 2:
            raise InputError(f"{name}: must be a 2-D array {shape}, not shape {arr.shape}")
        if 0 in arr.shape:
            raise InputError(f"{name}: has an empty axis, shape {arr.shape}")
    fmt = config.weight_format
    try:
        fmt.check(w, w_name)
        config.activation_format.check(x, x_name)
    except ValueError as e:
        raise InputError(str(e)) from None
    if w.shape[1] != x.shape[1]:
        raise InputError(f"{x_name}: K = {x.shape[1]} does not match {w_name}'s K = "
                         f"{w.shape[1]}")
    return w, x
