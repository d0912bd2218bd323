import numpy as np
import pytest

from lutmix.config import GemmConfig
from lutmix.gemm_spec import gemm_spec
from lutmix.sim.gemm_run import gemm_job
from lutmix.tiling import plan_gemm


def test_plan_pads_and_splits_k():
    spec = gemm_spec(GemmConfig(m=2, n=8, k=3, max_k=30))
    plan = plan_gemm(5, 13, 70, spec)
    assert (plan.m_tiles, plan.n_tiles) == (3, 2)
    assert plan.k_tiles == ((0, 30), (30, 60), (60, 72))
    order = list(plan.order())
    assert len(order) == 2 * 3 * 3
    assert order[:4] == [(0, 0, 0, False), (0, 0, 1, False), (0, 0, 2, True), (0, 1, 0, False)]


def test_job_releases_each_weight_tile_once():
    config = GemmConfig(m=2, n=8, k=3, max_k=30)
    rng = np.random.default_rng(0)
    w = rng.integers(-2, 2, size=(13, 70))
    x = rng.integers(-128, 128, size=(5, 70)).astype(np.int8)
    job, plan = gemm_job(config, w, x)
    assert len(job.w_lens) == plan.n_tiles * len(plan.k_tiles)
    assert sum(job.x_release) == len(job.w_lens)
    assert job.x_lens == [10, 10, 10, 10, 10, 10, 4, 4, 4] * 2


def test_plan_rejects_empty():
    spec = gemm_spec(GemmConfig())
    with pytest.raises(ValueError, match="^K must be at least 1, not 0$"):
        plan_gemm(1, 1, 0, spec)
