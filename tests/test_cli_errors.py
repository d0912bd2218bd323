"""Every bad path is one clear line, and leaves every file as it was.

Each case drives the command line and asserts three things: exit status 2, exactly one line on
stderr and it starts with ``lutmix: error:``, and no file or folder under the test's folder
(the working directory and the simulator cache included) new, changed or gone. Every check
comes before any simulation or synthesis, so nothing here builds a model; the cases run
in-process except the ones that need a Dask client or a terminal of their own.
"""
import contextlib
import io
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from lutmix.cli import main
from lutmix.outputs import STAMP

WRITERS = ["generate", "run gemm", "run gelu", "run softmax", "verify", "demo gemm",
           "demo minilm", "synth", "build-board", "sweep"]

SWEEP = '[sweep]\ntarget = "ecp5-25k"\npnr = false\n[base]\npreset = "tiny"\n' \
        '[grid]\n"gemm.n" = [2, 3]\n'


def snapshot(root):
    """Every path under ``root`` with its kind and content (symbolic links not followed)."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                out[rel] = ("dir", os.stat(path).st_mode)
            elif os.path.isfile(path):
                st = os.stat(path)
                content = b""
                if st.st_size < 1 << 22:
                    with open(path, "rb") as f:
                        content = f.read()
                out[rel] = ("file", st.st_mode, st.st_size, st.st_mtime_ns, content)
            else:
                out[rel] = ("other",)
    return out


def one_line(code, err):
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lutmix: error: "), err
    return lines[0][len("lutmix: error: "):]


@pytest.fixture
def ws(tmp_path, monkeypatch):
    """A user's folder: config and data files, a note, a folder of their own, a folder lutmix
    made that holds an input, a FIFO; the working directory and the cache are inside it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "cfg.toml").write_text('[gemm]\nweight = "int2"\nm = 1\nn = 4\nk = 2\n'
                                       'max_k = 16\n')
    np.save("W.npy", np.zeros((4, 8), dtype=np.int8))
    np.save("X.npy", np.zeros((2, 8), dtype=np.int8))
    np.save("G.npy", np.zeros((3, 4), dtype=np.int16))
    np.save("L.npy", np.zeros((2, 6), dtype=np.int16))
    np.save("M.npy", np.zeros((2, 6), dtype=bool))
    (tmp_path / "sweep.toml").write_text(SWEEP)
    (tmp_path / "notes.txt").write_text("mine\n")
    (tmp_path / "mine" / "gemm").mkdir(parents=True)
    (tmp_path / "mine" / "gemm" / "keep.v").write_text("// my own Verilog\n")
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / STAMP).write_text("{}\n")
    (tmp_path / "ours" / "cfg.toml").write_text((tmp_path / "cfg.toml").read_text())
    np.save("ours/W.npy", np.zeros((4, 8), dtype=np.int8))
    os.mkfifo(tmp_path / "fifo")
    os.symlink("nowhere", tmp_path / "dangling")
    return tmp_path


def refused(ws, *argv):
    """Run ``lutmix argv`` in-process; return its one error line (without the prefix)."""
    before = snapshot(ws)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:             # argparse
            code = e.code
    line = one_line(code, err.getvalue())
    assert snapshot(ws) == before, "files changed"
    return line


def refused_in_subprocess(ws, *argv, timeout=120):
    before = snapshot(ws)
    proc = subprocess.run([sys.executable, "-m", "lutmix", *map(str, argv)], cwd=ws,
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, XDG_CACHE_HOME=str(ws / "xdg")))
    line = one_line(proc.returncode, proc.stderr)
    assert snapshot(ws) == before, "files changed"
    return line


