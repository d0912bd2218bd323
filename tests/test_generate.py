"""Verilog generation: AXI4-Stream port names, byte-identical output, the manifest."""
import json
import os
import subprocess
import sys

import pytest

from lutmix.config import PRESETS, Config, GemmConfig
from lutmix.gemm_spec import gemm_spec
from lutmix.rtl.generate import verilog, write_design

PORTS = ["aclk", "aresetn",
         "s_axis_w_tdata", "s_axis_w_tvalid", "s_axis_w_tready", "s_axis_w_tlast",
         "s_axis_x_tdata", "s_axis_x_tvalid", "s_axis_x_tready", "s_axis_x_tlast",
         "s_axis_x_tuser",
         "m_axis_y_tdata", "m_axis_y_tvalid", "m_axis_y_tready", "m_axis_y_tlast"]


def test_top_reads_as_axi4_stream(tmp_path):
    config = PRESETS["tiny"]
    paths = write_design(config, tmp_path)
    assert [p.name for p in paths] == ["lutmix_gemm.v", "manifest.json"]
    text = paths[0].read_text()
    header = text[text.index("module lutmix_gemm("):].split(";")[0]
    assert sorted(p.strip() for p in header.split("(")[1].rstrip(")").split(",")) \
        == sorted(PORTS)
    spec = gemm_spec(config.gemm)
    assert f"input [{spec.w_tdata_bits - 1}:0] s_axis_w_tdata;" in text
    assert f"output [{spec.y_tdata_bits - 1}:0] m_axis_y_tdata;" in text


def test_manifest(tmp_path):
    config = Config(gemm=GemmConfig(weight="uint3", m=2, n=8, k=3, planes_per_cycle=2,
                                    max_k=90))
    write_design(config, tmp_path)
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert man["config"] == config.to_dict()
    unit = man["units"]["gemm"]
    assert [p["name"] for p in unit["ports"]] == PORTS
    spec = gemm_spec(config.gemm)
    assert unit["latency_cycles"] == spec.latency == 4
    assert unit["streams"]["s_axis_w"]["tdata_bits"] == 8 * 3 * 2        # n * k * planes
    assert unit["streams"]["m_axis_y"]["lane_bits"] == spec.y_lane_bits
    assert unit["geometry"]["chunks"] == 2 and unit["geometry"]["max_groups"] == 30
    assert "index word" in unit["streams"]["s_axis_w"]["word"]


def test_same_config_gives_byte_identical_verilog(tmp_path):
    # in fresh interpreters with different hash seeds
    script = ("import sys; from lutmix.config import PRESETS; "
              "from lutmix.rtl.generate import verilog; "
              "sys.stdout.write(verilog('gemm', PRESETS['w2a8-parallel'].gemm))")
    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outs.append(subprocess.run([sys.executable, "-c", script], env=env, check=True,
                                   capture_output=True, text=True).stdout)
    assert outs[0] == outs[1]
    assert outs[0] == verilog("gemm", PRESETS["w2a8-parallel"].gemm)
    assert verilog("gemm", PRESETS["w1a8"].gemm) != outs[0]


def test_generation_leaves_nothing_unelaborated(tmp_path):
    # Amaranth warns at exit about components that were built but never elaborated
    script = ("import sys; from lutmix.config import PRESETS; "
              "from lutmix.rtl.generate import write_design; "
              "write_design(PRESETS['tiny'], sys.argv[1]); import gc; gc.collect()")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True,
                         capture_output=True, text=True)
    assert "never used" not in out.stderr


@pytest.mark.parametrize("name", [n for n, c in PRESETS.items() if c.gemm is not None])
def test_every_preset_generates(name):
    assert "module lutmix_gemm(" in verilog("gemm", PRESETS[name].gemm)
