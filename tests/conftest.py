from pathlib import Path

import numpy as np
import pytest

from lutmix.cli import main
from lutmix.sim.tools import icarus_available

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sim_cache():
    """Simulator builds shared by all tests and xdist workers (keyed by Verilog hash)."""
    path = ROOT / "build" / "sim-cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def simulators():
    """Verilator always; Icarus where installed (CI installs it and checks it is there)."""
    sims = [pytest.param("verilator")]
    sims.append(pytest.param("icarus", marks=pytest.mark.skipif(
        not icarus_available(), reason="iverilog not installed")))
    return sims


@pytest.fixture(scope="session")
def yowasp():
    """The YoWASP tools compiled to machine code once, in YoWASP's own cache (~/.cache/YoWASP),
    which every later run and every xdist worker reuses; a file lock lets one worker compile
    while the others wait (the first Yosys compile takes 20-40 s)."""
    from lutmix.fpga.tools import warm_cache
    warm_cache(("yosys", "nextpnr-ecp5", "nextpnr-ice40"))


def run_cli(*argv):
    """``lutmix argv...`` in-process; returns the exit status."""
    return main([str(a) for a in argv])


def npy(tmp_path, name, array):
    """Save ``array`` as ``tmp_path/name`` and return the path."""
    path = tmp_path / name
    np.save(path, array)
    return path