# --- output paths, for every verb that writes ---------------------------------------------
def folder_verb(verb, out, *extra):
    """argv of a folder-writing verb with ``-o out``."""
    return {
        "generate": ["generate", "cfg.toml", "-o", out],
        "verify": ["verify", "cfg.toml", "-o", out],
        "demo gemm": ["demo", "gemm", "--shape", "2x4x8", "-o", out],
        "demo minilm": ["demo", "minilm", "--rtl", "--no-progress", "-o", out, "A cat."],
        "synth": ["synth", "cfg.toml", "--target", "ecp5-25k", "--no-pnr", "-o", out],
        "build-board": ["build-board", "cfg.toml", "--board", "icebreaker", "--no-pnr",
                        "-o", out],
        "sweep": ["sweep", "sweep.toml", "-o", out],
    }[verb] + list(extra)


def run_verb(verb, out, *extra):
    """argv of a ``run`` verb with ``-o out``."""
    return {
        "run gemm": ["run", "gemm", "cfg.toml", "--weights", "W.npy", "--acts", "X.npy"],
        "run gelu": ["run", "gelu", "gelu8", "--input", "G.npy", "--raw"],
        "run softmax": ["run", "softmax", "softmax-tiny", "--input", "L.npy", "--mask", "M.npy",
                        "--raw"],
    }[verb] + ["-o", out, *extra]


FOLDER_VERBS = ["generate", "verify", "demo gemm", "demo minilm", "synth", "build-board",
                "sweep"]
RUN_VERBS = ["run gemm", "run gelu", "run softmax"]


def test_every_writing_verb_is_covered():
    assert sorted(FOLDER_VERBS + RUN_VERBS) == sorted(WRITERS)


@pytest.mark.parametrize("verb", FOLDER_VERBS)
@pytest.mark.parametrize("out, message", [
    ("notes.txt", "notes.txt: is a file, not a folder"),
    ("notes.txt/out", "notes.txt/out: {ws}/notes.txt is a file, not a folder"),
    ("/proc/lutmix-out", "/proc/lutmix-out: cannot write in /proc ("),
    ("mine", "mine: is not empty and was not made by lutmix (it has no .lutmix stamp); "
             "choose a new or empty folder"),
    ("dangling", "dangling: is a broken symbolic link; the output must be a folder"),
])
def test_bad_output_folder(ws, verb, out, message):
    line = refused(ws, *folder_verb(verb, out))
    assert line.startswith(message.format(ws=ws)), line


@pytest.mark.parametrize("verb", ["generate", "verify", "synth", "build-board"])
def test_output_folder_holding_the_input(ws, verb):
    argv = [a if a != "cfg.toml" else "ours/cfg.toml" for a in folder_verb(verb, "ours")]
    assert refused(ws, *argv) == "ours: holds the input ours/cfg.toml; choose another folder"


def test_sweep_folder_holding_the_sweep_file(ws):
    (ws / "ours" / "sweep.toml").write_text(SWEEP)
    assert refused(ws, "sweep", "ours/sweep.toml", "-o", "ours") == \
        "ours: holds the input ours/sweep.toml; choose another folder"


@pytest.mark.parametrize("verb", ["verify", "demo gemm", "demo minilm"])
@pytest.mark.parametrize("cache, message", [
    ("notes.txt", "notes.txt: is a file, not a folder (the simulator cache)"),
    ("/proc/lutmix-cache", "/proc/lutmix-cache: cannot write in /proc ("),
])
def test_bad_cache_folder(ws, verb, cache, message):
    assert refused(ws, *folder_verb(verb, "new", "--cache", cache)).startswith(message)


@pytest.mark.parametrize("verb", RUN_VERBS)
@pytest.mark.parametrize("out, extra, message", [
    ("mine", [], "mine: the output must be a .npy file"),
    ("dir.npy", [], "dir.npy: is a folder; the output must be a file"),
    ("fifo.npy", [], "fifo.npy: is not a regular file; the output must be one"),
    ("notes.txt/Y.npy", [], "notes.txt/Y.npy: {ws}/notes.txt is a file, not a folder"),
    ("/proc/lutmix-Y.npy", [], "/proc/lutmix-Y.npy: cannot write in /proc ("),
    ("Y.npy", ["--workdir", "notes.txt"], "notes.txt: is a file, not a folder"),
    ("Y.npy", ["--workdir", "mine"], "mine: is not empty and was not made by lutmix"),
    ("Y.npy", ["--workdir", "/proc/w"], "/proc/w: cannot write in /proc ("),
    ("Y.npy", ["--cache", "notes.txt"], "notes.txt: is a file, not a folder (the simulator "
                                        "cache)"),
    ("Y.npy", ["--cache", "/proc/c"], "/proc/c: cannot write in /proc ("),
])
def test_bad_output_file(ws, verb, out, extra, message):
    (ws / "dir.npy").mkdir()
    os.mkfifo(ws / "fifo.npy")
    line = refused(ws, *run_verb(verb, out, *extra))
    assert line.startswith(message.format(ws=ws)), line


