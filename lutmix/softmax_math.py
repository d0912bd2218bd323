"""Softmax arithmetic, defined once: exp tables, sum, reciprocal, rounding and every width.

The RTL (:mod:`lutmix.rtl.softmax`), the golden model (:mod:`lutmix.golden.softmax`) and the
drivers all call this module.

Numbers
-------
A logit ``x`` (signed, ``input_bits``) stands for ``x * in_scale``. Its exponential is written in
base 2, ``exp(x * in_scale) = 2**(x * c)`` with ``c = in_scale * log2(e)``, and held as a pair
``(u, e)`` meaning ``u * 2**(e - W)``: an unsigned mantissa ``u`` below ``2**(W + 1)`` and a signed
exponent ``e``. ``W = out_frac_bits + 8``. How ``(u, e)`` is made is the ``method``:

``exact``
    ``e = floor(x*c)``, ``u = round(2**W * 2**(x*c - e))`` (half up; ``u = 2**(W+1)`` renormalizes
    to ``2**W, e + 1``), computed at generation from ``in_scale`` in 60-digit decimal arithmetic.
    Up to 10 input bits one table holds every ``x``. Wider inputs are split, ``x = xh * 2**k + xl``:
    two tables with ``W + 2`` mantissa bits (more at tiny scales, until ``(u, e)`` never
    decreases with ``x``), one product, rounded once to ``W`` bits.
``ibert``
    I-BERT's ``i-exp`` (Kim et al. 2021): ``d = -floor(-0.6931 / in_scale)``, ``e = ceil(x / d)``,
    ``r = x - d*e`` in ``(-d, 0]``, ``z = r*(r + b_int) + c_int`` with ``b_int = floor(2.7073 /
    in_scale)``, ``c_int = floor(2.7921 / in_scale**2)``, and ``u = z`` aligned by a constant
    shift. I-BERT subtracts the row max first; ``i-exp`` is unchanged by moving ``x`` by whole
    multiples of ``d``, so this equals I-BERT with the max rounded up to such a multiple, which
    is what lets the same online datapath run it.
``softermax``
    Softermax-style base 2 (Stevens et al. 2021): ``y = floor(x * cq / 2**gs)`` is ``x*c`` with
    4 fractional bits (``cq`` has 16 significant bits), ``e = floor(y)``, and ``2**frac(y)`` by 4
    linear pieces with slopes and intercepts rounded to 8 fractional bits.

Datapath
--------
Pass 1 (one beat of ``lanes`` elements per cycle) keeps a running exponent ``E`` (the online
max, in base 2) and a sum ``A`` meaning ``A * 2**(E - W - G)``::

    E' = max(E, e_0 .. e_{lanes-1})              masked lanes: u = 0, e = exp_min
    A' = (A >> (E' - E)) + sum_i ((u_i << G) >> (E' - e_i))

The rescale is an exact shift, so no rounding accumulates over a row: each shift truncates less
than one unit of ``2**(E - W - G)``, and ``G`` guard bits make the total below ``2**-(W+1)``
of the sum. At the row's end ``A`` is normalized to ``Q + 1 = W + 3`` bits, ``Abar = floor(A /
2**k)`` with ``k = bit_length(A) - Q - 1``, and one reciprocal ``R = floor(2**(2Q+1) / Abar)`` is
computed per row. Pass 2 recomputes ``(u_i, e_i)`` from the buffered row and emits::

    word_i = min(2**F, round_half_up(u_i * R / 2**sh_i)),  sh_i = B + (E - e_i)
    B = bit_length(A) + 2Q+1 - (Q+1) - G - F

(masked lanes and rows with no unmasked element give 0). Every bound, width and the analytic
error bound of the ``exact`` method (:attr:`SoftmaxSpec.error_bound_lsb`) are derived here.
"""

__all__ = [
    "ExactExp", "IbertExp", "SoftermaxExp", "SoftmaxSpec", "softmax_spec",
    "round_shift", "bit_length", "accumulate", "normalize", "reciprocal", "output_words",
    "IBERT_COEF", "IBERT_X0",
]

import decimal
import functools
import math
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

