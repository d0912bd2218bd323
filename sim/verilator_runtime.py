"""Share Verilator's runtime objects between builds.

Every Verilator model links the same runtime (``verilated.o``, ``verilated_vpi.o`` and friends,
the ``VM_GLOBAL`` objects of ``Vtop_classes.mk``), and compiling it is more than half of a
small model's build time. These objects do not depend on the design, only on the Verilator,
the compiler and the trace flags, so the first build stores them and later builds copy them in
before ``make`` runs. cocotb's ``verilator.cpp`` includes the model's header and is never shared.

Run as ``python -m lutmix.sim.verilator_runtime restore|save BUILD_DIR STORE_DIR``; the runner
inserts these steps around ``make``.
"""

__all__ = ["global_objects", "restore", "save"]

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path


def global_objects(build_dir):
    """Names of the design-independent runtime objects of a Verilated build."""
    mk = Path(build_dir) / "Vtop_classes.mk"
    if not mk.exists():
        return []
    names = []
    text = mk.read_text()
    for block in re.findall(r"^VM_GLOBAL_(?:FAST|SLOW) \+= \\\n((?:[ \t]+\S.*\n)*)", text, re.M):
        names += [line.strip(" \t\\") for line in block.splitlines() if line.strip(" \t\\")]
    return [n for n in names if n.startswith("verilated")]


def restore(build_dir, store):
    """Copy stored runtime objects into ``build_dir``, newer than their sources."""
    build_dir, store = Path(build_dir), Path(store)
    for name in global_objects(build_dir):
        for suffix in (".o", ".d"):
            src = store / f"{name}{suffix}"
            if not src.exists():
                break
            dst = build_dir / f"{name}{suffix}"
            shutil.copyfile(src, dst)
            os.utime(dst)


def save(build_dir, store):
    """Store the runtime objects of a finished build (first writer wins, atomically)."""
    build_dir, store = Path(build_dir), Path(store)
    store.mkdir(parents=True, exist_ok=True)
    for name in global_objects(build_dir):
        for suffix in (".d", ".o"):
            src = build_dir / f"{name}{suffix}"
            dst = store / f"{name}{suffix}"
            if dst.exists() or not src.exists():
                continue
            fd, tmp = tempfile.mkstemp(dir=store, prefix=f".{name}")
            os.close(fd)
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)


if __name__ == "__main__":
    action, build_dir, store = sys.argv[1:4]
    {"restore": restore, "save": save}[action](build_dir, store)