@pytest.mark.parametrize("verb, inp", [("run gemm", "W.npy"), ("run gemm", "X.npy"),
                                       ("run gemm", "cfg.toml"), ("run gelu", "G.npy"),
                                       ("run softmax", "L.npy"), ("run softmax", "M.npy")])
def test_output_that_is_an_input(ws, verb, inp):
    if inp == "cfg.toml":                   # a config file that happens to end in .npy
        os.replace(ws / "cfg.toml", ws / "C.npy")
        argv = [a if a != "cfg.toml" else "C.npy" for a in run_verb(verb, "C.npy")]
        assert refused(ws, *argv) == "C.npy: is also an input (C.npy); choose another output"
        return
    assert refused(ws, *run_verb(verb, inp)) == \
        f"{inp}: is also an input ({inp}); choose another output"


def test_output_that_is_an_input_through_a_link(ws):
    os.symlink("W.npy", ws / "Y.npy")
    assert refused(ws, *run_verb("run gemm", "Y.npy")) == \
        "Y.npy: is also an input (W.npy); choose another output"


@pytest.mark.parametrize("verb", ["run gelu", "run softmax"])
def test_raw_companion_that_is_an_input(ws, verb):
    name = "G.npy" if verb == "run gelu" else "L.npy"
    os.replace(ws / name, ws / "Y.raw.npy")
    argv = [a if a != name else "Y.raw.npy" for a in run_verb(verb, "Y.npy")]
    assert refused(ws, *argv) == \
        "Y.raw.npy: is also an input (Y.raw.npy); choose another output"


def test_kept_waveform_that_is_an_input(ws):
    os.replace(ws / "X.npy", ws / "Y.vcd")
    argv = [a if a != "X.npy" else "Y.vcd" for a in run_verb("run gemm", "Y.npy", "--waves")]
    assert refused(ws, *argv) == "Y.vcd: is also an input (Y.vcd); choose another output"


def test_workdir_holding_an_input(ws):
    argv = [a if a != "W.npy" else "ours/W.npy" for a in
            run_verb("run gemm", "Y.npy", "--workdir", "ours")]
    assert refused(ws, *argv) == "ours: holds the input ours/W.npy; choose another folder"


def test_device_runs_take_no_simulation_folders(ws):
    assert refused(ws, *run_verb("run gemm", "Y.npy", "--device", "/dev/null", "--workdir",
                                 "w")) == ("--workdir and --waves are for simulations; a run "
                                           "on a board (--device) has neither")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("argv", [run_verb("run gemm", "ro/Y.npy"),
                                  folder_verb("generate", "ro/out"),
                                  folder_verb("synth", "ro"),
                                  run_verb("run gemm", "Y.npy", "--workdir", "ro/w")])
def test_read_only_folder(ws, argv):
    (ws / "ro").mkdir()
    os.chmod(ws / "ro", 0o555)
    try:
        assert "cannot write in" in refused(ws, *argv)
    finally:
        os.chmod(ws / "ro", 0o755)


# --- inputs ------------------------------------------------------------------------------
def _npy_header(header, data=b""):
    header = header.encode("latin1")
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


