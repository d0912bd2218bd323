"""Tiling: how a GEMM of any shape runs on an ``m x n`` engine that holds ``max_k`` of K.

``Y = X @ W.T`` with X of shape (M, K) and W of shape (N, K). M and N are padded to multiples
of ``m`` and ``n`` (padding weights are code 0, padding activations are 0, padded results are
dropped). K becomes the engine's *device K*:

* without dequantization, K is padded with zeros to a multiple of ``k``;
* with dequantization, K is cut into blocks of ``block`` activations (a group, or 128 for
  ``"channel"``/``"tensor"``, where K is first padded with zeros to a multiple of 128), and each
  block is padded with zeros to ``block_groups * k``, so no group of ``k`` straddles two blocks.

Device K is cut into K-tiles of at most ``max_groups`` groups (whole blocks with
dequantization). The streams run in this order::

    for each N-tile:                     # one weight tile per (N-tile, K-tile)
        for each K-tile:
            load weights W[N-tile, K-tile]  (and their scales)
            for each M-tile:             # the weight tile is reused by every M-tile
                stream X[M-tile, K-tile] (release on the last M-tile)
                receive Y partial (m rows)

and the host adds the partial results of the K-tiles, in K-tile order (in float32 when the
results are dequantized).
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
        ``[start, stop)`` of each K-tile, in device K coordinates.
    blocks : int
        Dequantization blocks along K (0 without dequantization).
    block, block_k : int
        Activations per block, and per block on the device (padded to whole groups).
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
    blocks: int = 0
    block: int = 0
    block_k: int = 0

    @property
    def device_k(self):
        return self.k_tiles[-1][1]

    def order(self):
        """Yield ``(n_tile, k_tile, m_tile, release)`` in stream order."""
        for nt in range(self.n_tiles):
            for kt in range(len(self.k_tiles)):
                for mt in range(self.m_tiles):
                    yield nt, kt, mt, mt == self.m_tiles - 1

    def to_device_k(self, a, fill=0):
        """Lay the K axis (last) of ``a`` out as device K, padding with ``fill``."""
        a = np.asarray(a)
        lead = a.shape[:-1]
        if not self.blocks:
            out = np.full(lead + (self.device_k,), fill, dtype=a.dtype)
            out[..., :self.K] = a
            return out
        padded = np.full(lead + (self.blocks * self.block,), fill, dtype=a.dtype)
        padded[..., :self.K] = a
        out = np.full(lead + (self.blocks, self.block_k), fill, dtype=a.dtype)
        out[..., :self.block] = padded.reshape(lead + (self.blocks, self.block))
        return out.reshape(lead + (self.blocks * self.block_k,))

    def pad_rows(self, a, tile):
        """Pad the first axis of ``a`` to a multiple of ``tile`` with zeros."""
        a = np.asarray(a)
        rows = -(-a.shape[0] // tile) * tile
        return np.pad(a, ((0, rows - a.shape[0]),) + ((0, 0),) * (a.ndim - 1))

    def pad(self, x, codes):
        """X (M, K) and weight codes (N, K) as whole tiles of device K."""
        return (self.pad_rows(self.to_device_k(x), self.m),
                self.pad_rows(self.to_device_k(codes), self.n))

    def tile_blocks(self, kt):
        """The ``[start, stop)`` blocks of K-tile ``kt``."""
        k0, k1 = self.k_tiles[kt]
        return k0 // self.block_k, k1 // self.block_k


def plan_gemm(M, N, K, spec):
    """Plan ``(M, K) x (N, K)`` on the engine of ``spec``."""
    c = spec.config
    for name, value in (("M", M), ("N", N), ("K", K)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, not {value!r}")
    common = dict(M=M, N=N, K=K, m=c.m, n=c.n, k=c.k,
                  m_tiles=math.ceil(M / c.m), n_tiles=math.ceil(N / c.n))
    if not c.dequant:
        kp = math.ceil(K / c.k) * c.k
        step = spec.max_groups * c.k
        k_tiles = tuple((s, min(s + step, kp)) for s in range(0, kp, step))
        return GemmPlan(**common, k_tiles=k_tiles)
    blocks = math.ceil(K / c.block)
    block_k = c.block_groups * c.k
    step = c.max_blocks * block_k
    kp = blocks * block_k
    k_tiles = tuple((s, min(s + step, kp)) for s in range(0, kp, step))
    return GemmPlan(**common, k_tiles=k_tiles, blocks=blocks, block=c.block, block_k=block_k)
