"""``lutmix run softmax``, ``generate`` and ``verify`` on a [softmax] config: outputs, and one-line
errors that write nothing."""
import json
from xml.etree import ElementTree

import numpy as np
import pytest

from lutmix.config import SoftmaxConfig
from lutmix.golden.softmax import softmax_words
from lutmix.softmax_math import softmax_spec

from .conftest import npy, run_cli

TINY = "[softmax]\nlanes = 2\nmax_len = 64\n"          # = the softmax-tiny preset


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text(TINY)
    return path


def test_run_softmax_with_mask_and_raw(tmp_path, cfg, capsys, sim_cache, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, size=(4, 11)).astype(np.int16)
    mask = rng.random(x.shape) < 0.3
    mask[1] = True                                      # a fully masked row
    npy(tmp_path, "X.npy", x)
    npy(tmp_path, "M.npy", mask.astype(np.uint8))
    monkeypatch.chdir(tmp_path)
    rc = run_cli("run", "softmax", "cfg.toml", "--input", "X.npy", "--mask", "M.npy",
                 "-o", "P.npy", "--raw", "--cache", sim_cache)
    text = capsys.readouterr().out
    assert rc == 0, text
    spec = softmax_spec(SoftmaxConfig(lanes=2, max_len=64))
    words = softmax_words(x, mask, spec=spec)
    p = np.load(tmp_path / "P.npy")
    raw = np.load(tmp_path / "P.raw.npy")
    assert p.dtype == np.float64 and p.shape == x.shape
    assert raw.dtype == np.uint16 and np.array_equal(raw, words)
    assert np.array_equal(p, words / 256.0)             # exact values of the words
    assert (p[mask] == 0).all() and (p[1] == 0).all()
    assert "golden model: all 4 rows bit-exact" in text
    assert "latency 28" in text and "against float64 softmax: max error" in text


def test_run_softmax_without_mask(tmp_path, cfg, capsys, sim_cache):
    x = np.array([[5, 5, 5, 5, 5]], dtype=np.int8)
    out = tmp_path / "P.npy"
    rc = run_cli("run", "softmax", cfg, "--input", npy(tmp_path, "X.npy", x), "-o", out,
                 "--cache", sim_cache)
    assert rc == 0
    assert np.load(out).tolist() == [[51 / 256] * 5]
    assert not (tmp_path / "P.raw.npy").exists()


@pytest.mark.parametrize("case,message", [
    ("missing", "X.npy: no such file (logits)"),
    ("not-npy", "X.npy: not a NumPy .npy file (logits)"),
    ("x-shape", "X.npy: must be a 2-D array (R, L), not shape (6,)"),
    ("x-empty", "X.npy: has an empty axis, shape (0, 6)"),
    ("x-dtype", "X.npy: dtype must be an integer type holding 8-bit logits, not float32"),
    ("x-range", "X.npy: value 128 at index (1, 2) is not an 8-bit logit (allowed: -128 to 127)"),
    ("x-long", "X.npy: rows of 65 logits are longer than max_len 64"),
    ("mask-shape", "M.npy: shape (2, 5) does not match X.npy's shape (2, 6)"),
    ("mask-dtype", "M.npy: dtype must be bool or an integer type holding 0 and 1, not float64"),
    ("mask-value", "M.npy: value 2 at index (0, 4) is not 0 or 1 (1 masks the logit out)"),
    ("no-section", "cfg.toml: missing [softmax] section"),
    ("output", "P.txt: the output must be a .npy file"),
])
def test_run_softmax_bad_input(tmp_path, cfg, capsys, case, message):
    x = np.zeros((2, 6), dtype=np.int16)
    mask = np.zeros((2, 6), dtype=bool)
    out = tmp_path / "P.npy"
    if case == "x-shape":
        x = x[0]
    if case == "x-empty":
        x = np.zeros((0, 6), dtype=np.int16)
    if case == "x-dtype":
        x = x.astype(np.float32)
    if case == "x-range":
        x[1, 2] = 128
    if case == "x-long":
        x = np.zeros((2, 65), dtype=np.int8)
    if case == "mask-shape":
        mask = mask[:, :5]
    if case == "mask-dtype":
        mask = mask.astype(np.float64)
    if case == "mask-value":
        mask = mask.astype(np.int8)
        mask[0, 4] = 2
    if case == "no-section":
        cfg.write_text('[gemm]\nweight = "int2"\n')
    if case == "output":
        out = tmp_path / "P.txt"
    xp = npy(tmp_path, "X.npy", x)
    mp = npy(tmp_path, "M.npy", mask)
    if case == "missing":
        xp.unlink()
    if case == "not-npy":
        xp.write_text("hello")
    rc = run_cli("run", "softmax", cfg, "--input", xp, "--mask", mp, "-o", out, "--raw")
    err = capsys.readouterr().err
    assert rc == 2
    expected = "lutmix: error: " + message.replace("X.npy", f"{tmp_path}/X.npy") \
        .replace("M.npy", f"{tmp_path}/M.npy").replace("cfg.toml", f"{tmp_path}/cfg.toml") \
        .replace("P.txt", f"{tmp_path}/P.txt")
    assert err.startswith(expected) and err.count("\n") == 1
    assert not out.exists() and not (tmp_path / "P.raw.npy").exists()


def test_generate_softmax(tmp_path, cfg):
    assert run_cli("generate", cfg, "-o", tmp_path / "a") == 0
    assert run_cli("generate", cfg, "-o", tmp_path / "b") == 0
    text = (tmp_path / "a" / "lutmix_softmax.v").read_bytes()
    assert text == (tmp_path / "b" / "lutmix_softmax.v").read_bytes()
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    unit = man["units"]["softmax"]
    assert unit["latency_cycles"] == 28 and unit["method"] == "exact"
    assert unit["streams"]["s_axis_x"]["tdata_bits"] == 16
    assert unit["streams"]["m_axis_p"]["tdata_bits"] == 32
    assert [p["name"] for p in unit["ports"]] == [
        "aclk", "aresetn", "s_axis_x_tdata", "s_axis_x_tvalid", "s_axis_x_tready",
        "s_axis_x_tlast", "s_axis_x_tuser", "m_axis_p_tdata", "m_axis_p_tvalid",
        "m_axis_p_tready", "m_axis_p_tlast"]
    assert 0.5 < unit["error_bound_lsb"] < 0.6


def test_verify_softmax_writes_junit(tmp_path, cfg, capsys, sim_cache, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc = run_cli("verify", "cfg.toml", "--vectors", 14, "--seed", 3, "-o", "v",
                 "--cache", sim_cache)
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "softmax: PASS 14/14 vectors" in text
    suite = ElementTree.parse(tmp_path / "v" / "junit.xml").getroot().find("testsuite")
    assert suite.get("name") == "lutmix.verify.softmax"
    assert suite.get("tests") == "15" and suite.get("failures") == "0"


def test_config_verb_lists_softmax_presets(capsys):
    assert run_cli("config") == 0
    out = capsys.readouterr().out
    assert ("softmax-int8   softmax: input_bits 8, in_scale 0.0625, out_frac_bits 8, lanes 4, "
            "max_len 4096, method exact\n") in out
    assert "softmax-softermax softmax: " in out
    assert run_cli("config", "softmax-int16") == 0
    assert "in_scale = 0.0009765625" in capsys.readouterr().out