@pytest.mark.parametrize("case, message", [
    ("text", "W.npy: not a NumPy .npy file (weights)"),
    ("unterminated", "W.npy: not a NumPy .npy file (weights): its header does not parse"),
    ("huge", "W.npy: declares shape (100000000000, 100000000000) of int8, too large (about "
             "10^22 bytes; at most 4,294,967,296) (weights)"),
    ("truncated", "W.npy: is truncated: shape (4, 8) of int8 needs 32 bytes of data, the file "
                  "holds 5 (weights)"),
    ("npz", "W.npy: is a .npz archive, not a .npy file (weights); save one array with "
            "np.save"),
    ("objects", "W.npy: holds Python objects (weights); lutmix reads numeric arrays"),
    ("folder", "W.npy: is a folder, not a .npy file (weights)"),
    ("fifo", "W.npy: is not a regular file (weights)"),
])
def test_bad_npy_file(ws, case, message):
    path = ws / "W.npy"
    path.unlink()
    if case == "text":
        path.write_text("0 1 2 3\n")
    elif case == "unterminated":
        path.write_bytes(_npy_header("{'descr': '<i1', 'fortran_order': False, 'shape': (4, "))
    elif case == "huge":
        path.write_bytes(_npy_header("{'descr': '|i1', 'fortran_order': False, 'shape': "
                                     "(100000000000, 100000000000), }", b"\0" * 16))
    elif case == "truncated":
        path.write_bytes(_npy_header("{'descr': '|i1', 'fortran_order': False, 'shape': "
                                     "(4, 8), }", b"\0" * 5))
    elif case == "npz":
        with open(path, "wb") as f:
            np.savez(f, w=np.zeros((4, 8), dtype=np.int8))
    elif case == "objects":
        np.save(path, np.array([[None]] * 4, dtype=object), allow_pickle=True)
    elif case == "folder":
        path.mkdir()
    elif case == "fifo":
        os.mkfifo(path)
    assert refused(ws, *run_verb("run gemm", "Y.npy")) == message


def test_activations_outside_their_format(ws):
    x = np.zeros((2, 8), dtype=np.int32)
    x[1, 5] = -129
    np.save(ws / "X.npy", x)
    assert refused(ws, *run_verb("run gemm", "Y.npy")) == \
        "X.npy: value -129 at index (1, 5) is not an int8 activation (allowed: -128 to 127)"


@pytest.mark.parametrize("argv, message", [
    (run_verb("run gemm", "Y.npy", "--max-cycles", 5),
     "X.npy x W.npy: a (2, 8) x (4, 8) GEMM: about 16 cycles of RTL simulation, more than "
     "--max-cycles 5"),
    (run_verb("run gelu", "Y.npy", "--max-cycles", 2),
     "G.npy: 12 words: about 3 cycles of RTL simulation, more than --max-cycles 2"),
    (run_verb("run softmax", "Y.npy", "--max-cycles", 3),
     "L.npy: 2 rows of 6 logits: about 6 cycles of RTL simulation, more than --max-cycles 3"),
    (["verify", "cfg.toml", "--vectors", 10 ** 9, "-o", "v"],
     "cfg.toml: 1,000,000,000 vectors per unit: about 16,000,000,000 cycles of RTL simulation, "
     "more than --max-cycles 10,000,000"),
    (["demo", "gemm", "--shape", "100000x100000x100000"],
     "--shape 100000x100000x100000: about 3,907,500,000,000 cycles of RTL simulation, more than "
     "--max-cycles 10,000,000"),
    (["demo", "gemm", "--shape", f"1x1x{10 ** 400}"],           # exact: no float overflow
     f"--shape 1x1x{10 ** 400}: about 5.0e399 cycles of RTL simulation"),
])
def test_problems_too_large_for_simulation(ws, argv, message):
    assert refused(ws, *argv).startswith(message)


def test_the_size_is_checked_before_the_data_is_read(ws):
    # 3 GB of declared int8 words (a sparse file): refused from the header alone
    path = ws / "G.npy"
    header = _npy_header("{'descr': '|i1', 'fortran_order': False, 'shape': (3000000000,), }")
    path.write_bytes(header)
    os.truncate(path, len(header) + 3_000_000_000)
    assert refused(ws, *run_verb("run gelu", "Y.npy")).startswith(
        "G.npy: 3,000,000,000 words: about 750,000,000 cycles of RTL simulation")


