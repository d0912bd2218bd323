from pathlib import Path

import pytest

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
