"""A softmax job: the rows a bench streams into the unit, as beats, saved to one ``.npz`` file."""

__all__ = ["SoftmaxJob"]

import json
from dataclasses import dataclass, field

import numpy as np

from lutmix import softmax_words
from lutmix.config import SoftmaxConfig
from lutmix.softmax_math import softmax_spec


@dataclass
class SoftmaxJob:
    """Beats and bench settings for one simulation run.

    Attributes
    ----------
    config : SoftmaxConfig
    x_beats : ndarray of uint8, shape (beats, bytes)
        Every ``s_axis_x`` beat, row after row.
    x_user : ndarray of int64, shape (beats,)
        The mask bits (``tuser``) of each beat.
    lens : list of int
        Beats of each row.
    row_lens : list of int
        Elements of each row (the rest of its last beat is padding).
    tags : list of str
        A label for each row, used in reports (``"vector 3 (peaky, L=77)"``).
    pause : dict
        Pause probabilities for ``"x"`` (idle cycles) and ``"p"`` (backpressure).
    seed : int
        Seed of the pause generators.
    """
    config: SoftmaxConfig
    x_beats: np.ndarray
    x_user: np.ndarray
    lens: list
    row_lens: list
    tags: list
    pause: dict = field(default_factory=lambda: {"x": 0.0, "p": 0.0})
    seed: int = 0

    @property
    def spec(self):
        return softmax_spec(self.config)

    @classmethod
    def from_rows(cls, config, rows, *, pause=None, seed=0):
        """Build a job from ``[(x (length,), mask (length,) or None, tag), ...]``."""
        spec = softmax_spec(config)
        beats, users, lens, row_lens, tags = [], [], [], [], []
        for x, mask, tag in rows:
            b, u = softmax_words.pack_row(x, mask, spec)
            beats.append(b)
            users.append(u)
            lens.append(len(b))
            row_lens.append(int(np.size(x)))
            tags.append(tag)
        return cls(config=config, x_beats=np.concatenate(beats), x_user=np.concatenate(users),
                   lens=lens, row_lens=row_lens, tags=tags,
                   pause=dict(pause or {"x": 0.0, "p": 0.0}), seed=seed)

    def frames(self):
        """The rows as ``(beat bytes, tuser per beat)`` pairs."""
        out, start = [], 0
        for n in self.lens:
            out.append((self.x_beats[start:start + n], self.x_user[start:start + n]))
            start += n
        return out

    def save(self, path):
        meta = {"config": self.config.__dict__, "lens": self.lens, "row_lens": self.row_lens,
                "tags": self.tags, "pause": self.pause, "seed": self.seed}
        np.savez(path, x_beats=self.x_beats, x_user=self.x_user,
                 meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))

    @classmethod
    def load(cls, path):
        with np.load(path) as f:
            meta = json.loads(f["meta"].tobytes().decode())
            return cls(config=SoftmaxConfig(**meta["config"]), x_beats=f["x_beats"],
                       x_user=f["x_user"], lens=meta["lens"], row_lens=meta["row_lens"],
                       tags=meta["tags"], pause=meta["pause"], seed=meta["seed"])
