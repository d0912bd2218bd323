"""Integer width helpers shared by the RTL, the golden models and the drivers.

Every register width in lutmix is derived from an exact integer range with these
functions, so hardware and models can never disagree about a width.
"""

__all__ = ["signed_bits", "unsigned_bits", "lane_bits", "check_range"]

import numpy as np


def signed_bits(lo, hi):
    """Smallest two's-complement width holding every integer in ``[lo, hi]``."""
    lo, hi = int(lo), int(hi)
    if lo > hi:
        raise ValueError(f"Empty range [{lo}, {hi}]")
    bits = 1
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


def unsigned_bits(hi):
    """Smallest unsigned width holding every integer in ``[0, hi]`` (at least 1)."""
    hi = int(hi)
    if hi < 0:
        raise ValueError(f"Unsigned range must not be negative, not {hi!r}")
    return max(1, hi.bit_length())


def lane_bits(bits):
    """The NumPy-friendly lane width (8, 16, 32 or 64) that holds a ``bits``-wide value."""
    for lane in (8, 16, 32, 64):
        if bits <= lane:
            return lane
    raise ValueError(f"A {bits}-bit value does not fit a 64-bit lane")


def check_range(values, bits, what):
    """Raise ``OverflowError`` if any of ``values`` does not fit ``bits`` signed bits.

    The golden models call this wherever the RTL has a register, so a width that is
    too narrow is caught in NumPy, not as a silent wrap in simulation.
    """
    values = np.asarray(values)
    if values.size == 0:
        return
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    vmin, vmax = int(values.min()), int(values.max())
    if vmin < lo or vmax > hi:
        raise OverflowError(
            f"{what}: values in [{vmin}, {vmax}] do not fit {bits} signed bits")