def test_default_cycle_limit(ws):
    # 25 million cycles on the tiny engine (1 x 4 x 2, two planes): over the default limit
    np.save(ws / "W.npy", np.zeros((1000, 1000), dtype=np.int8))
    np.save(ws / "X.npy", np.zeros((100, 1000), dtype=np.int8))
    assert refused(ws, *run_verb("run gemm", "Y.npy")).startswith(
        "X.npy x W.npy: a (100, 1000) x (1000, 1000) GEMM: about 25,000,000 cycles of RTL "
        "simulation, more than --max-cycles 10,000,000 (a few thousand cycles run per second); "
        "raise --max-cycles to run it anyway")


# --- config files -------------------------------------------------------------------------
@pytest.mark.parametrize("content, message", [
    (b'[gemm]\nweight = "int2"\n# \xff\n', "bad.toml: not UTF-8 text (byte 0xff at offset 25)"),
    (b"[softmax]\nin_scale = 1e999\n", "bad.toml: [softmax] in_scale = inf is not a finite number"),
    (b"[softmax]\nin_scale = nan\n", "bad.toml: [softmax] in_scale = nan is not a finite number"),
    (b"[gemm]\nm = 100000000000000000000\n", "bad.toml: [gemm] m = 100000000000000000000 is too "
                                               "large (integers must fit in 64 bits)"),
    (b"[gemm]\nm = " + b"9" * 5000 + b"\n", "bad.toml: not valid TOML: an integer has too many "
                                            "digits"),
    (b"[gemm]\nm = " + b"[" * 5000 + b"]" * 5000 + b"\n", "bad.toml: not valid TOML: nested too "
                                                          "deeply"),
    (b"[gemm]\nm = " + b"[" * 40 + b"]" * 40 + b"\n", "bad.toml: [gemm] m[0]"),
    (b"[gemm]\ngroup_size = 128.0\nweight = \"uint4\"\n",
     "bad.toml: [gemm] group_size must be one of 32, 64, 128, 'channel', 'tensor', not 128.0"),
    (b"[gemm]\nm = 2.0\n", "bad.toml: [gemm] m must be an integer from 1 to 64, not 2.0"),
    (b"[gelu]\nlanes = 4.0\n", "bad.toml: [gelu] lanes must be an integer from 1 to 64, not 4.0"),
    (b"[softmax]\nout_frac_bits = 8.0\n",
     "bad.toml: [softmax] out_frac_bits must be one of 8, 16, not 8.0"),
    (b"# " + b"x" * (1 << 20) + b"\n", "bad.toml: 1,048,579 bytes is too large for a config file "
                                       "(at most 1,048,576)"),
])
def test_bad_config_file(ws, content, message):
    (ws / "bad.toml").write_bytes(content)
    assert refused(ws, "generate", "bad.toml", "-o", "out").startswith(message)


@pytest.mark.parametrize("content, message", [
    ('{"gemm": ' + "[" * 100000 + "]" * 100000 + "}", "bad.json: not valid JSON: nested too "
                                                      "deeply"),
    ('{"gemm": {"m": 1e999}}', "bad.json: [gemm] m = inf is not a finite number"),
    ('{"gemm": {"m": ' + "9" * 5000 + "}}", "bad.json: not valid JSON: an integer has too many "
                                           "digits"),
    ('{"gemm": {"group_size": 64.0}}', "bad.json: [gemm] group_size must be one of 32, 64, 128, "
                                      "'channel', 'tensor', not 64.0"),
])
def test_bad_json_config(ws, content, message):
    (ws / "bad.json").write_text(content)
    assert refused(ws, "generate", "bad.json", "-o", "out").startswith(message)


@pytest.mark.parametrize("name, message", [
    ("fifo", "fifo: is not a regular file (a config file is a TOML file)"),
    ("mine", "mine: is a folder, not a config file"),
])
def test_config_that_is_not_a_file(ws, name, message):
    assert refused(ws, "generate", name, "-o", "out") == message      # a FIFO would block