import numpy as np

from .arith import lane_bits, signed_bits, unsigned_bits
from .config import SoftmaxConfig

_CTX = decimal.Context(prec=60)
_LN2 = _CTX.ln(Decimal(2))
_HALF = Decimal("0.5")

# I-BERT's constants (Kim et al., ICML 2021, and its reference code)
IBERT_COEF = (0.35815147, 0.96963238, 1.0)      # a, b, c of a*x**2 + b*x + c ~ exp(x) on [-ln2, 0]
IBERT_X0 = -0.6931                              # -ln 2

NARROW_BITS = 10            # up to this many input bits, one exact table holds every x
MAX_TABLE_BITS = 30         # split tables' mantissas: their product fits int64
SOFTERMAX_ARG_FRAC = 4      # fractional bits of the base-2 argument
SOFTERMAX_MANT_FRAC = 8     # fractional bits of 2**frac and of the line coefficients
SOFTERMAX_PIECES = 4


def round_shift(v, sh):
    """``floor(v / 2**sh + 1/2)``, round half up, for ``sh >= 1`` (vectorized, integers)."""
    return ((v >> (sh - 1)) + 1) >> 1


def bit_length(a):
    """``int.bit_length`` of every element of a non-negative int64 array."""
    a = np.asarray(a, dtype=np.int64)
    out = np.zeros(a.shape, dtype=np.int64)
    for t in range(63):
        out += a >= (1 << t)
    return out


def _pow2_parts(y, frac_bits):
    """``(u, e)`` with ``e = floor(y)``, ``u = round_half_up(2**frac_bits * 2**(y - e))``."""
    e = int(y.to_integral_value(rounding=ROUND_FLOOR))
    f = _CTX.subtract(y, Decimal(e))
    v = _CTX.multiply(_CTX.exp(_CTX.multiply(f, _LN2)), Decimal(1 << frac_bits))
    u = int(_CTX.add(v, _HALF).to_integral_value(rounding=ROUND_FLOOR))
    if u == 1 << (frac_bits + 1):
        u, e = u >> 1, e + 1
    return u, e


def _log2_exp(x, scale):
    """``x * scale / ln 2`` in 60-digit decimal arithmetic (``scale`` is converted exactly)."""
    return _CTX.divide(_CTX.multiply(Decimal(int(x)), Decimal(scale)), _LN2)


