"""The simulator build cache: keyed by everything a built model depends on, rebuilt when the
libraries it was built against have gone."""
import json
from pathlib import Path

import pytest

from lutmix.sim import runner
from lutmix.sim.tools import icarus_available

VERILOG = "module m(input a, output b);\n  assign b = a;\nendmodule\n"


@pytest.mark.parametrize("sim", ["verilator", "icarus"])
def test_the_key_covers_what_the_model_depends_on(monkeypatch, sim):
    base = runner._key(VERILOG, "m", sim, False)
    assert base == runner._key(VERILOG, "m", sim, False)
    assert base != runner._key(VERILOG + "\n", "m", sim, False)
    assert base != runner._key(VERILOG, "m", sim, True)
    monkeypatch.setattr(runner, "_cocotb_libs", lambda: Path("/another/venv/cocotb/libs"))
    moved = runner._key(VERILOG, "m", sim, False)
    assert moved != base
    if sim == "verilator":
        monkeypatch.setattr(runner, "_compiler_id", lambda: "/usr/bin/c++: c++ (GCC) 99.1")
    else:
        monkeypatch.setattr(runner, "_iverilog_id", lambda: "/opt/bin/iverilog: Icarus Verilog "
                                                            "version 12.0 (stable)")
    assert runner._key(VERILOG, "m", sim, False) not in (base, moved)


def test_tool_ids_name_the_executable_and_its_version():
    assert runner._compiler_id().split(": ")[0].endswith("c++")
    if icarus_available():
        assert "Icarus Verilog version" in runner._iverilog_id()
    assert runner._tool_id("no-such-tool-here", "-V") == "no-such-tool-here: not found"


@pytest.mark.skipif(not icarus_available(), reason="iverilog not installed")
def test_a_build_whose_libraries_are_gone_is_rebuilt(tmp_path, monkeypatch):
    lib = tmp_path / "libcocotbvpi_icarus.so"
    lib.write_text("")
    monkeypatch.setattr(runner, "_libraries", lambda sim: [lib])
    builds = []
    real = runner._runner

    def counting(sim, store=None):
        r = real(sim, store)
        build = r.build
        r.build = lambda *a, **k: builds.append(sim) or build(*a, **k)
        return r
    monkeypatch.setattr(runner, "_runner", counting)
    cache = tmp_path / "cache"
    first = runner.build(VERILOG, "m", sim="icarus", cache_dir=cache)
    assert json.loads((first / ".lutmix-built").read_text()) == {"libraries": [str(lib)]}
    assert runner.build(VERILOG, "m", sim="icarus", cache_dir=cache) == first
    assert builds == ["icarus"]                         # the second call reused the build
    lib.unlink()                                        # e.g. the venv it linked was removed
    assert runner.build(VERILOG, "m", sim="icarus", cache_dir=cache) == first
    assert builds == ["icarus", "icarus"] and (first / "sim.vvp").exists()


def test_a_build_marker_without_libraries_is_not_trusted(tmp_path):
    done = tmp_path / ".lutmix-built"
    done.write_text("")                                 # what older versions wrote
    assert not runner._usable(done)
    done.write_text(json.dumps({"libraries": [str(done)]}))
    assert runner._usable(done)
