"""Tiling: how a GEMM of any shape runs on an ``m x n`` engine that holds ``max_k`` of K.

``Y = X @ W.T`` with X of shape (M, K) and W of shape (N, K). K is padded with zeros to a
multiple of ``k`` and cut into K-tiles of at most ``max_groups`` groups; M and N are padded to
multiples of ``m`` and ``n`` (padding weights are code 0, padding activations are 0, and padded
results are dropped). The streams run in this order::

    for each N-tile:                     # one weight tile per (N-tile, K-tile)
        for each K-tile:
            load weights W[N-tile, K-tile]
            for each M-tile:             # the weight tile is reused by every M-tile
                stream X[M-tile, K-tile] (release on the last M-tile)
                receive Y partial (m rows)

and the host adds the partial results of the K-tiles.
"""

__all__ = ["GemmPlan", "plan_gemm"]

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GemmPlan:
    """The tiles of one GEMM on one engine.

    Attributes
    ----------
    M, N, K : int
        The problem.
    m_tiles, n_tiles : int
        Tiles along M and N.
    k_tiles : tuple of (int, int)
        ``[start, stop)`` of each K-tile, in padded K coordinates.
    """
    M: int
    N: int
    K: int
    m: int
    n: int
    k: int
    m_tiles: int
    n_tiles: int
    k_tiles: tuple

    @property
    def padded_k(self):
        return self.k_tiles[-1][1]

    def order(self):
        """Yield ``(n_tile, k_tile, m_tile, release)`` in stream order."""
        for nt in range(self.n_tiles):
            for kt in range(len(self.k_tiles)):
                for mt in range(self.m_tiles):
                    yield nt, kt, mt, mt == self.m_tiles - 1

    def pad(self, x, codes):
        """Zero-pad X (M, K) and weight codes (N, K) to whole tiles."""
        Mp, Np = self.m_tiles * self.m, self.n_tiles * self.n
        x = np.pad(x, ((0, Mp - self.M), (0, self.padded_k - self.K)))
        codes = np.pad(codes, ((0, Np - self.N), (0, self.padded_k - self.K)))
        return x, codes


def plan_gemm(M, N, K, spec):
    """Plan ``(M, K) x (N, K)`` on the engine of ``spec``."""
    c = spec.config
    for name, value in (("M", M), ("N", N), ("K", K)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, not {value!r}")
    kp = math.ceil(K / c.k) * c.k
    step = spec.max_groups * c.k
    k_tiles = tuple((s, min(s + step, kp)) for s in range(0, kp, step))
    return GemmPlan(M=M, N=N, K=K, m=c.m, n=c.n, k=c.k,
                    m_tiles=math.ceil(M / c.m), n_tiles=math.ceil(N / c.n), k_tiles=k_tiles)
