"""``lutmix run gelu``, ``verify`` and ``generate`` on GELU configs: outputs, and one-line errors
that write nothing."""
import json
from xml.etree import ElementTree

import numpy as np
import pytest

from lutmix.config import PRESETS, load_config
from lutmix.gelu_math import gelu_spec
from lutmix.golden import gelu

from .conftest import npy, run_cli

# the same unit as a case of tests/test_gelu.py, so the simulator build is shared
IBERT3 = ('[gelu]\nfunction = "gelu"\nmethod = "ibert"\ninput_bits = 8\nin_frac_bits = 4\n'
          'out_bits = 8\nout_frac_bits = 4\nlanes = 3\n')


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "gelu.toml"
    path.write_text(IBERT3)
    return path


def test_run_gelu_any_shape_with_raw_words(tmp_path, cfg, capsys, sim_cache, monkeypatch):
    x = np.random.default_rng(4).integers(-128, 128, size=(2, 3, 7)).astype(np.int16)
    npy(tmp_path, "X.npy", x)
    monkeypatch.chdir(tmp_path)
    rc = run_cli("run", "gelu", "gelu.toml", "--input", "X.npy", "-o", "Y.npy", "--raw",
                 "--cache", sim_cache)
    text = capsys.readouterr().out
    assert rc == 0, text
    spec = gelu_spec(load_config(cfg).gelu)
    words = gelu(x, spec)
    y = np.load(tmp_path / "Y.npy")
    assert y.dtype == np.float64 and y.shape == x.shape
    assert np.array_equal(y, words / 16.0)                       # exact: words / 2**out_frac
    raw = np.load(tmp_path / "Y.raw.npy")
    assert raw.dtype == np.int8 and np.array_equal(raw, words)
    assert "golden model: bit-exact (1 frame, 42 words)" in text
    assert "words per cycle" in text and "error vs float64 gelu" in text


def test_run_gelu_16_bit_preset(tmp_path, capsys, sim_cache):
    x = np.arange(-32768, 32768, 37).astype(np.int32)
    out = tmp_path / "Y.npy"
    assert run_cli("run", "gelu", "gelu16", "--input", npy(tmp_path, "X.npy", x), "-o", out,
                   "--cache", sim_cache) == 0
    spec = gelu_spec(PRESETS["gelu16"].gelu)
    assert np.array_equal(np.load(out), gelu(x, spec) / 4096.0)
    assert not (tmp_path / "Y.raw.npy").exists()
    assert "unit gelu pwq, int16 (frac 12) -> int16 (frac 12), 4 lanes" in capsys.readouterr().out


@pytest.mark.parametrize("case,message", [
    ("missing", "X.npy: no such file (input words)"),
    ("not-npy", "X.npy: not a NumPy .npy file (input words)"),
    ("float", "X.npy: dtype must be an integer type holding 8-bit words, not float32"),
    ("range", "X.npy: value 128 at index (1, 2) is outside the 8-bit input words (allowed: "
              "-128 to 127; input_bits = 8)"),
    ("range-low", "X.npy: value -129 at index (0, 0) is outside the 8-bit input words "
                  "(allowed: -128 to 127; input_bits = 8)"),
    ("empty", "X.npy: has no elements, shape (0, 4)"),
    ("output", "Y.txt: the output must be a .npy file"),
    ("section", "w2a8: missing [gelu] section"),
])
def test_run_gelu_bad_input(tmp_path, cfg, capsys, case, message):
    x = np.zeros((3, 4), dtype=np.int16)
    if case == "float":
        x = x.astype(np.float32)
    if case == "range":
        x[1, 2] = 128
    if case == "range-low":
        x[0, 0] = -129
    if case == "empty":
        x = np.zeros((0, 4), dtype=np.int8)
    xp = npy(tmp_path, "X.npy", x)
    if case == "missing":
        xp.unlink()
    if case == "not-npy":
        xp.write_text("hello")
    out = tmp_path / ("Y.txt" if case == "output" else "Y.npy")
    config = "w2a8" if case == "section" else cfg
    assert run_cli("run", "gelu", config, "--input", xp, "-o", out, "--raw") == 2
    err = capsys.readouterr().err
    expected = "lutmix: error: " + message.replace("X.npy", f"{tmp_path}/X.npy") \
        .replace("Y.txt", f"{tmp_path}/Y.txt")
    assert err.startswith(expected) and err.count("\n") == 1
    if case != "not-npy":
        assert err == expected + "\n"
    assert not out.exists() and not (tmp_path / "Y.raw.npy").exists()


def test_impossible_config_is_one_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('[gelu]\nmethod = "rom"\ninput_bits = 16\nin_frac_bits = 12\n')
    assert run_cli("generate", path, "-o", tmp_path / "out") == 2
    assert capsys.readouterr().err == (
        f"lutmix: error: {path}: [gelu] method 'rom' needs input_bits <= 10 (one table entry "
        f"per input), not 16; use 'pwq' or 'auto'\n")
    assert not (tmp_path / "out").exists()


def test_verify_covers_gelu(tmp_path, cfg, capsys, sim_cache, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc = run_cli("verify", "gelu.toml", "--vectors", 5, "--seed", 2, "-o", "v",
                 "--cache", sim_cache)
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "gelu: PASS 5/5 vectors (verilator, seed 2, random stalls" in text
    assert "gelu ibert: " in text and "(all 256 inputs, 3 a beat)" in text
    suite = ElementTree.parse(tmp_path / "v" / "junit.xml").getroot().find("testsuite")
    assert suite.get("name") == "lutmix.verify.gelu"
    assert suite.get("tests") == "6" and suite.get("failures") == "0"


def test_generate_both_units(tmp_path, capsys):
    path = tmp_path / "both.toml"
    path.write_text('[gemm]\nweight = "int2"\nm = 1\nn = 4\nk = 2\nmax_k = 16\n\n' + IBERT3)
    assert run_cli("generate", path, "-o", tmp_path / "out") == 0
    assert (tmp_path / "out" / "lutmix_gemm.v").exists()
    assert (tmp_path / "out" / "lutmix_gelu.v").exists()
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert set(man["units"]) == {"gemm", "gelu"}
    assert man["units"]["gelu"]["latency_cycles"] == 4


def test_config_lists_gelu_presets(capsys):
    assert run_cli("config") == 0
    out = capsys.readouterr().out
    assert "gelu16         gelu: function gelu, input_bits 16, in_frac_bits 12" in out
    assert run_cli("config", "silu8") == 0
    assert 'function = "silu"' in capsys.readouterr().out
