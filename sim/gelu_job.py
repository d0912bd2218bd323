"""A GELU job: the input frames a bench streams into the unit, saved to one ``.npz`` file."""

__all__ = ["GeluJob"]

import json
from dataclasses import dataclass, field

import numpy as np

from lutmix.config import GeluConfig
from lutmix.gelu_math import gelu_spec, pack_words


@dataclass
class GeluJob:
    """Beats and bench settings for one simulation run.

    Attributes
    ----------
    config : GeluConfig
    x_beats : ndarray of uint8, shape (beats, bytes)
        All input beats, frame after frame (``tlast`` on each frame's final beat).
    x_lens : list of int
        Beats in each frame.
    x_tags : list of str
        A label for each frame, used in reports (``"vector 3 (inputs 2048-4095)"``).
    pause : dict
        Pause probabilities for ``"x"`` (idle cycles) and ``"y"`` (backpressure).
    seed : int
        Seed of the pause generators.
    """
    config: GeluConfig
    x_beats: np.ndarray
    x_lens: list
    x_tags: list
    pause: dict = field(default_factory=lambda: {"x": 0.0, "y": 0.0})
    seed: int = 0

    @property
    def spec(self):
        return gelu_spec(self.config)

    @classmethod
    def from_frames(cls, config, frames, *, pause=None, seed=0):
        """Build a job from ``[(words, tag), ...]``; each ``words`` is a 1-D array of input
        words whose length is a positive multiple of ``lanes``."""
        spec = gelu_spec(config)
        beats, lens, tags = [], [], []
        for words, tag in frames:
            words = np.asarray(words, dtype=np.int64).ravel()
            if len(words) == 0 or len(words) % spec.lanes:
                raise ValueError(f"A frame needs a positive multiple of {spec.lanes} words, "
                                 f"not {len(words)}")
            packed = pack_words(words.reshape(-1, spec.lanes), spec.in_lane_bits)
            beats.append(packed)
            lens.append(len(packed))
            tags.append(tag)
        if not beats:
            raise ValueError("A job needs at least one frame")
        return cls(config=config, x_beats=np.concatenate(beats), x_lens=lens, x_tags=tags,
                   pause=dict(pause or {"x": 0.0, "y": 0.0}), seed=seed)

    def frames(self):
        """The input frames as arrays of beat bytes."""
        out, start = [], 0
        for n in self.x_lens:
            out.append(self.x_beats[start:start + n])
            start += n
        return out

    def save(self, path):
        meta = {"config": self.config.__dict__, "x_lens": self.x_lens, "x_tags": self.x_tags,
                "pause": self.pause, "seed": self.seed}
        np.savez(path, x_beats=self.x_beats,
                 meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))

    @classmethod
    def load(cls, path):
        with np.load(path) as f:
            meta = json.loads(f["meta"].tobytes().decode())
            return cls(config=GeluConfig(**meta["config"]), x_beats=f["x_beats"],
                       x_lens=meta["x_lens"], x_tags=meta["x_tags"], pause=meta["pause"],
                       seed=meta["seed"])
