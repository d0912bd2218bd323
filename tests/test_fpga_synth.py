"""FPGA synthesis: smoke tests of every unit and engine, one place and route, fit errors.

Synthesis-only smoke tests cover every GEMM engine ``config.py`` accepts and every other unit
in the registry, on an ECP5 and an iCE40; one small config is placed and routed.
"""
import dataclasses
import json

import pytest

from lutmix.cli import main
from lutmix.config import ENGINES, PRESETS, SECTIONS, GemmConfig
from lutmix.errors import ToolError
from lutmix.fpga.synth import (
    SynthOptions,
    _check_fit,
    _overflow_from_log,
    format_report,
    synth_config,
    synth_unit,
)
from lutmix.fpga.targets import TARGETS, count_cells, target
from lutmix.fpga.wrapper import wrapper_cost
from lutmix.gemm_spec import gemm_spec
from lutmix.rtl.generate import UNITS


def smoke_cases():
    """A tiny GEMM tile for each engine; every other unit at its default (or a small) config."""
    cases = []
    for engine in ENGINES:
        cfg = dataclasses.replace(PRESETS["tiny"].gemm, engine=engine)
        cases.append(pytest.param("gemm", cfg, id=f"gemm-{engine}"))
    small = {"softmax": dataclasses.replace(PRESETS["softmax-tiny"].softmax, lanes=1)}  # fits UP5K
    for section in UNITS:
        if section != "gemm":
            cases.append(pytest.param(section, small.get(section, SECTIONS[section]()),
                                      id=section))
    return cases


# fp16 activations with per-group dequantization: the block-float front end and the fp32
# dequantization pipeline (on the ECP5 only: it is the costliest synthesis of the matrix)
FP16_TINY = dataclasses.replace(PRESETS["tiny"].gemm, activation="fp16", group_size=32)


@pytest.mark.parametrize("target_name", ["ecp5-25k", "ice40-up5k"])
@pytest.mark.parametrize("section, unit_config", smoke_cases())
def test_synthesis_smoke(yowasp, tmp_path, section, unit_config, target_name):
    check_smoke(tmp_path, section, unit_config, target_name)


def test_synthesis_smoke_fp16_dequant(yowasp, tmp_path):
    report = check_smoke(tmp_path, "gemm", FP16_TINY, "ecp5-25k")
    assert report["ops_per_cycle"] == FP16_TINY.m * FP16_TINY.n * FP16_TINY.k / 2


def test_mac_multipliers_in_dsp_blocks_or_in_logic(yowasp, tmp_path):
    cfg = dataclasses.replace(PRESETS["tiny"].gemm, engine="mac")
    tgt = target("ecp5-25k")
    with_dsp = synth_unit("gemm", cfg, tgt, SynthOptions(pnr=False), tmp_path / "dsp")
    logic = synth_unit("gemm", cfg, tgt, SynthOptions(pnr=False, dsp=False), tmp_path / "logic")
    # one MULT18X18D per product of a processing element: m x n x k
    assert with_dsp["unit"]["dsp"] == cfg.m * cfg.n * cfg.k
    assert with_dsp["unit"]["other_types"] == {}
    assert logic["unit"]["dsp"] == 0 and logic["dsp_allowed"] is False
    assert logic["unit"]["lut4"] > with_dsp["unit"]["lut4"]


def check_smoke(tmp_path, section, unit_config, target_name):
    tgt = target(target_name)
    report = synth_unit(section, unit_config, tgt, SynthOptions(pnr=False), tmp_path)
    unit, wrapper = report["unit"], report["wrapper"]
    assert unit["lut4"] > 0 and unit["ff"] > 0
    # the wrapper is exactly the shift chain, the captures and the XOR tree it was designed as
    cost = wrapper_cost([(p["name"], p["direction"], p["width"]) for p in report["ports"]], 4)
    assert wrapper["ff"] == cost["chain_ffs"] + cost["capture_ffs"] + cost["fold_ffs"]
    assert wrapper["lut4"] == cost["fold_luts"]
    assert wrapper["carry"] == wrapper["dsp"] == wrapper["bram"] == 0
    assert report["total"]["lut4"] == unit["lut4"] + wrapper["lut4"]
    assert report["fmax_mhz"] is None and report["packed"] is None
    assert report["steps"]["yosys"]["seconds"] > 0 and "nextpnr" not in report["steps"]
    if section == "gemm" and unit_config.engine == "lut":
        # nothing was optimized away: at least the accumulators and the output buffer
        spec = gemm_spec(unit_config)
        assert unit["ff"] >= 2 * unit_config.m * unit_config.n * spec.acc_bits
        assert report["ops_per_cycle"] == unit_config.m * unit_config.n * unit_config.k / 2
        assert report["op"] == "MAC"
    if section == "gelu":
        assert report["ops_per_cycle"] == unit_config.lanes and report["op"] == "elem"
    assert (tmp_path / "synth.json").exists() and (tmp_path / "stat.json").exists()
    return report


