"""Number formats: the one definition of weight and activation values and their encodings.

Weights
-------
Every weight format is stored as a ``bits``-wide unsigned *code* ``u``. The LUT engine reads
each code bit as a sign, ``-1`` for 0 and ``+1`` for 1, which gives the symmetric value

    q' = 2*u - (2**bits - 1)            (odd, in [-(2**bits - 1), 2**bits - 1])

The real weight ``q`` follows from ``q'`` with one exact correction per format,

    q = (q' + offset) / denom

so a dot product is ``sum(x*q) = (sum(x*q') + offset * sum(x)) / denom``, exactly.

========== ============== ===================== ======== =====
format     values         code u                offset   denom
========== ============== ===================== ======== =====
int1       -1, +1         (q + 1) / 2           0        1
ternary    -1, 0, +1      q + 2  (as int2)      -1       2
intB       two's compl.   q + 2**(B-1)          -1       2
uintB      0 .. 2**B-1    q                     2**B-1   2
========== ============== ===================== ======== =====

Activations
-----------
``int8`` and ``int16`` are two's-complement integers. ``fp16`` (IEEE binary16) and ``bf16``
(bfloat16) are floating point; the engines align each block of them to a shared exponent and
compute with the aligned integer mantissas (:mod:`lutmix.bfp`).
"""

__all__ = [
    "article",
    "WeightFormat", "ActivationFormat",
    "WEIGHT_FORMATS", "ACTIVATION_FORMATS",
    "weight_format", "activation_format",
]

from dataclasses import dataclass

import ml_dtypes
import numpy as np


@dataclass(frozen=True)
class WeightFormat:
    """A low-bit weight format.

    Attributes
    ----------
    name : str
        The name used in configs (``"int2"``).
    bits : int
        Code width, which is the number of bit-planes the engines process.
    values : tuple of int
        Every value the format can hold, ascending.
    signed : bool
        Whether the format is signed (unsigned formats take zero points).
    offset, denom : int
        The exact correction ``q = (q' + offset) / denom``, see the module docstring.
    """
    name: str
    bits: int
    values: tuple
    signed: bool
    offset: int
    denom: int

    @property
    def min(self):
        return self.values[0]

    @property
    def max(self):
        return self.values[-1]

    def _code_bias(self):
        # code = value + bias
        if self.name == "int1":
            return None
        if self.signed:
            return 1 << (self.bits - 1)
        return 0

    def check(self, w, what="weights"):
        """Raise ``ValueError`` naming ``what`` if ``w`` holds a value outside the format."""
        w = np.asarray(w)
        if w.dtype.kind not in "iu":
            raise ValueError(
                f"{what}: dtype must be an integer type holding {self.name} values, "
                f"not {w.dtype}")
        if w.size == 0:
            return
        bad = ~np.isin(w, np.asarray(self.values, dtype=np.int64))
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"{what}: value {int(w[where])} at index {where} is not "
                f"{article(self.name)} {self.name} weight (allowed: {self.describe()})")

    def describe(self):
        """The allowed values, for error messages."""
        if len(self.values) <= 4:
            return ", ".join(str(v) for v in self.values)
        return f"integers {self.min} to {self.max}"

    def encode(self, w):
        """Weights to unsigned codes (``uint8``)."""
        w = np.asarray(w, dtype=np.int64)
        if self.name == "int1":
            u = (w + 1) >> 1
        else:
            u = w + self._code_bias()
        return u.astype(np.uint8)

    def decode(self, u):
        """Unsigned codes to weights (``int64``)."""
        u = np.asarray(u, dtype=np.int64)
        if self.name == "int1":
            return 2 * u - 1
        return u - self._code_bias()

    def symmetric(self, u):
        """The symmetric value ``q' = 2u - (2**bits - 1)`` the engines compute with."""
        return 2 * np.asarray(u, dtype=np.int64) - ((1 << self.bits) - 1)


def article(word):
    """``"an"`` before a word said with a vowel sound (int2, 8-bit, 11-bit), else ``"a"``."""
    return "an" if word.startswith(("i", "8", "11", "18")) else "a"