@dataclass(frozen=True, eq=False)
class ExactExp:
    """Correctly rounded ``2**(x*c)`` as ``(u, e)`` from tables made at generation.

    Attributes
    ----------
    mant_bits : int
        ``W``: ``u`` is in ``[2**W, 2**(W+1))``.
    split : int
        0 for one table over every ``x``; else ``k``, the low bits of the split
        ``x = xh * 2**k + xl``.
    table_bits : int
        Mantissa fraction bits of the tables: ``W``; or at least ``W + 2`` when split, as many
        as make ``(u, e)`` non-decreasing in ``x``.
    tables : dict of str to tuple
        ``"u"``, ``"e"`` indexed by ``x - x_min``; or ``"hi_u"``, ``"hi_e"`` indexed by
        ``xh - xh_min`` and ``"lo_u"``, ``"lo_e"`` indexed by ``xl``.
    x_min, xh_min : int
    """
    mant_bits: int
    split: int
    table_bits: int
    x_min: int
    xh_min: int
    tables: dict = field(repr=False)

    @classmethod
    def build(cls, in_bits, in_scale, mant_bits):
        x_min = -(1 << (in_bits - 1))
        if in_bits <= NARROW_BITS:
            pairs = [_pow2_parts(_log2_exp(x, in_scale), mant_bits)
                     for x in range(x_min, -x_min)]
            return cls(mant_bits, 0, mant_bits, x_min, 0,
                       {"u": tuple(p[0] for p in pairs), "e": tuple(p[1] for p in pairs)})
        k = (in_bits + 1) // 2
        xh_min = x_min >> k
        xs = np.arange(x_min, -x_min, dtype=np.int64)
        # W + 2 table bits, more where neighbouring logits differ by less than the tables'
        # rounding: the pairs must not decrease with x, or top-1 could be lost
        for tb in range(mant_bits + 2, MAX_TABLE_BITS + 1):
            hi = [_pow2_parts(_log2_exp(xh << k, in_scale), tb)
                  for xh in range(xh_min, -xh_min)]
            lo = [_pow2_parts(_log2_exp(xl, in_scale), tb) for xl in range(1 << k)]
            exp = cls(mant_bits, k, tb, x_min, xh_min, {
                "hi_u": tuple(p[0] for p in hi), "hi_e": tuple(p[1] for p in hi),
                "lo_u": tuple(p[0] for p in lo), "lo_e": tuple(p[1] for p in lo)})
            u, e = exp(xs)
            if (np.diff((e << (mant_bits + 1)) + u) >= 0).all():
                return exp
        raise ValueError(f"No monotone split exp table up to {MAX_TABLE_BITS} bits at "
                         f"in_scale {in_scale!r}")                 # pragma: no cover

    @functools.cached_property
    def _arrays(self):
        return {name: np.array(values, dtype=np.int64) for name, values in self.tables.items()}

    def split_product(self, uh, eh, ul, el):
        """Round the product of two table entries to ``W`` bits: ``(u, e)``, vectorized."""
        W, tb = self.mant_bits, self.table_bits
        pr = uh * ul                                    # in [2**(2tb), 2**(2tb+2))
        top = pr >> (2 * tb + 1)
        u = round_shift(pr, 2 * tb - W + top)
        carry = u >> (W + 1)                            # rounded up to 2**(W+1)
        return u >> carry, eh + el + top + carry

    def __call__(self, x):
        x = np.asarray(x, dtype=np.int64)
        t = self._arrays
        if not self.split:
            i = x - self.x_min
            return t["u"][i], t["e"][i]
        k = self.split
        h, lo = (x >> k) - self.xh_min, x & ((1 << k) - 1)
        return self.split_product(t["hi_u"][h], t["hi_e"][h], t["lo_u"][lo], t["lo_e"][lo])


