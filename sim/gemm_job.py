"""A GEMM job: the exact beats a bench streams into the engine, saved to one ``.npz`` file.

A job is a sequence of *passes*: one weight tile followed by the activation tiles that use it
(``release`` on the last). The bench sends all weight frames on ``s_axis_w`` and all activation
frames on ``s_axis_x`` as fast as the engine takes them (and the pause settings allow), so
weight tiles load ahead into the free bank while earlier ones compute.
"""

__all__ = ["GemmJob"]

import json
from dataclasses import dataclass, field

import numpy as np

from lutmix import words
from lutmix.config import GemmConfig
from lutmix.gemm_spec import gemm_spec


@dataclass
class GemmJob:
    """Beats and bench settings for one simulation run.

    Attributes
    ----------
    config : GemmConfig
    w_beats, x_beats : ndarray of uint8, shape (beats, bytes)
        All weight and activation beats, frame after frame.
    w_lens, x_lens : list of int
        Beats in each weight and activation frame.
    x_release : list of bool
        The release flag of each activation frame.
    x_tags : list of str
        A label for each activation frame, used in reports (``"vector 3 (all-max)"``).
    pause : dict
        Pause probabilities for ``"w"``, ``"s"`` and ``"x"`` (idle cycles) and ``"y"``
        (backpressure).
    seed : int
        Seed of the pause generators.
    s_beats : ndarray of uint8, shape (beats, bytes)
        With ``group_size``: the scale beats of each weight tile, frame after frame.
    """
    config: GemmConfig
    w_beats: np.ndarray
    w_lens: list
    x_beats: np.ndarray
    x_lens: list
    x_release: list
    x_tags: list
    pause: dict = field(default_factory=lambda: {"w": 0.0, "s": 0.0, "x": 0.0, "y": 0.0})
    seed: int = 0
    s_beats: np.ndarray | None = None

    @property
    def spec(self):
        return gemm_spec(self.config)

    @classmethod
    def from_passes(cls, config, passes, *, pause=None, seed=0):
        """Build a job from ``[(codes (n, G*k), [(x (m, G*k), tag), ...], scales), ...]``.

        ``scales`` is ``(S, Z)`` per block of the tile (``(n, blocks)`` each, ``Z`` may be
        ``None``) with ``group_size``, else ``None``. Float activations are bit patterns.
        """
        spec = gemm_spec(config)
        w_beats, w_lens, x_beats, x_lens, x_release, x_tags = [], [], [], [], [], []
        s_beats = []
        for codes, tiles, scales in passes:
            if not tiles:
                raise ValueError("Every weight tile needs at least one activation tile")
            beats = words.pack_weights(codes, spec)
            w_beats.append(beats)
            w_lens.append(len(beats))
            if config.dequant:
                s_beats.append(words.pack_scales(*scales, spec))
            for i, (x, tag) in enumerate(tiles):
                if x.shape[1] != codes.shape[1]:
                    raise ValueError(f"Activation tile K {x.shape[1]} != weight tile K "
                                     f"{codes.shape[1]}")
                beats = words.pack_acts(x, spec)
                x_beats.append(beats)
                x_lens.append(len(beats))
                x_release.append(i == len(tiles) - 1)
                x_tags.append(tag)
        return cls(config=config, w_beats=np.concatenate(w_beats), w_lens=w_lens,
                   x_beats=np.concatenate(x_beats), x_lens=x_lens, x_release=x_release,
                   x_tags=x_tags, pause=dict(pause or {}), seed=seed,
                   s_beats=np.concatenate(s_beats) if s_beats else None)

    @property
    def s_lens(self):
        """Scale beats per weight tile: its blocks."""
        if self.s_beats is None:
            return []
        c = self.config
        return [n // (c.block_groups * self.spec.chunks) for n in self.w_lens]

    def frames(self, which):
        """The frames of stream ``"w"``, ``"s"`` or ``"x"`` as lists of beat bytes."""
        beats, lens = {"w": (self.w_beats, self.w_lens), "s": (self.s_beats, self.s_lens),
                       "x": (self.x_beats, self.x_lens)}[which]
        out, start = [], 0
        for n in lens:
            out.append(beats[start:start + n])
            start += n
        return out

    def save(self, path):
        meta = {"config": self.config.__dict__, "w_lens": self.w_lens, "x_lens": self.x_lens,
                "x_release": self.x_release, "x_tags": self.x_tags, "pause": self.pause,
                "seed": self.seed}
        arrays = dict(w_beats=self.w_beats, x_beats=self.x_beats,
                      meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        if self.s_beats is not None:
            arrays["s_beats"] = self.s_beats
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path):
        with np.load(path) as f:
            meta = json.loads(f["meta"].tobytes().decode())
            return cls(config=GemmConfig(**meta["config"]), w_beats=f["w_beats"],
                       w_lens=meta["w_lens"], x_beats=f["x_beats"], x_lens=meta["x_lens"],
                       x_release=meta["x_release"], x_tags=meta["x_tags"],
                       pause=meta["pause"], seed=meta["seed"],
                       s_beats=f["s_beats"] if "s_beats" in f else None)
