"""GELU and SiLU arithmetic: the one definition the RTL, the golden model and the drivers use.

Formats
-------
An input word ``X`` is a signed ``input_bits`` integer with real value ``X / 2**in_frac_bits``;
an output word ``Y`` is a signed ``out_bits`` integer with real value ``Y / 2**out_frac_bits``.
Errors are measured in output LSBs against the *saturated* real function,
``clip(f(X / 2**in_frac_bits) * 2**out_frac_bits, y_min, y_max)``, so a result that saturates
correctly has no error.

Functions
---------
``gelu(x) = x * Phi(x) = x/2 * (1 + erf(x / sqrt(2)))`` (the erf form, not the tanh one) and
``silu(x) = x * sigmoid(x)``. Both are written ``f(x) = max(x, 0) - |x| * tail(|x|)`` with
``tail(a) = erfc(a / sqrt(2)) / 2`` or ``1 / (1 + e**a)``, which keeps full relative precision
in both tails.

Methods
-------
``rom``
    One entry per input holding ``f`` correctly rounded (round to nearest, ties to even) and
    then saturated, decided exactly with :mod:`mpmath` (Ziv's strategy: more precision until
    the rounding direction is certain). Max error 0.5 LSB.
``pwq``
    Piecewise quadratic. Left of ``lo`` the output is 0, from ``hi`` on it is the input itself
    (``X`` rescaled to the output format, rounded half up, saturated); in ``[lo, hi)`` uniform
    segments of ``2**seg_shift`` inputs each hold three integer coefficients, evaluated by
    Horner's rule with ``GUARD_BITS`` extra fraction bits and rounded half up. ``lo``/``hi`` are
    the widest clamps whose error is at most 0.5 LSB; the segment width is the widest whose
    result, checked over every input, stays within ``PWQ_TARGET`` LSB.
``ibert``
    I-BERT's i-GELU (Kim et al., ICML 2021, as in its reference code): integer erf
    ``sgn(q) * ((min(|q|, -b) + b)**2 + c)`` with ``a, b = -0.2888, -1.769``, then
    ``q * (erf + floor(1/S_erf))``, requantized to the output format by one fixed-point multiply
    and a rounding shift. The reference code's fixed shift of 14 bits (for an int32 datapath)
    would zero the erf at coarse input scales, so the shift here keeps 16 significant bits
    (it is 0 for 8-bit inputs, as in the baseline of ``findings.md``). I-BERT has no SiLU: for
    ``silu`` the same datapath uses ``sigmoid(x) ~ Phi(x / 1.702)``, i.e. ``k = 1.4142 * 1.702``.
"""

__all__ = [
    "FUNCTIONS", "METHODS", "ROM_MAX_BITS", "GUARD_BITS", "PWQ_TARGET", "CLAMP_BOUND",
    "IBERT_A", "IBERT_B", "IBERT_K", "LATENCY",
    "reference", "reference_lsb", "correctly_rounded", "round_shift", "identity",
    "PwqDesign", "IbertDesign", "GeluSpec", "gelu_spec", "resolve_method",
    "pwq_eval", "ibert_eval", "pack_words", "unpack_words",
]

import dataclasses
import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np

from .arith import lane_bits, signed_bits

FUNCTIONS = ("gelu", "silu")
METHODS = ("auto", "rom", "pwq", "ibert")
ROM_MAX_BITS = 10
GUARD_BITS = 8              # extra fraction bits of the pwq coefficients and Horner steps
PWQ_TARGET = 1 - 1 / 64     # the pwq generator's acceptance bound in LSB (the is 1)
CLAMP_BOUND = 0.5           # the pwq clamps are used only where they are this exact
IBERT_A, IBERT_B = -0.2888, -1.769
IBERT_K = {"gelu": 1.4142, "silu": 1.4142 * 1.702}
IBERT_ERF_BITS = 16         # significant bits the ibert erf keeps (sets its shift)
IBERT_M_BITS = 6            # bits of the requantization multiplier beyond out_bits
LATENCY = {"rom": 1, "pwq": 3, "ibert": 4}


# ---- reference functions -------------------------------------------------------------------

_erfc = np.frompyfunc(math.erfc, 1, 1)


def reference(function, x):
    """``f(x)`` in float64 for real ``x`` (array): the function the error figures use."""
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    if function == "gelu":
        tail = 0.5 * _erfc(ax / math.sqrt(2)).astype(np.float64)
    elif function == "silu":
        e = np.exp(-ax)
        tail = e / (1 + e)
    else:
        raise ValueError(f"function must be one of {', '.join(map(repr, FUNCTIONS))}, "
                         f"not {function!r}")
    return np.maximum(x, 0) - ax * tail