@pytest.mark.parametrize("setting, message", [
    ("timeout = true", "timeout must be a positive, finite number of seconds (at most 1e+07), "
                       "not True"),
    ("timeout = nan", "[sweep] timeout = nan is not a finite number"),
    ("timeout = inf", "[sweep] timeout = inf is not a finite number"),
    ("timeout = 0", "timeout must be a positive, finite number of seconds (at most 1e+07), not 0"),
    ("timeout = -5.0", "timeout must be a positive, finite number of seconds (at most 1e+07), "
                       "not -5.0"),
    ("timeout = 1e300", "timeout must be a positive, finite number of seconds (at most 1e+07), "
                        "not 1e+300"),
    ("seed = 1.0", "seed must be an integer from 0 to 2147483647, not 1.0"),
])
def test_bad_sweep_setting(ws, setting, message):
    (ws / "sweep.toml").write_text(SWEEP.replace('pnr = false', f'pnr = false\n{setting}'))
    line = refused(ws, "sweep", "sweep.toml", "-o", "out")
    assert line.startswith("sweep.toml: ") and message in line, line


# --- sweeps --------------------------------------------------------------------------------
def test_sweep_grid_is_counted_before_it_is_expanded(ws):
    axes = '"gemm.n" = [%s]\n"gemm.m" = [%s]\n' % (
        ", ".join(map(str, range(1, 41))), ", ".join(map(str, range(1, 41))))
    (ws / "big.toml").write_text('[base]\npreset = "tiny"\n[grid]\n' + axes)
    assert refused(ws, "sweep", "big.toml", "-o", "out") == \
        "big.toml: the grid has 1,600 points, more than 1,000; check the axes, or pass --yes " \
        "to run them all"
    values = ", ".join(map(str, range(1, 101)))
    (ws / "huge.toml").write_text(f'[grid]\n"gemm.n" = [{values}]\n"gemm.m" = [{values}]\n'
                                  f'"gemm.k" = [{values}]\nseed = [{values}]\n')
    assert refused(ws, "sweep", "huge.toml", "-o", "out", "--yes") == \
        "huge.toml: the grid has 100,000,000 points, more than a sweep can run (1,000,000)"


@pytest.mark.parametrize("address, message", [
    ("localhost:8786", "argument --scheduler: 'localhost:8786' is not a Dask scheduler address "
                       "(the tcp:// is missing); use tcp://HOST:PORT"),
    ("tcp://localhost", "argument --scheduler: 'tcp://localhost' is not a Dask scheduler address;"
                        " use tcp://HOST:PORT"),
    ("tcp://localhost:99999", "argument --scheduler: 'tcp://localhost:99999' is not a Dask "
                              "scheduler address; use tcp://HOST:PORT"),
    ("tcp://", "argument --scheduler: 'tcp://' is not a Dask scheduler address"),
])
def test_bad_scheduler_address(ws, address, message):
    assert refused(ws, "sweep", "sweep.toml", "-o", "out", "--scheduler", address) \
        .startswith(message)


def test_unreachable_scheduler_fails_fast_and_leaves_no_folder(ws):
    start = time.monotonic()
    line = refused_in_subprocess(ws, "sweep", "sweep.toml", "-o", "out", "--scheduler",
                                 "tcp://127.0.0.1:9")
    assert line == "cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 5 s; is it " \
                   "running?"
    print(f"failed after {time.monotonic() - start:.1f} s")


# --- the host link ---------------------------------------------------------------------------
@pytest.mark.parametrize("flag, value, message", [
    ("--timeout", "nan", "argument --timeout: must be a positive, finite number of seconds, "
                         "not 'nan'"),
    ("--timeout", "inf", "argument --timeout: must be a positive, finite number of seconds, "
                         "not 'inf'"),
    ("--timeout", "-1", "argument --timeout: must be a positive, finite number of seconds, "
                        "not '-1'"),
    ("--timeout", "0", "argument --timeout: must be a positive, finite number of seconds, "
                       "not '0'"),
    ("--baud", "0", "argument --baud: must be a positive integer, not '0'"),
    ("--baud", "-9600", "argument --baud: must be a positive integer, not '-9600'"),
    ("--baud", "nan", "argument --baud: must be a positive integer, not 'nan'"),
])
def test_bad_link_settings(ws, flag, value, message):
    line = refused(ws, *run_verb("run gemm", "Y.npy", "--device", "/dev/null", flag, value))
    assert line == f"{message} (see 'lutmix run gemm --help')"


