"""Design-space sweeps: the sweep file, the grid, the point cache, the outputs, the executors."""
import csv
import dataclasses
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lutmix.cli import main
from lutmix.config import PRESETS, SECTIONS, GemmConfig
from lutmix.errors import ConfigError, InputError, ToolError
from lutmix.fpga.progress import Progress
from lutmix.fpga.results import pareto_front, rows, write_results
from lutmix.fpga.sweep import expand, load_sweep, parse_sweep, point_hash, run_sweep
from lutmix.fpga.synth import SynthOptions
from lutmix.fpga.targets import TARGETS

SMALL = """
[sweep]
target = "ecp5-25k"
pnr = false

[base]
preset = "tiny"

[grid]
"gemm.weight" = ["int1", "int2"]
"gemm.n" = [2, 3]
"""


def sweep_of(text, source="s.toml"):
    return parse_sweep(tomllib.loads(text), source)


def test_grid_is_the_product_of_its_axes_last_fastest():
    points, skipped = expand(sweep_of(SMALL))
    assert skipped == []
    assert [(p.config.gemm.weight, p.config.gemm.n) for p in points] == [
        ("int1", 2), ("int1", 3), ("int2", 2), ("int2", 3)]
    assert all(p.config.gemm.max_k == PRESETS["tiny"].gemm.max_k for p in points)
    assert all(p.target == "ecp5-25k" and p.options.pnr is False for p in points)
    assert [p.index for p in points] == [0, 1, 2, 3]
    assert points[1].axes == {"gemm.weight": "int1", "gemm.n": 3}


def test_flow_axes_and_grid_unions():
    text = """
    [[grid]]
    "gemm.weight" = ["int2"]
    target = ["ecp5-85k", "ice40-up5k"]
    seed = [1, 2]
    [[grid]]
    "gemm.weight" = ["int2", "int4"]
    dsp = [false]
    freq = [100]
    """
    points, _ = expand(sweep_of(text))
    assert [(p.target, p.options.seed) for p in points[:4]] == [
        ("ecp5-85k", 1), ("ecp5-85k", 2), ("ice40-up5k", 1), ("ice40-up5k", 2)]
    assert [(p.config.gemm.weight, p.options.dsp, p.options.freq) for p in points[4:]] == [
        ("int2", False, 100), ("int4", False, 100)]
    # without [base], a point starts from the section's defaults
    assert points[0].config.gemm == GemmConfig(weight="int2")


def test_duplicate_points_are_built_once():
    text = '[[grid]]\n"gemm.n" = [4, 8]\n[[grid]]\n"gemm.n" = [8, 16]\n'
    points, _ = expand(sweep_of(text))
    assert [p.config.gemm.n for p in points] == [4, 8, 16]


def test_invalid_points_fail_or_are_skipped():
    text = '[grid]\n"gemm.weight" = ["int1", "int2"]\n"gemm.planes_per_cycle" = [1, 2]\n'
    with pytest.raises(ConfigError) as exc:
        expand(sweep_of(text))
    assert str(exc.value) == (
        "s.toml: point gemm.weight='int1', gemm.planes_per_cycle=2: [gemm] planes_per_cycle "
        "must be an integer from 1 to 1, not 2")
    points, skipped = expand(sweep_of("[sweep]\nskip_invalid = true\n" + text))
    assert len(points) == 3 and len(skipped) == 1


def test_point_hash():
    cfg = PRESETS["tiny"]
    base = point_hash(cfg, "ecp5-25k", SynthOptions())
    assert base == point_hash(cfg, "ecp5-25k", SynthOptions(timeout=10))
    assert base == point_hash(cfg, "ecp5-25k", SynthOptions(freq=150))      # the default
    assert base != point_hash(cfg, "ecp5-85k", SynthOptions())
    assert base != point_hash(cfg, "ecp5-25k", SynthOptions(seed=2))
    assert base != point_hash(cfg, "ecp5-25k", SynthOptions(dsp=False))
    assert base != point_hash(PRESETS["w2a8"], "ecp5-25k", SynthOptions())