def reference_lsb(spec, x):
    """The saturated real result for input words ``x``, in output LSBs (float64)."""
    x = np.asarray(x, dtype=np.int64)
    v = reference(spec.function, np.ldexp(x.astype(np.float64), -spec.in_frac))
    return np.clip(np.ldexp(v, spec.out_frac), spec.y_min, spec.y_max)


def _mp_tail(function, a):
    if function == "gelu":
        return mpmath.erfc(a / mpmath.sqrt(2)) / 2
    return 1 / (1 + mpmath.exp(a))


def _fraction(value):
    man, exp = value.man_exp
    return Fraction(man) * (Fraction(2) ** exp)


def _correctly_rounded_one(function, x, in_frac, out_frac):
    if x == 0:
        return 0
    # f * 2**out_frac = A - D, A exact (0 or x rescaled), D > 0 carrying the transcendental part
    a = Fraction(max(x, 0)) * Fraction(2) ** (out_frac - in_frac)
    half = Fraction(1, 2)
    prec = 64
    while prec <= 1 << 14:
        with mpmath.workprec(prec + 20):
            ax = mpmath.ldexp(mpmath.mpf(abs(x)), -in_frac)
            d = mpmath.ldexp(ax * _mp_tail(function, ax), out_frac)
        d = _fraction(d)
        v = a - d
        n = math.floor(v)
        frac = v - n
        if abs(frac - half) > d / 2 ** prec:    # d's relative error is far below 2**-prec
            return n + (frac > half)
        prec *= 4
    raise ArithmeticError(f"cannot decide the rounding of {function}({x} / 2**{in_frac})")


def correctly_rounded(function, x, in_frac, out_frac):
    """``f(x / 2**in_frac) * 2**out_frac`` rounded to nearest, ties to even, for each word.

    Exact: the rounding direction is decided with enough precision to be certain (no float64
    involved), including values within 1e-300 of a midpoint. Not saturated.
    """
    return np.array([_correctly_rounded_one(function, int(v), in_frac, out_frac)
                     for v in np.asarray(x).ravel()], dtype=np.int64).reshape(np.shape(x))


# ---- integer helpers -----------------------------------------------------------------------

def round_shift(value, shift):
    """``value / 2**shift`` rounded half up (floor of value + half): what the RTL's
    ``(v + (1 << (shift-1))) >> shift`` computes. ``shift`` 0 returns ``value``."""
    value = np.asarray(value, dtype=np.int64)
    if shift == 0:
        return value
    return (value + (1 << (shift - 1))) >> shift


def identity(x, in_frac, out_frac):
    """Input words rescaled to the output format (exact, or rounded half up), not saturated."""
    d = out_frac - in_frac
    x = np.asarray(x, dtype=np.int64)
    return x << d if d >= 0 else round_shift(x, -d)


# ---- piecewise quadratic -------------------------------------------------------------------

@dataclass(frozen=True)
class PwqDesign:
    """Segments and widths of a pwq unit.

    Attributes
    ----------
    lo, hi : int
        Input words below ``lo`` give 0; from ``hi`` on they give the identity. ``lo <= hi``.
    seg_shift : int
        Segment width is ``2**seg_shift`` inputs; segment ``(X - lo) >> seg_shift``.
    coeffs : tuple of (int, int, int)
        ``(b0, b1, b2)`` per segment, scaled by ``2**GUARD_BITS`` output LSBs; with
        ``u = (X - lo) mod 2**seg_shift``: ``h = b1 + (b2*u >> s)``, ``z = b0 + (h*u >> s)``,
        ``Y = sat((z + 2**(G-1)) >> G)``.
    widths : dict
        Exact signed widths of ``d = X - lo``, ``b0``, ``b1``, ``b2``, ``b2u``, ``h``, ``hu``
        and ``z`` over every segment and every ``u``.
    """
    lo: int
    hi: int
    seg_shift: int
    coeffs: tuple
    widths: dict

    @property
    def segments(self):
        return len(self.coeffs)

    @property
    def coeff_bits(self):
        """Bits of one table entry (``b0``, ``b1`` and ``b2`` side by side)."""
        return self.widths["b0"] + self.widths["b1"] + self.widths["b2"]