@dataclass(frozen=True)
class ActivationFormat:
    """An activation format.

    Attributes
    ----------
    name : str
        The name used in configs (``"int8"``).
    bits : int
        Storage width of one activation on the stream.
    kind : str
        ``"int"`` for two's-complement integers, ``"float"`` for IEEE-style floating point.
    dtype : numpy.dtype
        The NumPy dtype users pass activations in (``float32`` for bf16, whose values must be
        exactly representable in bfloat16).
    exp_bits, frac_bits : int
        Exponent and fraction widths of a float format (0 for integers).
    guard_bits : int
        Float formats only: extra low bits an aligned mantissa keeps, see :mod:`lutmix.bfp`.
    """
    name: str
    bits: int
    kind: str
    dtype: np.dtype
    exp_bits: int = 0
    frac_bits: int = 0
    guard_bits: int = 0

    @property
    def is_float(self):
        return self.kind == "float"

    @property
    def min(self):
        """Smallest integer activation (integer formats)."""
        return -(1 << (self.bits - 1))

    @property
    def max(self):
        """Largest integer activation (integer formats)."""
        return (1 << (self.bits - 1)) - 1

    @property
    def bias(self):
        return (1 << (self.exp_bits - 1)) - 1

    @property
    def core_bits(self):
        """Width of the signed integers the engines' arrays see: the value itself for integer
        formats, the block-aligned mantissa for float formats."""
        return 16 if self.is_float else self.bits

    @property
    def core_max(self):
        """Largest magnitude the arrays see (aligned mantissas stay below 2**15)."""
        if self.is_float:
            return ((1 << (self.frac_bits + 1)) - 1) << self.guard_bits
        return self.max

    @property
    def core_min(self):
        return -self.core_max if self.is_float else self.min

    def to_bits(self, x):
        """Float activations to their ``uint16`` bit patterns."""
        x = np.asarray(x)
        if self.name == "fp16":
            return x.astype(np.float16).view(np.uint16)
        return x.astype(ml_dtypes.bfloat16).view(np.uint16)

    def from_bits(self, bits):
        """``uint16`` bit patterns to float64 values."""
        bits = np.asarray(bits, dtype=np.uint16)
        if self.name == "fp16":
            return bits.view(np.float16).astype(np.float64)
        return bits.view(ml_dtypes.bfloat16).astype(np.float64)

    def check(self, x, what="activations"):
        """Raise ``ValueError`` naming ``what`` unless ``x`` is an array of this format.

        Integer formats take any integer dtype whose values lie in the format's range (the
        first value outside it is named with its index); float formats take exactly their
        dtype (``float16`` for fp16, ``float32`` holding bfloat16 values for bf16).
        """
        x = np.asarray(x)
        if not self.is_float:
            if x.dtype.kind not in "iu":
                raise ValueError(f"{what}: dtype must be an integer type holding {self.name} "
                                 f"values, not {x.dtype}")
            bad = (x < self.min) | (x > self.max)
            if bad.any():
                where = tuple(int(i) for i in np.argwhere(bad)[0])
                raise ValueError(f"{what}: value {int(x[where])} at index {where} is not "
                                 f"{article(self.name)} {self.name} activation (allowed: "
                                 f"{self.min} to {self.max})")
            return
        if x.dtype != self.dtype:
            extra = " holding bfloat16 values" if self.name == "bf16" else ""
            raise ValueError(
                f"{what}: dtype must be {np.dtype(self.dtype).name}{extra} for {self.name} "
                f"activations, not {x.dtype}")
        if self.name == "bf16" and x.size:
            with np.errstate(all="ignore"):
                back = x.astype(ml_dtypes.bfloat16).astype(np.float32)
            bad = ~((back == x) | (np.isnan(back) & np.isnan(x)))
            if bad.any():
                where = tuple(int(i) for i in np.argwhere(bad)[0])
                raise ValueError(
                    f"{what}: value {float(x[where])!r} at index {where} is not exactly "
                    f"representable in bfloat16")


def _int_weight(bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return WeightFormat(f"int{bits}", bits, tuple(range(lo, hi + 1)), True, -1, 2)


def _uint_weight(bits):
    return WeightFormat(f"uint{bits}", bits, tuple(range(1 << bits)), False, (1 << bits) - 1, 2)


WEIGHT_FORMATS = {f.name: f for f in [
    WeightFormat("int1", 1, (-1, 1), True, 0, 1),
    WeightFormat("ternary", 2, (-1, 0, 1), True, -1, 2),
    _int_weight(2), _int_weight(3), _int_weight(4),
    _uint_weight(2), _uint_weight(3), _uint_weight(4),
    _int_weight(8),
]}

ACTIVATION_FORMATS = {f.name: f for f in [
    ActivationFormat("int8", 8, "int", np.dtype(np.int8)),
    ActivationFormat("int16", 16, "int", np.dtype(np.int16)),
    # aligned mantissas: 11 significand bits + 4 guard bits, 8 + 7: both below 2**15
    ActivationFormat("fp16", 16, "float", np.dtype(np.float16), exp_bits=5, frac_bits=10,
                     guard_bits=4),
    ActivationFormat("bf16", 16, "float", np.dtype(np.float32), exp_bits=8, frac_bits=7,
                     guard_bits=7),
]}


def _lookup(table, name, what):
    if not isinstance(name, str) or name not in table:
        allowed = ", ".join(repr(n) for n in table)
        raise ValueError(f"{what} must be one of {allowed}, not {name!r}")
    return table[name]


def weight_format(name):
    """The :class:`WeightFormat` called ``name``; ``ValueError`` listing the allowed names."""
    return _lookup(WEIGHT_FORMATS, name, "weight")


def activation_format(name):
    """The :class:`ActivationFormat` called ``name``; ``ValueError`` listing the allowed names."""
    return _lookup(ACTIVATION_FORMATS, name, "activation")
