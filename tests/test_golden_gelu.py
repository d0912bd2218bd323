"""The GELU golden model over every input of every config of the matrix: equal to its literal
twin, and within the issue's bounds of the float64 function (textbook formulas, not
lutmix.gelu_math's)."""
import math

import numpy as np
import pytest

from lutmix.config import GeluConfig
from lutmix.gelu_math import gelu_spec
from lutmix.golden import gelu, ref_gelu

# (input_bits, in_frac_bits, out_bits, out_frac_bits): 8, 10, 12, 14 and 16 bits, scales from
# integers to [-1, 1), outputs finer, equal and coarser than inputs
FORMATS = [(8, 4, 8, 4), (8, 5, 8, 6), (8, 7, 8, 7), (8, 0, 8, 0), (8, 2, 16, 12),
           (10, 7, 12, 9), (12, 8, 8, 4), (12, 6, 16, 10), (14, 11, 12, 8),
           (16, 12, 16, 12), (16, 10, 16, 11), (16, 13, 16, 13), (16, 8, 16, 8),
           (16, 15, 16, 15), (16, 0, 16, 15), (16, 14, 8, 7), (16, 15, 16, 0)]
BOUND = {"rom": 0.5, "pwq": 1.0}
FLOAT_SLACK = 1e-9          # float64's own error, in LSB


def config(function, method, fmt):
    bits, fi, ob, fo = fmt
    return GeluConfig(function=function, method=method, input_bits=bits, in_frac_bits=fi,
                      out_bits=ob, out_frac_bits=fo)


def cases(methods):
    return [pytest.param(fn, m, fmt, id=f"{fn}-{m}-i{fmt[0]}f{fmt[1]}-o{fmt[2]}f{fmt[3]}")
            for fn in ("gelu", "silu") for m in methods for fmt in FORMATS
            if not (m == "rom" and fmt[0] > 10)]


def float_lsb(spec, x):
    """clip(f(x) * 2**out_frac): the saturated real result in LSB, textbook float64."""
    v = x / 2.0 ** spec.in_frac
    if spec.function == "gelu":
        f = np.array([0.5 * t * (1 + math.erf(t / math.sqrt(2))) for t in v])
    else:
        f = np.array([t / (1 + math.exp(-t)) if t > -700 else 0.0 for t in v])
    return np.clip(f * 2.0 ** spec.out_frac, spec.y_min, spec.y_max)


@pytest.mark.parametrize("function,method,fmt", cases(["rom", "pwq", "ibert"]))
def test_golden_equals_its_literal_model(function, method, fmt):
    spec = gelu_spec(config(function, method, fmt))
    x = spec.inputs
    assert np.array_equal(gelu(x, spec), ref_gelu(x, spec))


@pytest.mark.parametrize("function,method,fmt", cases(["rom", "pwq"]))
def test_golden_within_bound_of_float64_on_every_input(function, method, fmt):
    spec = gelu_spec(config(function, method, fmt))
    x = spec.inputs
    err = np.abs(gelu(x, spec) - float_lsb(spec, x))
    assert err.max() <= BOUND[method] + FLOAT_SLACK, (
        f"max {err.max():.4f} LSB at x = {x[err.argmax()]}")


def ibert_float(spec, x):
    """I-BERT's IntGELU.forward in float64 (its own arithmetic), in output LSB, saturated."""
    k = {"gelu": 1.4142, "silu": 1.4142 * 1.702}[spec.function]
    scale = 2.0 ** -spec.in_frac
    s_erf = scale / k
    b_int = np.floor(-1.769 / s_erf)
    c_int = np.floor((1 / -0.2888) / s_erf ** 2)
    y_int = np.sign(x) * ((np.minimum(np.abs(x), -b_int) + b_int) ** 2 + c_int)
    n = spec.ibert.erf_shift                # the reference code has 14; see lutmix.gelu_math
    y_int = np.floor(y_int / 2 ** n)
    s_sig = s_erf ** 2 * -0.2888 * 2 ** n
    shift_int = 1.0 // s_sig
    out = x * (y_int + shift_int) * (scale * s_sig / 2)
    return np.clip(out * 2.0 ** spec.out_frac, spec.y_min, spec.y_max)


@pytest.mark.parametrize("function,method,fmt", cases(["ibert"]))
def test_ibert_is_ibert_rounded_to_the_output(function, method, fmt):
    # the integer datapath reproduces I-BERT's result; only the final rounding and the
    # requantization multiplier's 2**-(out_bits + 5) relative error separate them
    spec = gelu_spec(config(function, method, fmt))
    x = spec.inputs
    err = np.abs(gelu(x, spec) - ibert_float(spec, x))
    assert err.max() <= 0.5 + 2 ** -6 + FLOAT_SLACK


def test_ibert_baseline_matches_findings():
    # findings.md: I-BERT i-GELU (integer, no final shift), int8 at 1/16 both sides, 0.77 LSB
    spec = gelu_spec(config("gelu", "ibert", (8, 4, 8, 4)))
    err = np.abs(gelu(spec.inputs, spec) - float_lsb(spec, spec.inputs))
    assert round(float(err.max()), 2) == 0.77


def test_pwq_segments_are_few():
    # the 16-bit case: a handful of dozen segments, not a table
    for function in ("gelu", "silu"):
        spec = gelu_spec(config(function, "pwq", (16, 12, 16, 12)))
        assert spec.pwq.segments <= 64
        assert spec.pwq.lo <= spec.pwq.hi


def test_golden_rejects_words_outside_the_input():
    spec = gelu_spec(config("gelu", "pwq", (8, 4, 8, 4)))
    with pytest.raises(OverflowError, match="input words: values in"):
        gelu(np.array([128]), spec)
    with pytest.raises(TypeError, match="^Input words must be integers, not float64$"):
        gelu(np.array([1.0]), spec)
    with pytest.raises(TypeError, match="^spec must be a GeluSpec"):
        gelu(np.array([1]), None)
