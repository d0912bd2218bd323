"""The GELU unit's config and arithmetic: one-line errors, correct rounding, I-BERT's constants."""
import math

import mpmath
import numpy as np
import pytest

from lutmix.config import PRESETS, Config, GeluConfig, load_config
from lutmix.errors import ConfigError
from lutmix.gelu_math import (
    correctly_rounded,
    gelu_spec,
    identity,
    pack_words,
    reference,
    round_shift,
    unpack_words,
)


@pytest.mark.parametrize("kwargs,exc,message", [
    ({"function": "tanh"}, ValueError, "function must be one of 'gelu', 'silu', not 'tanh'"),
    ({"input_bits": 17}, ValueError, "input_bits must be an integer from 8 to 16, not 17"),
    ({"input_bits": 4}, ValueError, "input_bits must be an integer from 8 to 16, not 4"),
    ({"in_frac_bits": 8}, ValueError,
     "in_frac_bits must be an integer from 0 to 7 (less than input_bits = 8), not 8"),
    ({"in_frac_bits": -1}, ValueError,
     "in_frac_bits must be an integer from 0 to 7 (less than input_bits = 8), not -1"),
    ({"out_bits": 12, "out_frac_bits": 12}, ValueError,
     "out_frac_bits must be an integer from 0 to 11 (less than out_bits = 12), not 12"),
    ({"out_frac_bits": 2.5}, TypeError, "out_frac_bits must be an integer from 0 to 7, not 2.5"),
    ({"lanes": 0}, ValueError, "lanes must be an integer from 1 to 64, not 0"),
    ({"lanes": "4"}, TypeError, "lanes must be an integer from 1 to 64, not '4'"),
    ({"method": "lut"}, ValueError,
     "method must be one of 'auto', 'rom', 'pwq', 'ibert', not 'lut'"),
    ({"method": "rom", "input_bits": 16, "in_frac_bits": 12}, ValueError,
     "method 'rom' needs input_bits <= 10 (one table entry per input), not 16; use 'pwq' or "
     "'auto'"),
])
def test_bad_values_name_the_key(kwargs, exc, message):
    with pytest.raises(exc) as info:
        GeluConfig(**kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize("text,message", [
    ('[gelu]\nmethod = "rom"\ninput_bits = 16\n',
     "[gelu] method 'rom' needs input_bits <= 10 (one table entry per input), not 16; use "
     "'pwq' or 'auto'"),
    ('[gelu]\nout_frac_bits = 8\n',
     "[gelu] out_frac_bits must be an integer from 0 to 7 (less than out_bits = 8), not 8"),
    ('[gelu]\nlanes = 0\n', "[gelu] lanes must be an integer from 1 to 64, not 0"),
    ('[gelu]\nscale = 3\n', "[gelu] unknown key 'scale'; allowed: function, input_bits, "
     "in_frac_bits, out_bits, out_frac_bits, lanes, method"),
])
def test_bad_files_give_one_line(tmp_path, text, message):
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: {message}"


def test_load_and_auto_method(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text('[gelu]\nfunction = "silu"\ninput_bits = 10\nin_frac_bits = 7\n'
                    'out_bits = 12\nout_frac_bits = 9\nlanes = 2\n')
    cfg = load_config(path).gelu
    assert cfg == GeluConfig(function="silu", input_bits=10, in_frac_bits=7, out_bits=12,
                             out_frac_bits=9, lanes=2)
    assert cfg.resolved_method == "rom"
    assert GeluConfig(input_bits=11).resolved_method == "pwq"
    assert gelu_spec(PRESETS["gelu16"].gelu).method == "pwq"
    assert load_config("gelu8") == Config(gelu=GeluConfig(lanes=4))


def f64(function, x):
    """The textbook float64 formulas, independent of lutmix.gelu_math."""
    if function == "gelu":
        return np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    return np.array([v / (1 + math.exp(-v)) if v > -700 else 0.0 for v in x])


@pytest.mark.parametrize("function", ["gelu", "silu"])
@pytest.mark.parametrize("bits,in_frac,out_frac", [(8, 4, 4), (8, 6, 9), (10, 7, 12),
                                                   (10, 0, 5), (9, 8, 3)])
def test_correctly_rounded_against_float64(function, bits, in_frac, out_frac):
    x = np.arange(-(1 << (bits - 1)), 1 << (bits - 1))
    table = correctly_rounded(function, x, in_frac, out_frac)
    v = f64(function, x / 2.0 ** in_frac) * 2.0 ** out_frac
    assert np.abs(table - v).max() <= 0.5 + 1e-9
    # away from midpoints float64 decides the rounding too
    clear = np.abs(v - np.floor(v) - 0.5) > 1e-6
    assert np.array_equal(table[clear], np.rint(v[clear]))
    # near a midpoint, decide with 60 digits and the textbook formula
    for xi, t in zip(x[~clear], table[~clear]):
        with mpmath.workdps(60):
            a = mpmath.mpf(int(xi)) / 2 ** in_frac
            p = (1 + mpmath.erf(a / mpmath.sqrt(2))) / 2 if function == "gelu" \
                else 1 / (1 + mpmath.exp(-a))
            exact = a * p * 2 ** out_frac
            if abs(exact - mpmath.floor(exact) - 0.5) > mpmath.mpf(10) ** -50:
                assert t == int(mpmath.nint(exact)), xi


@pytest.mark.parametrize("function", ["gelu", "silu"])
def test_near_ties_round_the_right_way(function):
    # with one more input than output fraction bit, an odd x is a midpoint of the identity;
    # f(x) lies just below it (x > 0) by x * tail(x), down to 1e-300 and less: float64 sees a
    # tie and would round to even, the correctly rounded table rounds down
    x = np.arange(61, 128, 2)                          # 3.8 .. 7.9 at in_frac 4
    table = correctly_rounded(function, x, 4, 3)
    assert np.array_equal(table, (x - 1) // 2)
    big = np.array([501, 511])                        # 501 = 250.5 * 2: gelu - x ~ 1e-13000
    assert np.array_equal(correctly_rounded(function, big, 1, 0), [250, 255])
    assert correctly_rounded(function, np.array([0]), 4, 4)[0] == 0


def test_rom_saturates():
    spec = gelu_spec(GeluConfig(input_bits=8, in_frac_bits=4, out_bits=8, out_frac_bits=7))
    rom = np.array(spec.rom)
    x = spec.inputs
    assert rom[x == 127] == 127 and rom[x == 16] == 108    # gelu(1) = 0.8413 = 107.7 / 128
    assert rom.min() == round(-0.16997 * 128)              # the minimum, near x = -0.75


def test_reference_keeps_the_tails():
    assert reference("gelu", np.array([-30.0]))[0] < 0       # x * Phi(x) ~ -1e-197
    assert reference("silu", np.array([-800.0]))[0] == 0.0
    assert reference("gelu", np.array([1.0]))[0] == pytest.approx(0.8413447460685429, abs=1e-16)
    assert reference("silu", np.array([1.0]))[0] == pytest.approx(0.7310585786300049, abs=1e-16)
    with pytest.raises(ValueError, match="^function must be one of 'gelu', 'silu', not 'relu'$"):
        reference("relu", np.array([0.0]))


def test_rounding_helpers():
    assert round_shift(np.array([-3, -2, -1, 1, 2, 3]), 1).tolist() == [-1, -1, 0, 1, 1, 2]
    assert identity(np.array([-3, 5]), 4, 6).tolist() == [-12, 20]
    assert identity(np.array([-3, 5]), 4, 3).tolist() == [-1, 3]


def test_ibert_constants_follow_the_reference_code():
    # I-BERT's IntGELU at the input scale 1/16 of findings.md, computed as its code does
    spec = gelu_spec(PRESETS["gelu8-ibert"].gelu)
    ib = spec.ibert
    s_erf = (1 / 16) / 1.4142
    assert ib.b_int == math.floor(-1.769 / s_erf) == -41
    assert ib.c_int == math.floor((1 / -0.2888) / s_erf ** 2) == -1773
    assert ib.erf_shift == 0
    assert ib.shift_int == math.floor(1 // (s_erf ** 2 * -0.2888))
    assert ib.m_int / 2 ** ib.rq == pytest.approx(ib.out_scale * 16, rel=2 ** -(8 + 5))


@pytest.mark.parametrize("in_frac", range(0, 16, 3))
@pytest.mark.parametrize("out_bits,out_frac", [(8, 0), (8, 7), (16, 0), (16, 15)])
def test_ibert_fits_every_scale(in_frac, out_bits, out_frac):
    # the widest inputs at every scale: requantization needs a right shift and fits int64
    spec = gelu_spec(GeluConfig(method="ibert", input_bits=16, in_frac_bits=in_frac,
                                out_bits=out_bits, out_frac_bits=out_frac))
    assert spec.ibert.rq >= 1 and spec.ibert.widths["pm"] <= 63
    assert spec.ibert.widths["erf"] <= 17           # the shift keeps 16 significant bits


def test_words_round_trip():
    words = np.array([[-128, 127, 0], [5, -6, 7]])
    beats = pack_words(words, 8)
    assert beats.shape == (2, 3) and beats[0].tolist() == [128, 127, 0]
    assert np.array_equal(unpack_words(beats, 8), words)
    words16 = np.array([[-32768, 32767]])
    assert np.array_equal(unpack_words(pack_words(words16, 16), 16), words16)