def test_place_and_route_small_config(yowasp, tmp_path):
    # a timing target no small ECP5 design meets: the Fmax reached is reported, not an error
    tgt = target("ecp5-25k")
    options = SynthOptions(freq=400, seed=3)
    report = synth_config(PRESETS["tiny"], tgt, options, tmp_path)
    u = report["units"]["gemm"]
    assert 20 < u["fmax_mhz"] < 400 and u["timing_met"] is False
    assert u["freq_mhz"] == 400 and u["seed"] == 3
    # the device nextpnr placed on is the one the target table describes
    packed = u["packed"]
    assert packed["logic_cells_available"] == tgt.capacity["logic_cells"]
    assert packed["dsp_available"] == tgt.capacity["dsp"]
    assert packed["bram_available"] == tgt.capacity["bram"]
    assert packed["ff"] == u["total"]["ff"]
    # every LUT4 and both halves of every carry cell are packed logic cells
    lc = u["logic_cells"]
    assert lc["total"] >= u["total"]["lut4"] + 2 * u["total"]["carry"]
    assert lc["wrapper"] == u["wrapper"]["lut4"] and lc["unit"] == lc["total"] - lc["wrapper"]
    assert u["gops"] == pytest.approx(u["ops_per_cycle"] * u["fmax_mhz"] / 1000, abs=1e-3)
    assert u["critical_path"]["ns"] == pytest.approx(1000 / u["fmax_mhz"], rel=0.02)
    assert set(u["steps"]) == {"generate", "yosys", "nextpnr"}
    assert set(report["tools"]) == {"yosys", "nextpnr-ecp5"}
    assert report["tools"]["yosys"]["version"].startswith("Yosys 0.")
    assert "nextpnr" in report["tools"]["nextpnr-ecp5"]["version"]
    assert "shift chain" in report["wrapper"]
    json.dumps(report)
    text = format_report(report)
    assert "MISSED" in text and "logic cells" in text and "GMAC/s" in text


def test_count_cells_sorts_yosys_cells():
    counts = count_cells("ice40", {"SB_LUT4": 10, "SB_DFFER": 3, "SB_DFF": 4, "SB_CARRY": 2,
                                   "SB_MAC16": 1, "SB_RAM40_4K": 5, "$scopeinfo": 9,
                                   "SB_WARMBOOT": 1})
    assert counts == {"lut4": 10, "ff": 7, "carry": 2, "dsp": 1, "bram": 5, "spram": 0,
                      "io": 0, "other": 1, "other_types": {"SB_WARMBOOT": 1}}
    counts = count_cells("ecp5", {"LUT4": 5, "TRELLIS_FF": 6, "CCU2C": 2, "MULT18X18D": 1,
                                  "ALU54B": 1, "DP16KD": 3, "TRELLIS_DPR16X4": 4, "PFUMX": 2})
    assert (counts["lut4"], counts["ff"], counts["carry"], counts["dsp"], counts["bram"],
            counts["lutram"], counts["mux"], counts["other"]) == (5, 6, 2, 2, 3, 4, 2, 0)


def test_fit_check_names_the_resource():
    tgt = target("ice40-up5k")
    ok = {"lut4": 5280, "ff": 5280, "carry": 100, "dsp": 8, "bram": 30, "spram": 4}
    _check_fit("gemm", tgt, ok)
    with pytest.raises(ToolError) as exc:
        _check_fit("gemm", tgt, {**ok, "bram": 31})
    assert str(exc.value) == \
        "gemm does not fit ice40-up5k: it needs 31 block RAMs, the device has 30"
    with pytest.raises(ToolError) as exc:
        _check_fit("gemm", tgt, {**ok, "lut4": 6000})
    assert str(exc.value) == \
        "gemm does not fit ice40-up5k: it needs 6000 logic cells, the device has 5280"
    # ECP5 carry cells take two logic cells each
    with pytest.raises(ToolError) as exc:
        _check_fit("gemm", target("ecp5-25k"), {**ok, "lut4": 20000, "carry": 2200,
                                                   "bram": 0, "spram": 0})
    assert str(exc.value) == \
        "gemm does not fit ecp5-25k: it needs 24400 logic cells, the device has 24288"
    with pytest.raises(ToolError, match="needs 9 DSP blocks, the device has 8"):
        _check_fit("gemm", tgt, {**ok, "dsp": 9})