def test_bad_board_baud(ws):
    assert refused(ws, "build-board", "cfg.toml", "--board", "icebreaker", "-o", "b",
                   "--baud", "0") == \
        "argument --baud: must be a positive integer, not '0' (see 'lutmix build-board --help')"


@pytest.mark.parametrize("flag, value", [("--vectors", "0"), ("--seed", "-1"),
                                         ("--seed", "2147483648"), ("--max-cycles", "0"),
                                         ("--vectors", "1.5")])
def test_bad_counts(ws, flag, value):
    assert refused(ws, "verify", "cfg.toml", flag, value).startswith(f"argument {flag}: must be")


@pytest.mark.parametrize("jobs", ["0", "257", "2.0"])
def test_bad_job_count(ws, jobs):
    assert refused(ws, "sweep", "sweep.toml", "-o", "out", "--jobs", jobs) == \
        f"argument --jobs: must be an integer from 1 to 256, not '{jobs}' (see 'lutmix sweep " \
        f"--help')"


class Board(threading.Thread):
    """The far end of a pseudo-terminal: endless noise (never a reply frame), or replies to
    every request with the payload ``manifest``."""

    def __init__(self, fd, *, noise=False, manifest=b""):
        super().__init__(daemon=True)
        self.fd, self.noise, self.manifest = fd, noise, manifest
        self.stop = threading.Event()

    def run(self):
        from lutmix.link import COMMANDS, encode_reply
        try:
            while not self.stop.is_set():
                if self.noise:
                    os.write(self.fd, bytes(range(0x60, 0xE0)))      # no 0x5A sync byte
                    time.sleep(0.001)
                    continue
                if os.read(self.fd, 1) == b"\xa5":
                    os.read(self.fd, 6)                             # MANIFEST: no payload
                    os.write(self.fd, encode_reply("OK", COMMANDS["MANIFEST"], self.manifest))
        except OSError:
            pass


@pytest.fixture
def pty_board(ws):
    pytest.importorskip("serial")
    boards = []

    def make(**kwargs):
        master, slave = os.openpty()
        board = Board(master, **kwargs)
        board.start()
        boards.append((board, master, slave))
        return os.ttyname(slave)
    yield make
    for board, master, slave in boards:
        board.stop.set()
        os.close(slave)
        os.close(master)


def test_a_stream_of_noise_ends_in_the_timeout(ws, pty_board):
    port = pty_board(noise=True)
    start = time.monotonic()
    line = refused(ws, *run_verb("run gemm", "Y.npy", "--device", port, "--timeout", "0.5"))
    assert time.monotonic() - start < 30
    assert line.startswith(f"{port}: no reply within 0.5 s (got 0 of 1 bytes, after ")
    assert line.endswith(" bytes that were not a reply); is the board programmed and the baud "
                         "right?")


@pytest.mark.parametrize("manifest, message", [
    (b"\xff\xfe", "protocol error: the MANIFEST reply is not UTF-8 JSON"),
    (b"[1, 2]", "protocol error: the MANIFEST reply is not a JSON object"),
    (json.dumps({"config": {}}).encode(), "protocol error: the manifest has no 'link' object"),
    (json.dumps({"config": {"gemm": {}}, "link": {"board": "b", "frame_bytes": 0,
                                                  "fifo_bytes": 8}}).encode(),
     "protocol error: the manifest's link.frame_bytes is not a positive integer"),
])
def test_a_reply_that_breaks_the_protocol(ws, pty_board, manifest, message):
    port = pty_board(manifest=manifest)
    line = refused(ws, *run_verb("run gemm", "Y.npy", "--device", port, "--timeout", "2"))
    assert line == f"{port}: {message}; is this a lutmix bitstream?"