@pytest.mark.parametrize("text, message", [
    ("[grid]\nfoo = [1]\n",
     "s.toml: [grid] unknown axis 'foo'; allowed: \"<section>.<key>\" with section "
     f"{', '.join(SECTIONS)}, or target, seed, freq, dsp"),
    ('[grid]\n"gemm.width" = [1]\n',
     "s.toml: [grid] unknown axis 'gemm.width'; [gemm] keys: engine, weight, activation, m, n, "
     "k, planes_per_cycle, max_k, group_size, zero_point, scale, dequant_lanes"),
    ('[grid]\n"gemm.n" = []\n', "s.toml: [grid] axis 'gemm.n' must be a non-empty list of values"),
    ('[grid]\ntarget = ["xc7"]\n',
     "s.toml: [grid] axis 'target': target must be one of 'ecp5-25k', 'ecp5-85k', "
     "'ice40-up5k', 'ice40-hx8k', not 'xc7'"),
    ('[sweep]\njobs = 3\n[grid]\n"gemm.n" = [1]\n',
     "s.toml: [sweep] unknown key 'jobs'; allowed: target, seed, freq, pnr, dsp, timeout, "
     "skip_invalid"),
    ('[sweep]\nseed = -1\n[grid]\n"gemm.n" = [1]\n',
     "s.toml: [sweep]: seed must be an integer from 0 to 2147483647, not -1"),
    ('[sweep]\npnr = 1\n[grid]\n"gemm.n" = [1]\n',
     "s.toml: [sweep]: pnr must be true or false, not 1"),
    ("[sweep]\n", 's.toml: missing [grid] (axes: "<section>.<key>" or target, seed, freq, dsp)'),
    ('[base]\n[base.gemm]\nk = 9\n[grid]\n"gemm.n" = [1]\n',
     "s.toml: [base]: [gemm] k must be an integer from 2 to 5, not 9"),
    ('[grids]\n', "s.toml: unknown table [grids]; allowed: [sweep], [base], [grid]"),
])
def test_bad_sweep_files(text, message):
    with pytest.raises(ConfigError) as exc:
        expand(sweep_of(text))
    assert str(exc.value) == message


def _fake_result(index, target, n, cells, gops, status="ok"):
    cfg = dataclasses.asdict(GemmConfig(weight="int2", n=n))
    unit = {"unit": {"lut4": cells, "ff": 10, "carry": 1, "dsp": 0, "bram": 0},
            "logic_cells": {"unit": cells, "total": cells + 5, "wrapper": 5},
            "fmax_mhz": 100.0, "freq_mhz": 150.0, "timing_met": False,
            "ops_per_cycle": gops * 10, "op": "MAC", "gops": gops,
            "steps": {"yosys": {"seconds": 1.0}, "nextpnr": {"seconds": 2.0}}}
    return {"index": index, "hash": f"h{index}", "target": target, "config": {"gemm": cfg},
            "options": {"seed": 1, "dsp": True}, "axes": {"gemm.n": n}, "status": status,
            "error": None if status == "ok" else "gemm does not fit",
            "units": {"gemm": unit} if status == "ok" else {}}


def test_pareto_front():
    table = rows([_fake_result(0, "t", 1, 100, 1.0), _fake_result(1, "t", 2, 200, 3.0),
                  _fake_result(2, "t", 3, 250, 2.0), _fake_result(3, "t", 4, 300, 3.0),
                  _fake_result(4, "t", 5, 400, 5.0)])
    assert [r["point"] for r in pareto_front(table)] == [0, 1, 4]


def test_outputs(tmp_path):
    results = [_fake_result(0, "ecp5-85k", 8, 1000, 1.0),
               _fake_result(1, "ecp5-85k", 16, 1900, 2.0),
               _fake_result(2, "ice40-up5k", 8, 1100, 0.5),
               _fake_result(3, "ice40-up5k", 64, 0, 0, status="no-fit")]
    sweep = sweep_of(SMALL)
    files = write_results(sweep, results, [], tmp_path)
    assert [f.name for f in files] == ["results.csv", "summary.md", "throughput_vs_cells.png",
                                      "pareto_ecp5-85k.png", "pareto_ice40-up5k.png"]
    table = list(csv.DictReader((tmp_path / "results.csv").read_text().splitlines()))
    assert [r["status"] for r in table] == ["ok", "ok", "ok", "no-fit"]
    assert table[1]["gemm.n"] == "16" and table[1]["gops_per_kcell"] == str(round(2000 / 1900, 4))
    assert table[3]["error"] == "gemm does not fit"
    summary = (tmp_path / "summary.md").read_text()
    assert "## Pareto front on ecp5-85k" in summary and "## Points that did not build" in summary
    assert "4 points: 1 no-fit, 3 ok" in summary
    for f in files[2:]:
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_bar_lines(capsys):
    import sys
    bar = Progress(3, done=1, stream=sys.stdout, label="sweep")
    bar.update("ok")
    bar.update("no-fit")
    bar.close()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "sweep [##########--------------------] 1/3, 1 cached"
    assert out[-1] == "sweep [##############################] 3/3, 1 cached, 1 no-fit, 1 ok"


