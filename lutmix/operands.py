"""Checking users' operands: one-line errors that name the array and the problem."""

__all__ = ["check_gemm_operands", "check_scales", "check_softmax_operands", "group_count",
           "load_npy", "npy_header", "MAX_NPY_BYTES"]

import math
import os
from pathlib import Path

import numpy as np

from .errors import InputError
from .formats import article

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
MAX_NPY_BYTES = 1 << 32         # 4 GiB: far beyond anything RTL simulation can take


def _shape_text(shape):
    text = str(tuple(shape))
    return text if len(text) <= 60 else text[:57] + "...)"


def _count(n):
    return f"{n:,}" if n < 10 ** 15 else f"about 10^{len(str(n)) - 1}"


def npy_header(path, what):
    """Read and check the header of the ``.npy`` file ``path``: ``(shape, dtype, offset)``.

    Raises
    ------
    InputError
        Naming ``path`` and ``what``: a missing file, a folder, a ``.npz`` archive, anything
        that is not a ``.npy`` file or whose header does not parse, an array of Python objects,
        a declared shape too large (more than 4 GiB of data), or a file shorter than its shape.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a .npy file ({what})")
    if not path.exists():
        raise InputError(f"{path}: no such file ({what})")
    if not path.is_file():
        raise InputError(f"{path}: is not a regular file ({what})")
    try:
        with open(path, "rb") as f:
            head = f.read(len(NPY_MAGIC))
            if head.startswith(ZIP_MAGIC):
                raise InputError(f"{path}: is a .npz archive, not a .npy file ({what}); save "
                                 f"one array with np.save")
            if head != NPY_MAGIC:
                raise InputError(f"{path}: not a NumPy .npy file ({what})")
            f.seek(0)
            try:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    shape, _, dtype = np.lib.format._read_array_header(f, version)
            except Exception:           # untrusted bytes: any parse failure is a bad header
                raise InputError(f"{path}: not a NumPy .npy file ({what}): its header does not "
                                 f"parse") from None
            offset = f.tell()
            size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise InputError(f"{path}: cannot read ({what}): {e.strerror or e}") from None
    if dtype.hasobject:
        raise InputError(f"{path}: holds Python objects ({what}); lutmix reads numeric arrays")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > MAX_NPY_BYTES:
        raise InputError(f"{path}: declares shape {_shape_text(shape)} of {dtype}, too large "
                         f"({_count(nbytes)} bytes; at most {MAX_NPY_BYTES:,}) ({what})")
    if size - offset < nbytes:
        raise InputError(f"{path}: is truncated: shape {_shape_text(shape)} of {dtype} needs "
                         f"{nbytes:,} bytes of data, the file holds {size - offset:,} ({what})")
    return tuple(shape), dtype, offset


def load_npy(path, what):
    """Load a ``.npy`` file after :func:`npy_header` has checked it; ``InputError`` naming
    ``path`` if it cannot be read."""
    npy_header(path, what)
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, MemoryError) as e:
        raise InputError(f"{path}: cannot load ({what}): {e}") from None


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
    if isinstance(config.group_size, int) and x.shape[1] % config.group_size:
        raise InputError(f"{x_name}: K = {x.shape[1]} is not a multiple of group_size "
                         f"{config.group_size}")
    return w, x


def group_count(config, K):
    """Quantization groups along K: ``K / group_size``, or 1 for ``"channel"``/``"tensor"``."""
    return K // config.group_size if isinstance(config.group_size, int) else 1


def check_scales(scales, zeros, config, N, K, *, s_name="scales", z_name="zeros"):
    """Check per-group scales ``S`` and zero points ``Z`` for an ``(N, K)`` weight.

    ``S`` has shape (N, groups), or (1, 1) for ``group_size = "tensor"``, and the config's scale
    dtype (float16 or float32); every scale is finite. ``Z`` is only for unsigned weights; it has
    the shape of ``S``: integers from 0 to 2**bits - 1 for ``zero_point = "original"``, finite
    values of the scale dtype for ``"scaled"``. Leaving ``Z`` out means zero points of 0.
    """
    if not config.dequant:
        raise InputError(f"{s_name}: scales need a config with group_size")
    if scales is None:
        raise InputError(f"{s_name}: group_size {config.group_size!r} needs scales")
    scales = np.asarray(scales)
    groups = group_count(config, K)
    shape = (1, 1) if config.group_size == "tensor" else (N, groups)
    dtype = np.dtype(np.float16 if config.scale == "fp16" else np.float32)
    what = {"tensor": "one scale", "channel": "one per output channel"}.get(
        config.group_size, f"N = {N} by {groups} groups of {config.group_size}")
    if scales.shape != shape:
        raise InputError(f"{s_name}: shape must be {shape} ({what}), not {scales.shape}")
    if scales.dtype != dtype:
        raise InputError(f"{s_name}: dtype must be {dtype.name} for scale = "
                         f"{config.scale!r}, not {scales.dtype}")
    _check_finite(scales, s_name, "scale")
    fmt = config.weight_format
    if zeros is None:
        return scales, None
    zeros = np.asarray(zeros)
    if fmt.signed:
        raise InputError(f"{z_name}: zero points are for unsigned weights; {config.weight} "
                         f"weights are signed")
    if zeros.shape != shape:
        raise InputError(f"{z_name}: shape must be {shape}, the shape of the scales, "
                         f"not {zeros.shape}")
    if config.zero_point == "original":
        if zeros.dtype.kind not in "iu":
            raise InputError(f"{z_name}: zero points must be integers for zero_point = "
                             f"'original' (w = (q - z) * s), not {zeros.dtype}; use "
                             f"zero_point = 'scaled' for fractional ones")
        hi = (1 << fmt.bits) - 1
        bad = (zeros < 0) | (zeros > hi)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputError(f"{z_name}: zero point {int(zeros[where])} at index {where} is "
                             f"outside 0 to {hi} for {config.weight} weights")
    else:
        if zeros.dtype != dtype:
            raise InputError(f"{z_name}: dtype must be {dtype.name} for zero_point = 'scaled' "
                             f"with scale = {config.scale!r}, not {zeros.dtype}")
        _check_finite(zeros, z_name, "zero point")
    return scales, zeros


def _check_finite(a, name, what):
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"{name}: {what} {float(a[where])!r} at index {where} is not finite")


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
        raise InputError(f"{x_name}: value {x[at]} at index {at} is not "
                         f"{article(str(bits))} {bits}-bit logit (allowed: {lo} to {hi})")
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