@dataclass(frozen=True)
class IbertExp:
    """I-BERT's integer exp as ``(u, e)``: ``e = ceil(x/d)``, ``u = z`` aligned by ``shift``.

    ``ceil(x/d)`` is computed as the RTL does, ``((x + bias) * magic >> magic_shift) - offset``
    (exact for every input, checked when the spec is made).
    """
    d: int
    b_int: int
    c_int: int
    shift: int              # u = z << shift (or z >> -shift)
    magic: int
    magic_shift: int
    offset: int             # multiples of d added to make the dividend non-negative

    @classmethod
    def build(cls, in_bits, in_scale, mant_bits):
        a, b, c = IBERT_COEF
        d = -math.floor(IBERT_X0 / in_scale)
        b_int = math.floor(b / a / in_scale)
        c_int = math.floor(c / a / in_scale ** 2)
        x_min, x_max = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
        offset = -(x_min // d)                          # x + d - 1 + offset*d >= 0
        y_max = x_max + d - 1 + offset * d
        # the smallest magic*2**-msh ~ 1/d exact for every y <= y_max (Granlund-Montgomery)
        msh = d.bit_length()
        while y_max * (-(1 << msh) % d) >= (1 << msh):
            msh += 1
        magic = -(-(1 << msh) // d)
        xs = np.arange(x_min, x_max + 1, dtype=np.int64)
        ys = xs + d - 1 + offset * d
        if not np.array_equal((ys * magic) >> msh, ys // d):    # pragma: no cover
            raise ValueError(f"No exact reciprocal of {d} for {in_bits}-bit inputs")
        e = -((-xs) // d)
        r = xs - d * e
        z = r * (r + b_int) + c_int
        if z.min() <= 0:                                # pragma: no cover
            raise ValueError(f"I-BERT polynomial is not positive at in_scale {in_scale!r}")
        shift = mant_bits + 1 - int(z.max()).bit_length()
        return cls(d, b_int, c_int, shift, magic, msh, offset)

    def parts(self, x):
        """``(e, r, z)`` as the RTL computes them."""
        x = np.asarray(x, dtype=np.int64)
        d = self.d
        e = (((x + d - 1 + self.offset * d) * self.magic) >> self.magic_shift) - self.offset
        r = x - d * e
        return e, r, r * (r + self.b_int) + self.c_int

    def __call__(self, x):
        e, _, z = self.parts(x)
        u = z << self.shift if self.shift >= 0 else z >> -self.shift
        return u, e


@dataclass(frozen=True)
class SoftermaxExp:
    """Softermax-style ``2**y`` with ``y`` in fixed point and 4 linear pieces on ``frac(y)``."""
    cq: int
    gs: int                 # y = (x * cq) >> gs (<< -gs if negative)
    arg_frac: int
    mant_frac: int
    slopes: tuple
    intercepts: tuple
    shift: int              # u = mantissa << shift

    @classmethod
    def build(cls, in_bits, in_scale, mant_bits):
        c = in_scale / math.log(2)
        _, ex = math.frexp(c)                           # c = m * 2**ex, m in [0.5, 1)
        total = 16 - ex                                 # cq = round(c * 2**total) has 16 bits
        cq = round(c * 2.0 ** total)
        gs = total - SOFTERMAX_ARG_FRAC
        n, mf = SOFTERMAX_PIECES, SOFTERMAX_MANT_FRAC
        slopes, intercepts = [], []
        for s in range(n):
            x0, x1 = s / n, (s + 1) / n
            y0, y1 = 2.0 ** x0, 2.0 ** x1
            m = (y1 - y0) / (x1 - x0)
            slopes.append(round(m * 2 ** mf))
            intercepts.append(round((y0 - m * x0) * 2 ** mf))
        return cls(cq, gs, SOFTERMAX_ARG_FRAC, mf, tuple(slopes), tuple(intercepts),
                   mant_bits - mf)

    def parts(self, x):
        """``(y, e, f, mantissa)`` as the RTL computes them."""
        x = np.asarray(x, dtype=np.int64)
        p = x * self.cq
        y = p >> self.gs if self.gs >= 0 else p << -self.gs
        af = self.arg_frac
        e, f = y >> af, y & ((1 << af) - 1)
        seg = f >> (af - 2)
        slopes, icpts = np.array(self.slopes), np.array(self.intercepts)
        mant = (slopes[seg] * f + (icpts[seg] << af)) >> af
        return y, e, f, mant

    def __call__(self, x):
        _, e, _, mant = self.parts(x)
        return mant << self.shift, e


_METHODS = {"exact": ExactExp, "ibert": IbertExp, "softermax": SoftermaxExp}


@dataclass(frozen=True, eq=False)
class SoftmaxSpec:
    """Every width, constant and table of a softmax unit (see the module docstring).

    Attributes
    ----------
    config : SoftmaxConfig
    lanes : int
    in_bits, in_lane_bits : int
        Logit width, and its stream lane (8 or 16 bits, sign-extended).
    x_min, x_max : int
    frac_bits : int
        ``F``, the output's fractional bits.
    word_bits, out_lane_bits : int
        ``F + 1`` bit output words, in 16- or 32-bit stream lanes.
    mant_bits, guard_bits, norm_bits, recip_shift : int
        ``W``, ``G``, ``Q`` and ``K = 2Q + 1``.
    exp : ExactExp, IbertExp or SoftermaxExp
    exp_min, exp_max, u_min, u_max : int
        Ranges of ``e`` and of ``u`` over every input.
    exp_bits, diff_bits : int
        Signed width of ``e``; unsigned width of ``E - e``.
    acc_bits : int
        Width of ``A``: holds ``max_elems * (u_max << G)``.
    max_beats, max_elems, count_bits : int
        Beats (and elements) of the longest row; width of the beat counter.
    base_offset, base_min, base_bits : int
        ``B = bit_length(A) + base_offset``; its minimum over non-empty rows and its width.
    recip_bits, prod_bits : int
        Widths of ``R`` and of ``u * R``.
    shift_cap, diff_cap : int
        Pass 2 shifts by ``min(B + min(E - e, diff_cap), shift_cap)``; a shift of ``shift_cap``
        gives 0, as any larger one would.
    term_cap : int
        Pass 1 shifts of ``u << G`` are clamped to this (which gives 0).
    divider_stages : int
        Pipeline stages of the reciprocal, one quotient bit each: ``Q + 2``.
    meta_depth : int
        Rows that may be between the end of pass 1 and the start of pass 2.
    buffer_depth : int
        Beats the row buffer holds: ``max_beats`` plus the pipeline's depth, so both passes
        stream at full rate over back-to-back rows of any length.
    latency : int
        Cycles from the handshake of a row's last input beat to ``m_axis_p_tvalid`` of its first
        output beat, on an idle unit.
    exp_rel_error : float or None
        For ``exact``: the largest relative error of ``u * 2**(e - W)`` against ``2**(x*c)``,
        over every input (the baselines' mantissas carry an arbitrary constant factor).
    error_bound_lsb : float or None
        For ``exact``: a proven bound on ``|word / 2**F - p|`` in LSB for every row of up to
        ``max_len`` elements (``None`` for the baselines).
    """
    config: SoftmaxConfig
    lanes: int
    in_bits: int
    in_lane_bits: int
    x_min: int
    x_max: int
    frac_bits: int
    word_bits: int
    out_lane_bits: int
    mant_bits: int
    guard_bits: int
    norm_bits: int
    recip_shift: int
    exp: object
    exp_min: int
    exp_max: int
    exp_bits: int
    diff_bits: int
    u_min: int
    u_max: int
    acc_bits: int
    max_beats: int
    max_elems: int
    count_bits: int
    base_offset: int
    base_min: int
    base_bits: int
    recip_bits: int
    prod_bits: int
    shift_cap: int
    diff_cap: int
    term_cap: int
    divider_stages: int
    meta_depth: int
    buffer_depth: int
    latency: int
    exp_rel_error: float | None
    error_bound_lsb: float | None

    @property
    def method(self):
        return self.config.method

    @property
    def one(self):
        """The word of probability 1.0: ``2**F``."""
        return 1 << self.frac_bits

    def exp_parts(self, x):
        """``(u, e)`` of every logit in ``x`` (int64 arrays)."""
        return self.exp(x)


# Cycles between a row's last input beat and its first output beat, beside the divider's:
# input, exp, sum (pass 1); the row FIFO and pass 2's row register; read, exp, multiply (pass 2).
_LATENCY_FIXED = 8


@functools.lru_cache(maxsize=64)
def softmax_spec(config):
    """Derive the :class:`SoftmaxSpec` of a :class:`~lutmix.config.SoftmaxConfig`."""
    if not isinstance(config, SoftmaxConfig):
        raise TypeError(f"config must be a SoftmaxConfig, not {config!r}")
    b, s, F, P = config.input_bits, config.in_scale, config.out_frac_bits, config.lanes
    W = F + 8
    exp = _METHODS[config.method].build(b, s, W)
    x_min, x_max = -(1 << (b - 1)), (1 << (b - 1)) - 1
    xs = np.arange(x_min, x_max + 1, dtype=np.int64)
    u, e = exp(xs)
    u_min, u_max, e_min, e_max = int(u.min()), int(u.max()), int(e.min()), int(e.max())
    if not (1 << (W - 1)) <= u_min <= u_max < (1 << (W + 1)):
        raise ValueError(f"{config.method} mantissas [{u_min}, {u_max}] leave [2**{W - 1}, "
                         f"2**{W + 1})")                # pragma: no cover
    rel = None
    if config.method == "exact":                       # against float64 2**(x*c)
        c = s / math.log(2)
        rel = float(np.max(np.abs(u / 2.0 ** W / np.exp2(xs * c - e) - 1)))

    max_beats = -(-config.max_len // P)
    max_elems = max_beats * P
    G = max_elems.bit_length() + 2
    Q = W + 2
    K = 2 * Q + 1
    acc_bits = unsigned_bits(max_elems * (u_max << G))
    bl_min = (u_min << G).bit_length()
    base_offset = K - (Q + 1) - G - F
    base_min = bl_min + base_offset
    base_max = acc_bits + base_offset
    if base_min < 1:
        raise ValueError("output shift must be at least 1")    # pragma: no cover
    recip_bits = Q + 2
    prod_bits = unsigned_bits(((1 << (W + 1)) - 1) * (1 << (Q + 1)))
    shift_cap = prod_bits + 1
    stages = Q + 2
    meta_depth = stages + 16
    bound = None
    if config.method == "exact":
        events = max_elems + max_beats              # truncating shifts in one row
        tau = events * 2.0 ** -(W + G) * (1 + rel)
        q = 2.0 ** -Q
        up = (1 + rel) / (1 - rel - tau) / (1 - q) - 1
        low = 1 - (1 - rel) / (1 + rel) * (1 - q)
        bound = 0.5 + 2.0 ** F * max(up, low)
    return SoftmaxSpec(
        config=config, lanes=P, in_bits=b, in_lane_bits=lane_bits(b), x_min=x_min, x_max=x_max,
        frac_bits=F, word_bits=F + 1, out_lane_bits=lane_bits(F + 1), mant_bits=W,
        guard_bits=G, norm_bits=Q, recip_shift=K, exp=exp,
        exp_min=e_min, exp_max=e_max, exp_bits=signed_bits(e_min, e_max),
        diff_bits=unsigned_bits(e_max - e_min), u_min=u_min, u_max=u_max,
        acc_bits=acc_bits, max_beats=max_beats, max_elems=max_elems,
        count_bits=unsigned_bits(max_beats), base_offset=base_offset, base_min=base_min,
        base_bits=unsigned_bits(base_max), recip_bits=recip_bits, prod_bits=prod_bits,
        shift_cap=shift_cap, diff_cap=shift_cap - base_min, term_cap=W + 1 + G,
        divider_stages=stages, meta_depth=meta_depth,
        buffer_depth=max_beats + stages + 16, latency=stages + _LATENCY_FIXED,
        exp_rel_error=rel, error_bound_lsb=bound)


def accumulate(A, E, u, e, spec):
    """Pass 1 on one beat, vectorized over rows: ``(A', E')`` from ``(A, E)`` and lanes
    ``u, e`` of shape ``(rows, lanes)`` (masked lanes already ``u = 0, e = exp_min``)."""
    E2 = np.maximum(E, e.max(axis=1))
    A2 = A >> np.minimum(E2 - E, spec.acc_bits)
    terms = (u << spec.guard_bits) >> np.minimum(E2[:, None] - e, spec.term_cap)
    return A2 + terms.sum(axis=1), E2


def normalize(A, spec):
    """``(Abar, B)``: ``A`` normalized to ``Q + 1`` bits (truncated), and the output shift
    base ``B = bit_length(A) + base_offset``. Meaningless for ``A = 0`` (an empty row)."""
    A = np.asarray(A, dtype=np.int64)
    bl = bit_length(A)
    top = spec.norm_bits + 1
    down = np.maximum(bl - top, 0)
    up = np.maximum(top - bl, 0)
    return (A >> down) << up, bl + spec.base_offset


def reciprocal(abar, spec):
    """``R = floor(2**K / Abar)``, the row's one reciprocal (0 where ``Abar`` is 0)."""
    abar = np.asarray(abar, dtype=np.int64)
    safe = np.where(abar > 0, abar, 1)
    return np.where(abar > 0, (1 << spec.recip_shift) // safe, 0)


def output_words(u, e, masked, R, B, E, spec):
    """Pass 2: output words from lanes ``u, e, masked`` (shape ``(rows, n)``) and each row's
    ``R, B, E`` (shape ``(rows,)``). Rows with ``R == 0`` (empty) give 0."""
    R, B, E = (np.asarray(v, dtype=np.int64)[:, None] for v in (R, B, E))
    d = np.minimum(E - e, spec.diff_cap)
    sh = np.minimum(np.maximum(B + d, 1), spec.shift_cap)
    w = np.minimum(round_shift(u * R, sh), spec.one)
    return np.where(masked | (R == 0), 0, w)
