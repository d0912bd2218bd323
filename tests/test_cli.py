"""The lutmix command line: verbs, outputs, and one-line errors that write nothing."""
import json
import subprocess
import sys
from xml.etree import ElementTree

import numpy as np
import pytest

from .conftest import npy, run_cli, simulators

TINY = '[gemm]\nweight = "int2"\nm = 1\nn = 4\nk = 2\nmax_k = 16\n'


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text(TINY)
    return path


def test_generate(tmp_path, cfg, capsys):
    assert run_cli("generate", cfg, "-o", tmp_path / "out") == 0
    assert (tmp_path / "out" / "lutmix_gemm.v").exists()
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert man["config"]["gemm"]["n"] == 4
    assert "wrote" in capsys.readouterr().out


def test_generate_is_byte_identical(tmp_path, cfg):
    run_cli("generate", cfg, "-o", tmp_path / "a")
    run_cli("generate", cfg, "-o", tmp_path / "b")
    assert (tmp_path / "a" / "lutmix_gemm.v").read_bytes() == \
        (tmp_path / "b" / "lutmix_gemm.v").read_bytes()


@pytest.mark.parametrize("text,message", [
    ('[gemm]\nk = 7\n', "[gemm] k must be an integer from 2 to 5, not 7"),
    ('[gemm]\nweight = "int7"\n', "[gemm] weight must be one of 'int1', 'ternary'"),
    ('[gemm]\nn = 0\n', "[gemm] n must be an integer from 1 to 1024, not 0"),
    ('[nosuch]\n', "unknown section [nosuch]; allowed: [gemm]"),
])
def test_bad_config_is_one_line_and_writes_nothing(tmp_path, capsys, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert run_cli("generate", path, "-o", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lutmix: error: {path}: ") and message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case,message", [
    ("missing", "W.npy: no such file (weights)"),
    ("not-npy", "W.npy: not a NumPy .npy file (weights)"),
    ("w-dtype", "W.npy: dtype must be an integer type holding int2 values, not float32"),
    ("w-range", "W.npy: value 2 at index (1, 3) is not an int2 weight (allowed: -2, -1, 0, 1)"),
    ("w-shape", "W.npy: must be a 2-D array (N, K), not shape (8,)"),
    ("x-dtype", "X.npy: dtype must be an integer type holding int8 values, not float32"),
    ("x-range", "X.npy: value 200 at index (1, 3) is not an int8 activation (allowed: -128 to "
                "127)"),
    ("k-mismatch", "X.npy: K = 9 does not match W.npy's K = 8"),
])
def test_run_gemm_bad_input(tmp_path, cfg, capsys, case, message):
    w = np.zeros((3, 8), dtype=np.int8)
    x = np.zeros((2, 8), dtype=np.int8)
    if case == "w-dtype":
        w = w.astype(np.float32)
    if case == "w-range":
        w[1, 3] = 2
    if case == "w-shape":
        w = w[0]
    if case == "x-dtype":
        x = x.astype(np.float32)
    if case == "x-range":                   # any integer dtype, values in the format's range
        x = x.astype(np.int32)
        x[1, 3] = 200
    if case == "k-mismatch":
        x = np.zeros((2, 9), dtype=np.int8)
    wp = npy(tmp_path, "W.npy", w)
    xp = npy(tmp_path, "X.npy", x)
    if case == "missing":
        wp.unlink()
    if case == "not-npy":
        wp.write_text("hello")
    out = tmp_path / "Y.npy"
    assert run_cli("run", "gemm", cfg, "--weights", wp, "--acts", xp, "-o", out) == 2
    err = capsys.readouterr().err
    expected = "lutmix: error: " + message.replace("W.npy", f"{tmp_path}/W.npy") \
        .replace("X.npy", f"{tmp_path}/X.npy")
    assert err == expected + "\n"
    assert not out.exists()


def test_missing_section(tmp_path, capsys):
    path = tmp_path / "cfg.toml"
    path.write_text("")
    assert run_cli("generate", path, "-o", tmp_path / "o") == 2
    assert "A config needs at least one section: [gemm]" in capsys.readouterr().err


def test_run_gemm(tmp_path, cfg, capsys, sim_cache, monkeypatch):
    rng = np.random.default_rng(0)
    w = rng.integers(-2, 2, size=(6, 21)).astype(np.int8)
    x = rng.integers(-128, 128, size=(3, 21)).astype(np.int8)
    npy(tmp_path, "W.npy", w)
    npy(tmp_path, "X.npy", x)
    monkeypatch.chdir(tmp_path)             # relative paths, as users type them
    out = tmp_path / "Y.npy"
    rc = run_cli("run", "gemm", "cfg.toml", "--weights", "W.npy", "--acts", "X.npy",
                 "-o", "Y.npy", "--workdir", "work", "--cache", sim_cache)
    text = capsys.readouterr().out
    assert rc == 0, text
    y = np.load(out)
    assert y.dtype == np.int64 and y.shape == (3, 6)
    assert np.array_equal(y, x.astype(np.int64) @ w.T.astype(np.int64))
    assert "array utilization" in text and "cycles" in text
    assert "bit-exact" in text


@pytest.mark.parametrize("sim", simulators())
def test_run_gemm_keeps_a_waveform(tmp_path, cfg, capsys, sim_cache, sim):
    w = np.ones((4, 8), dtype=np.int8)
    x = np.ones((1, 8), dtype=np.int8)
    out = tmp_path / "Y.npy"
    rc = run_cli("run", "gemm", cfg, "--weights", npy(tmp_path, "W.npy", w),
                 "--acts", npy(tmp_path, "X.npy", x), "-o", out, "--cache", sim_cache,
                 "--sim", sim, "--waves")
    assert rc == 0
    wave = out.with_suffix({"verilator": ".vcd", "icarus": ".fst"}[sim])
    assert wave.exists() and wave.stat().st_size > 0
    assert f"waveform: {wave}" in capsys.readouterr().out


def test_verify_writes_junit(tmp_path, cfg, capsys, sim_cache, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc = run_cli("verify", "cfg.toml", "--vectors", 10, "--seed", 3, "-o", "v",
                 "--cache", sim_cache)
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "gemm: PASS 10/10 vectors" in text
    root = ElementTree.parse(tmp_path / "v" / "junit.xml").getroot()
    suite = root.find("testsuite")
    assert suite.get("name") == "lutmix.verify.gemm"
    assert suite.get("tests") == "11" and suite.get("failures") == "0"


def test_config_verb(capsys):
    assert run_cli("config") == 0
    assert "w2a8" in capsys.readouterr().out
    assert run_cli("config", "bitnet") == 0
    assert 'weight = "ternary"' in capsys.readouterr().out


def test_errors_have_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[gemm]\nk = 9\n")
    out = subprocess.run([sys.executable, "-m", "lutmix", "generate", str(bad), "-o",
                          str(tmp_path / "o")], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr == f"lutmix: error: {bad}: [gemm] k must be an integer from 2 to 5, " \
                         f"not 9\n"
    assert not (tmp_path / "o").exists()


DEQUANT = ('[gemm]\nweight = "{weight}"\nactivation = "{act}"\nm = 1\nn = 4\nk = 4\n'
           'max_k = 64\ngroup_size = 32\n')


@pytest.mark.parametrize("case,message", [
    ("nan-scale", "S.npy: scale nan at index (1, 1) is not finite"),
    ("inf-scale", "S.npy: scale inf at index (0, 0) is not finite"),
    ("scale-shape", "S.npy: shape must be (3, 2) (N = 3 by 2 groups of 32), not (3, 3)"),
    ("no-scales", "cfg.toml: group_size 32 needs --scales S.npy, shape (N, groups)"),
    ("k-groups", "X.npy: K = 60 is not a multiple of group_size 32"),
    ("signed-zeros", "Z.npy: zero points are for unsigned weights; int4 weights are signed"),
    ("x-fp16", "X.npy: dtype must be float16 for fp16 activations, not float32"),
    ("x-bf16", "X.npy: value 0.10000000149011612 at index (0, 0) is not exactly representable "
               "in bfloat16"),
])
def test_run_gemm_bad_dequant_input(tmp_path, capsys, case, message):
    weight = "int4" if case == "signed-zeros" else "uint4"
    act = "bf16" if case == "x-bf16" else "fp16"
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(DEQUANT.format(weight=weight, act=act))
    kk = 60 if case == "k-groups" else 64
    w = np.zeros((3, kk), dtype=np.int8 if weight == "int4" else np.uint8)
    x = np.zeros((2, kk), dtype=np.float32 if case in ("x-fp16", "x-bf16") else np.float16)
    if case == "x-bf16":
        x[0, 0] = 0.1
    s = np.ones((3, 3 if case == "scale-shape" else 2), dtype=np.float16)
    if case == "nan-scale":
        s[1, 1] = np.nan
    if case == "inf-scale":
        s[0, 0] = np.inf
    argv = ["run", "gemm", cfg, "--weights", npy(tmp_path, "W.npy", w),
            "--acts", npy(tmp_path, "X.npy", x)]
    if case != "no-scales":
        argv += ["--scales", npy(tmp_path, "S.npy", s)]
    if case == "signed-zeros":
        argv += ["--zeros", npy(tmp_path, "Z.npy", np.zeros((3, 2), dtype=np.int64))]
    out = tmp_path / "Y.npy"
    assert run_cli(*argv, "-o", out) == 2
    err = capsys.readouterr().err
    assert err == f"lutmix: error: {tmp_path}/{message}\n"
    assert not out.exists()
