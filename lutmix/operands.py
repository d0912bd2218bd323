"""Checking users' operands: one-line errors that name the array and the problem."""

__all__ = ["check_gemm_operands", "check_softmax_operands", "load_npy"]

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


def check_softmax_operands(x, mask, config, *, x_name="X", mask_name="mask"):
    """Check logits ``X (R, L)`` and an optional mask against a
    :class:`~lutmix.config.SoftmaxConfig`; returns ``(x int64, mask bool)``.

    Raises
    ------
    InputError
        On a wrong dimension, empty axis, non-integer dtype, logit outside ``input_bits``, a row
        longer than ``max_len``, or a mask of another shape or with values other than 0 and 1;
        the message starts with ``x_name`` or ``mask_name``.
    """
    x = np.asarray(x)
    bits = config.input_bits
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if x.ndim != 2:
        raise InputError(f"{x_name}: must be a 2-D array (R, L), not shape {x.shape}")
    if 0 in x.shape:
        raise InputError(f"{x_name}: has an empty axis, shape {x.shape}")
    if not np.issubdtype(x.dtype, np.integer):
        raise InputError(f"{x_name}: dtype must be an integer type holding {bits}-bit logits, "
                         f"not {x.dtype}")
    bad = np.argwhere((x < lo) | (x > hi))
    if len(bad):
        at = tuple(int(i) for i in bad[0])
        raise InputError(f"{x_name}: value {x[at]} at index {at} is not a {bits}-bit logit "
                         f"(allowed: {lo} to {hi})")
    if x.shape[1] > config.max_len:
        raise InputError(f"{x_name}: rows of {x.shape[1]} logits are longer than max_len "
                         f"{config.max_len}")
    if mask is None:
        return x.astype(np.int64), np.zeros(x.shape, dtype=bool)
    mask = np.asarray(mask)
    if mask.shape != x.shape:
        raise InputError(f"{mask_name}: shape {mask.shape} does not match {x_name}'s shape "
                         f"{x.shape}")
    if mask.dtype != bool and not np.issubdtype(mask.dtype, np.integer):
        raise InputError(f"{mask_name}: dtype must be bool or an integer type holding 0 and 1, "
                         f"not {mask.dtype}")
    bad = np.argwhere((mask != 0) & (mask != 1))
    if len(bad):
        at = tuple(int(i) for i in bad[0])
        raise InputError(f"{mask_name}: value {mask[at]} at index {at} is not 0 or 1 "
                         f"(1 masks the logit out)")
    return x.astype(np.int64), mask.astype(bool)