def test_sweep_runs_and_resumes_from_its_cache(yowasp, tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(SMALL.replace('["int1", "int2"]', '["int2"]'))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "-o", str(out), "--jobs", "2"]) == 0
    captured = capsys.readouterr()
    assert "2 points" in captured.out and "2 ok (0 from the cache)" in captured.out
    assert "sweep [" in captured.err
    first = (out / "results.csv").read_text()
    assert first.count("\n") == 3
    cached = sorted((out / "points").glob("*.json"))
    assert len(cached) == 2
    result = json.loads(cached[0].read_text())
    assert result["status"] == "ok" and result["units"]["gemm"]["unit"]["lut4"] > 0
    # an interrupted sweep: one point lost, the other still cached
    cached[1].unlink()
    assert main(["sweep", str(path), "-o", str(out), "--jobs", "1", "--quiet"]) == 0
    assert "2 ok (1 from the cache)" in capsys.readouterr().out
    def cells(text):
        return [(r["gemm.n"], r["lut4"], r["ff"]) for r in csv.DictReader(text.splitlines())]
    assert cells((out / "results.csv").read_text()) == cells(first)


def test_sweep_on_a_dask_local_cluster(yowasp, tmp_path):
    distributed = pytest.importorskip("distributed")
    sweep = sweep_of(SMALL.replace('["int1", "int2"]', '["int1"]'))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        out = run_sweep(sweep, tmp_path, scheduler=cluster.scheduler_address, progress=False)
    assert [r["status"] for r in out["results"]] == ["ok", "ok"]
    assert [r["config"]["gemm"]["n"] for r in out["results"]] == [2, 3]
    assert out["cached"] == 0 and (tmp_path / "summary.md").exists()