def test_overflow_from_nextpnr_log(tmp_path):
    log = tmp_path / "nextpnr.log"
    log.write_text("Info: Device utilisation:\n"
                   "Info: \t          TRELLIS_IO:       6/    197     3%\n"
                   "Info: \t        TRELLIS_COMB:   30112/  24288   123%\n")
    assert _overflow_from_log(log) == ("TRELLIS_COMB", 30112, 24288)
    log.write_text("ERROR: Unable to place cell 'x', no BELs remaining to implement cell type "
                   "'ICESTORM_LC'\n")
    assert _overflow_from_log(log) == ("ICESTORM_LC", None, None)
    log.write_text("Info: \t          TRELLIS_IO:       6/    197     3%\n")
    assert _overflow_from_log(log) is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(freq=0), "freq must be a number of MHz from 1 to 1000, not 0"),
    (dict(seed=-1), "seed must be an integer from 0 to 2147483647, not -1"),
    (dict(pnr="yes"), "pnr must be True or False, not 'yes'"),
    (dict(timeout=0), "timeout must be a positive, finite number of seconds (at most 1e+07), "
                      "not 0"),
    (dict(timeout=float("nan")), "timeout must be a positive, finite number of seconds (at most "
                                 "1e+07), not nan"),
    (dict(timeout=True), "timeout must be a positive, finite number of seconds (at most 1e+07), "
                         "not True"),
])
def test_bad_options(kwargs, message):
    with pytest.raises((TypeError, ValueError)) as exc:
        SynthOptions(**kwargs)
    assert str(exc.value) == message


def test_targets():
    assert {"ecp5-25k", "ecp5-85k", "ice40-up5k", "ice40-hx8k"} <= set(TARGETS)
    assert target("ecp5-85k").synth_command("top") == "synth_ecp5 -top top"
    assert target("ecp5-85k").synth_command("top", dsp=False) == "synth_ecp5 -top top -nodsp"
    assert target("ice40-up5k").synth_command("top") == "synth_ice40 -top top -dsp"
    assert target("ice40-hx8k").synth_command("top") == "synth_ice40 -top top"   # no DSPs
    with pytest.raises(ValueError) as exc:
        target("xc7a35t")
    assert str(exc.value) == ("target must be one of 'ecp5-25k', 'ecp5-85k', 'ice40-up5k', "
                              "'ice40-hx8k', not 'xc7a35t'")


def test_gemm_config_for_every_engine_is_valid():
    # the smoke matrix follows config.ENGINES, so new engines join it by registering
    assert [c.id for c in smoke_cases()][:len(ENGINES)] == [f"gemm-{e}" for e in ENGINES]
    for engine in ENGINES:
        assert GemmConfig(engine=engine).engine == engine


def test_synth_command_line(yowasp, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["synth", "tiny", "--target", "ice40-hx8k", "--no-pnr", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "gemm (lutmix_gemm) on ice40-hx8k" in text and "synthesis only" in text
    report = json.loads((out / "report.json").read_text())
    assert report["flow"]["pnr"] is False and set(report["tools"]) == {"yosys"}
    assert report["target"]["name"] == "ice40-hx8k"
    assert report["config"] == PRESETS["tiny"].to_dict()
    # what is synthesized is exactly what `lutmix generate` delivers
    main(["generate", "tiny", "-o", str(tmp_path / "gen")])
    assert (out / "gemm" / "lutmix_gemm.v").read_bytes() == \
        (tmp_path / "gen" / "lutmix_gemm.v").read_bytes()
    assert report["units"]["gemm"]["verilog_sha256"] == json.loads(
        (tmp_path / "gen" / "manifest.json").read_text())["units"]["gemm"]["sha256"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_design_that_does_not_fit_is_one_line_and_writes_nothing(yowasp, tmp_path, capsys):
    # 2 x 2048 words of 32 bits of weight buffer: 32 block RAMs, the UP5K has 30
    cfg = tmp_path / "big.toml"
    cfg.write_text('[gemm]\nweight = "int4"\nm = 1\nn = 8\nk = 4\nmax_k = 2048\n')
    out = tmp_path / "out"
    assert main(["synth", str(cfg), "--target", "ice40-up5k", "--no-pnr", "-o", str(out)]) == 2
    assert capsys.readouterr().err == \
        "lutmix: error: gemm does not fit ice40-up5k: it needs 32 block RAMs, the device has 30\n"
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.toml"]


def test_bad_synth_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["synth", "tiny", "--target", "xc7a35t", "-o", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "invalid choice: 'xc7a35t'" in capsys.readouterr().err
    assert main(["synth", "tiny", "--target", "ecp5-25k", "--freq", "0",
                 "-o", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == \
        "lutmix: error: freq must be a number of MHz from 1 to 1000, not 0.0\n"
    assert main(["synth", "nope", "--target", "ecp5-25k", "-o", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("lutmix: error: nope: no such config file")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("engine, weight, planes", [
    ("lut", "int2", 1), ("lut", "int3", 2), ("shiftadd", "int4", 1), ("mac", "int2", 1),
    ("mac", "int4", 1)])
def test_macs_per_cycle_is_the_rate_of_the_ideal_cycle_count(engine, weight, planes):
    # the throughput synth reports is the one the RTL runs and run gemm measures against
    from lutmix.fpga.synth import ops_per_cycle
    cfg = GemmConfig(engine=engine, weight=weight, planes_per_cycle=planes, m=1, n=4, k=2,
                     max_k=64)
    info = UNITS["gemm"].describe(cfg, UNITS["gemm"].build(cfg))
    ops, op = ops_per_cycle(info)
    M, N, K = 8, 64, 256
    assert op == "MAC" and ops * gemm_spec(cfg).ideal_cycles(M, N, K) == M * N * K