def pwq_eval(x, design, spec):
    """The pwq result for input words ``x``: every integer step the RTL takes, vectorized."""
    x = np.asarray(x, dtype=np.int64)
    s, g = design.seg_shift, GUARD_BITS
    coeffs = np.array(design.coeffs, dtype=np.int64).reshape(-1, 3)
    d = x - design.lo
    seg = np.clip(d >> s, 0, len(coeffs) - 1)
    u = d & ((1 << s) - 1)
    b0, b1, b2 = coeffs[seg, 0], coeffs[seg, 1], coeffs[seg, 2]
    h = b1 + ((b2 * u) >> s)
    z = b0 + ((h * u) >> s)
    poly = np.clip(round_shift(z, g), spec.y_min, spec.y_max)
    ident = np.clip(identity(x, spec.in_frac, spec.out_frac), spec.y_min, spec.y_max)
    return np.where(x < design.lo, 0, np.where(x >= design.hi, ident, poly))


def _fit(function, spec, lo, span, s):
    """Per-segment quadratics in ``u`` (near-minimax), scaled and rounded to integers."""
    n_seg = -(-span // (1 << s))
    starts = np.arange(n_seg, dtype=np.int64) << s
    counts = np.minimum(1 << s, span - starts)
    # Chebyshev nodes on [0, count-1]; segments of 3 or fewer inputs interpolate them exactly
    width = (counts - 1).astype(np.float64)
    cheb = 0.5 + 0.5 * np.cos((2 * np.arange(3) + 1) * np.pi / 6)
    nodes = np.where((counts > 3)[:, None], width[:, None] * cheb,
                     np.minimum(np.arange(3), counts[:, None] - 1).astype(np.float64))

    def scaled(u):
        return np.ldexp(reference(function, np.ldexp(lo + starts[:, None] + u, -spec.in_frac)),
                        spec.out_frac)

    f = scaled(nodes)
    t0, t1, t2 = nodes[:, 0], nodes[:, 1], nodes[:, 2]
    f0, f1, f2 = f[:, 0], f[:, 1], f[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        d01 = np.where(t1 != t0, (f1 - f0) / (t1 - t0), 0.0)
        d12 = np.where(t2 != t1, (f2 - f1) / (t2 - t1), 0.0)
        a2 = np.where(t2 != t0, (d12 - d01) / (t2 - t0), 0.0)
    a2 = np.where(counts >= 3, a2, 0.0)
    a1 = d01 - a2 * (t0 + t1)
    a0 = f0 - a1 * t0 - a2 * t0 * t0
    # centre each segment's error over its actual inputs
    u = np.arange(1 << s, dtype=np.float64)
    valid = u[None, :] < counts[:, None]
    err = scaled(u[None, :]) - (a0[:, None] + u * (a1[:, None] + u * a2[:, None]))
    a0 = a0 + 0.5 * (np.where(valid, err, -np.inf).max(axis=1)
                     + np.where(valid, err, np.inf).min(axis=1))
    b = np.stack([a0, np.ldexp(a1, s), np.ldexp(a2, 2 * s)], axis=1)
    return np.rint(np.ldexp(b, GUARD_BITS)).astype(np.int64)


def _pwq_widths(coeffs, s, lo, spec):
    u = np.arange(1 << s, dtype=np.int64)
    b0, b1, b2 = (coeffs[:, i:i + 1] for i in range(3))
    b2u = b2 * u
    h = b1 + (b2u >> s)
    hu = h * u
    z = b0 + (hu >> s)
    widths = {"d": signed_bits(spec.x_min - lo, spec.x_max - lo)}
    for name, v in (("b0", b0), ("b1", b1), ("b2", b2), ("b2u", b2u), ("h", h), ("hu", hu),
                    ("z", z)):
        widths[name] = signed_bits(int(v.min()), int(v.max()))
    return widths


def _pwq_design(spec):
    x = np.arange(spec.x_min, spec.x_max + 1, dtype=np.int64)
    ref = reference_lsb(spec, x)
    ident = np.clip(identity(x, spec.in_frac, spec.out_frac), spec.y_min, spec.y_max)
    bad_left = np.abs(ref) > CLAMP_BOUND
    bad_right = np.abs(ident - ref) > CLAMP_BOUND
    i_lo = int(np.argmax(bad_left)) if bad_left.any() else len(x)
    i_hi = len(x) - int(np.argmax(bad_right[::-1])) if bad_right.any() else 0
    if i_hi <= i_lo:                  # the clamps alone are within bounds: no segments needed
        i_lo = i_hi
    lo, hi = spec.x_min + i_lo, spec.x_min + i_hi
    span = max(hi - lo, 1)
    for s in range((span - 1).bit_length(), -1, -1):
        coeffs = _fit(spec.function, spec, lo, span, s)
        design = PwqDesign(lo=lo, hi=hi, seg_shift=s,
                           coeffs=tuple(tuple(int(c) for c in row) for row in coeffs),
                           widths={})
        if np.abs(pwq_eval(x, design, spec) - ref).max() <= PWQ_TARGET:
            return PwqDesign(lo=lo, hi=hi, seg_shift=s, coeffs=design.coeffs,
                             widths=_pwq_widths(coeffs, s, lo, spec))
    raise AssertionError("one input per segment always meets the bound")    # pragma: no cover


# ---- I-BERT --------------------------------------------------------------------------------

@dataclass(frozen=True)
class IbertDesign:
    """I-BERT's integer constants for one input scale, and the requantization to the output.

    With ``q`` the input word: ``erf = sgn(q) * ((min(|q|, -b_int) + b_int)**2 + c_int) >>
    erf_shift``, ``t = erf + shift_int``, ``p = q * t`` and ``Y = sat((p * m_int +
    2**(rq-1)) >> rq)``. ``widths`` holds the exact signed width of ``sq`` (the square plus
    ``c_int``), ``erf``, ``t``, ``p`` and ``pm`` (``p * m_int``) over every input.
    """
    k: float
    b_int: int
    c_int: int
    erf_shift: int
    shift_int: int
    out_scale: float        # real value of one unit of p
    m_int: int
    rq: int
    widths: dict


def ibert_eval(x, design, spec):
    """The ibert result for input words ``x``: every integer step the RTL takes."""
    x = np.asarray(x, dtype=np.int64)
    d = design
    clipped = np.minimum(np.abs(x), -d.b_int)
    sq = (clipped + d.b_int) ** 2 + d.c_int
    erf = (np.sign(x) * sq) >> d.erf_shift
    p = x * (erf + d.shift_int)
    return np.clip(round_shift(p * d.m_int, d.rq), spec.y_min, spec.y_max)


def _ibert_design(spec):
    # I-BERT's own float64 arithmetic (floors of float quotients), as in its reference code
    k = IBERT_K[spec.function]
    scale = 2.0 ** -spec.in_frac
    s_erf = scale / k
    b_int = math.floor(IBERT_B / s_erf)
    c_int = math.floor((1.0 / IBERT_A) / s_erf ** 2)
    erf_shift = max(0, abs(c_int).bit_length() + 1 - IBERT_ERF_BITS)
    s_sig = s_erf ** 2 * IBERT_A * 2.0 ** erf_shift
    shift_int = math.floor(1.0 // s_sig)
    out_scale = scale * s_sig / 2
    # requantize: p * out_scale * 2**out_frac ~ p * m_int / 2**rq, m_int with out_bits+6 bits
    _, e = math.frexp(abs(out_scale) * 2.0 ** spec.out_frac)
    rq = spec.out_bits + IBERT_M_BITS - e
    m_int = round(math.ldexp(out_scale, spec.out_frac + rq))
    # fo < out_bits and in_frac >= 0 bound the scale: rq >= 2 for every valid config
    assert rq >= 1, rq
    x = np.arange(spec.x_min, spec.x_max + 1, dtype=np.int64)
    clipped = np.minimum(np.abs(x), -b_int)
    sq = (clipped + b_int) ** 2 + c_int
    erf = (np.sign(x) * sq) >> erf_shift
    t = erf + shift_int
    p = x * t
    bounds = {name: (int(v.min()), int(v.max()))
              for name, v in (("sq", sq), ("erf", erf), ("t", t), ("p", p))}
    pm = (bounds["p"][0] * m_int, bounds["p"][1] * m_int)
    bounds["pm"] = (min(pm), max(pm))
    widths = {name: signed_bits(min(lo, 0), max(hi, 0)) for name, (lo, hi) in bounds.items()}
    # the golden model computes in int64; the widths of valid configs stay far below
    assert widths["pm"] <= 63, widths
    return IbertDesign(k=k, b_int=b_int, c_int=c_int, erf_shift=erf_shift, shift_int=shift_int,
                       out_scale=out_scale, m_int=m_int, rq=rq, widths=widths)


# ---- the spec: every derived quantity, computed once -----------------------------------------

def resolve_method(config):
    """The method ``auto`` stands for: ``rom`` up to :data:`ROM_MAX_BITS` inputs, else ``pwq``."""
    if config.method != "auto":
        return config.method
    return "rom" if config.input_bits <= ROM_MAX_BITS else "pwq"


@dataclass(frozen=True)
class GeluSpec:
    """Everything derived from a :class:`~lutmix.config.GeluConfig`: ranges, stream lanes, the
    method's table or constants and every register width.

    Attributes
    ----------
    method : str
        The resolved method (``auto`` becomes ``rom`` or ``pwq``).
    x_min, x_max, y_min, y_max : int
        Input and output word ranges.
    in_lane_bits, out_lane_bits : int
        Stream lane widths (8 or 16): each word sign-extended to whole bytes.
    latency : int
        Cycles from an input handshake to its result's ``valid``.
    rom : tuple of int or None
        ``rom[X - x_min]``: correctly rounded, saturated output words.
    pwq : PwqDesign or None
    ibert : IbertDesign or None
    """
    config: object
    method: str
    x_min: int
    x_max: int
    y_min: int
    y_max: int
    in_lane_bits: int
    out_lane_bits: int
    latency: int
    rom: tuple | None = None
    pwq: PwqDesign | None = None
    ibert: IbertDesign | None = None

    @property
    def function(self):
        return self.config.function

    @property
    def in_bits(self):
        return self.config.input_bits

    @property
    def in_frac(self):
        return self.config.in_frac_bits

    @property
    def out_bits(self):
        return self.config.out_bits

    @property
    def out_frac(self):
        return self.config.out_frac_bits

    @property
    def lanes(self):
        return self.config.lanes

    @property
    def x_tdata_bits(self):
        return self.lanes * self.in_lane_bits

    @property
    def y_tdata_bits(self):
        return self.lanes * self.out_lane_bits

    @property
    def inputs(self):
        """Every input word, ascending (int64)."""
        return np.arange(self.x_min, self.x_max + 1, dtype=np.int64)

    def table_summary(self):
        """One line on the storage the method uses."""
        if self.method == "rom":
            return f"{len(self.rom)} x {self.out_bits}-bit table ({len(self.rom) * self.out_bits}"\
                   f" bits)"
        if self.method == "pwq":
            p = self.pwq
            return (f"{p.segments} segments of {1 << p.seg_shift} inputs x {p.coeff_bits}-bit "
                    f"coefficients ({p.segments * p.coeff_bits} bits), inputs "
                    f"[{p.lo}, {p.hi}) = [{p.lo / 2 ** self.in_frac:g}, "
                    f"{p.hi / 2 ** self.in_frac:g})")
        return "no table: 4 constants, 3 multipliers"


@functools.lru_cache(maxsize=64)
def gelu_spec(config):
    """The :class:`GeluSpec` of a :class:`~lutmix.config.GeluConfig` (cached)."""
    from .config import GeluConfig
    if not isinstance(config, GeluConfig):
        raise TypeError(f"config must be a GeluConfig, not {config!r}")
    method = resolve_method(config)
    spec = GeluSpec(
        config=config, method=method,
        x_min=-(1 << (config.input_bits - 1)), x_max=(1 << (config.input_bits - 1)) - 1,
        y_min=-(1 << (config.out_bits - 1)), y_max=(1 << (config.out_bits - 1)) - 1,
        in_lane_bits=lane_bits(config.input_bits), out_lane_bits=lane_bits(config.out_bits),
        latency=LATENCY[method])
    if method == "rom":
        table = np.clip(correctly_rounded(config.function, spec.inputs, config.in_frac_bits,
                                          config.out_frac_bits), spec.y_min, spec.y_max)
        return dataclasses.replace(spec, rom=tuple(int(v) for v in table))
    if method == "pwq":
        return dataclasses.replace(spec, pwq=_pwq_design(spec))
    return dataclasses.replace(spec, ibert=_ibert_design(spec))


# ---- stream words --------------------------------------------------------------------------

def pack_words(words, lane_bits_):
    """Words (any shape, ``size`` a multiple of the lane count is the caller's job) to
    little-endian lanes of ``lane_bits_`` (8 or 16): ``(beats, bytes)`` uint8 for ``lanes``
    words a beat, given as ``words.reshape(beats, lanes)``."""
    words = np.asarray(words)
    if words.ndim != 2:
        raise ValueError(f"Words must be (beats, lanes), not {words.shape}")
    lanes = np.ascontiguousarray(words.astype(f"<i{lane_bits_ // 8}"))
    return lanes.view(np.uint8).reshape(words.shape[0], -1)


def unpack_words(beats, lane_bits_):
    """Invert :func:`pack_words`: ``(beats, bytes)`` to signed words ``(beats, lanes)``."""
    beats = np.ascontiguousarray(beats, dtype=np.uint8)
    return beats.view(f"<i{lane_bits_ // 8}").astype(np.int64).reshape(beats.shape[0], -1)