def test_bad_sweep_file_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text('[grid]\n"gemm.k" = [9]\n')
    assert main(["sweep", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == (f"lutmix: error: {path}: point gemm.k=9: [gemm] k must be an integer "
                   f"from 2 to 5, not 9\n")
    assert not (tmp_path / "out").exists()
    assert main(["sweep", str(tmp_path / "nope.toml"), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == \
        f"lutmix: error: {tmp_path / 'nope.toml'}: no such sweep file\n"


@pytest.mark.slow
def test_sweep_places_and_routes_on_every_target(yowasp, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[base]\npreset = "tiny"\n[grid]\n"gemm.engine" = ["lut", "shiftadd", "mac"]\n'
                    'target = ["ecp5-25k", "ecp5-85k", "ice40-up5k", "ice40-hx8k"]\n')
    out = run_sweep(load_sweep(path), tmp_path / "out", jobs=2, progress=False)
    assert [r["status"] for r in out["results"]] == ["ok"] * 12
    for r in out["results"]:
        u = r["units"]["gemm"]
        assert u["fmax_mhz"] > 0 and u["gops"] > 0
        assert u["packed"]["logic_cells_available"] == TARGETS[r["target"]].capacity[
            "logic_cells"]
    table = list(csv.DictReader((tmp_path / "out" / "results.csv").read_text().splitlines()))
    assert len(table) == 12 and all(float(r["gops_per_kcell"]) > 0 for r in table)


@pytest.mark.slow
def test_density_bench(yowasp, tmp_path):
    # the compute-density sweep of the README, on the ECP5-85k: hours on two cores (cached in
    # build/density-points, so a second run only renders the table)
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, str(root / "bench" / "density_bench.py"), "--part",
                    "precision", "--jobs", "2", "--out", str(tmp_path)], check=True)
    text = (tmp_path / "density.md").read_text()
    for label in ("| lut |", "| shiftadd |", "| mac (logic) |", "| mac (DSP) |"):
        assert label in text
    assert "failed" not in text and "not run" not in text
    assert (tmp_path / "density.png").read_bytes()[:4] == b"\x89PNG"


def test_the_grid_is_counted_before_it_is_expanded():
    from lutmix.fpga.sweep import HARD_MAX_POINTS, MAX_POINTS, check_size, count_points
    sweep = sweep_of('[base]\npreset = "tiny"\n[[grid]]\n"gemm.n" = [1, 2, 3]\n"gemm.m" = [1, 2]\n'
                     '[[grid]]\nseed = [1, 2, 3, 4]\n')
    assert count_points(sweep) == 10 == len(expand(sweep)[0])
    values = ", ".join(map(str, range(1, 1001)))
    big = sweep_of(f'[grid]\n"gemm.n" = [{", ".join(map(str, range(1, 601)))}]\n'
                   f'seed = [1, 2]\n')
    assert count_points(big) == 1200 > MAX_POINTS
    with pytest.raises(InputError, match=r"^s.toml: the grid has 1,200 points, more than "
                                         r"1,000; check the axes, or pass --yes"):
        check_size(big)
    assert check_size(big, yes=True) == count_points(big)
    huge = sweep_of(f'[grid]\n"gemm.n" = [{values}]\n"gemm.m" = [{values}]\nseed = [1, 2]\n')
    assert count_points(huge) == 2_000_000 > HARD_MAX_POINTS
    with pytest.raises(InputError, match=r"more than a sweep can run \(1,000,000\)"):
        check_size(huge, yes=True)


def test_expansion_reads_package_metadata_once(monkeypatch):
    from lutmix.fpga import sweep as sw
    sw._tool_packages.cache_clear()
    calls = []
    real = sw.metadata.version
    monkeypatch.setattr(sw.metadata, "version", lambda name: calls.append(name) or real(name))
    values = ", ".join(str(n) for n in range(1, 201))
    points, _ = expand(sweep_of(f'[base]\npreset = "tiny"\n[grid]\n"gemm.n" = [{values}]\n'
                                f'seed = [1, 2]\n'))
    assert len(points) == 400
    assert len(calls) == len(sw.TOOLS)             # once per tool, not once per point
    sw._tool_packages.cache_clear()


def test_the_point_cache_is_keyed_by_the_generated_verilog(tmp_path, monkeypatch):
    from lutmix.fpga import sweep as sw
    from lutmix.rtl import generate
    points, _ = expand(sweep_of(SMALL))
    built = []

    def fake_run(point):
        built.append(point["index"])
        return {**point, "status": "ok", "error": None, "units": {}, "seconds": 0.0}
    monkeypatch.setattr(sw, "run_point", fake_run)
    first = sw.run_points(points, tmp_path, jobs=1, progress=False)
    assert built == [0, 1, 2, 3] and not any(r["cached"] for r in first)
    assert sorted(p.stem for p in tmp_path.iterdir()) == sorted(r["hash"] for r in first)
    built.clear()
    assert all(r["cached"] for r in sw.run_points(points, tmp_path, jobs=1, progress=False))
    assert built == []
    # the same configs, but the RTL generates other Verilog: nothing stale is reused
    real = generate.verilog
    monkeypatch.setattr(generate, "verilog",
                        lambda section, cfg, name=None: real(section, cfg, name) + "// new\n")
    again = sw.run_points(points, tmp_path, jobs=1, progress=False)
    assert built == [0, 1, 2, 3] and not any(r["cached"] for r in again)
    assert {r["hash"] for r in again}.isdisjoint(r["hash"] for r in first)


def _dies(item):
    os._exit(3)


def _needs_a_missing_module(item):
    raise ModuleNotFoundError("No module named 'lutmix'")


def test_a_worker_process_that_dies_is_one_error():
    from lutmix.fpga.executors import LocalExecutor
    with pytest.raises(ToolError, match=r"^a worker process died \(out of memory, or killed\)"):
        with LocalExecutor(jobs=2) as executor:
            list(executor.map_unordered(_dies, [1, 2]))


def test_a_dask_worker_that_cannot_run_lutmix_is_one_error():
    distributed = pytest.importorskip("distributed")
    from lutmix.fpga.executors import DaskExecutor
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with pytest.raises(ToolError, match=r"^a worker of the Dask scheduler at .* failed "
                                            r"\(ModuleNotFoundError: No module named 'lutmix'\); "
                                            r"does every worker have lutmix installed\?$"):
            with DaskExecutor(address=cluster.scheduler_address) as executor:
                list(executor.map_unordered(_needs_a_missing_module, [1]))
