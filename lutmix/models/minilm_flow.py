"""all-MiniLM-L6-v2 with its matrix multiplies, softmaxes and GELUs on lutmix's units.

Per encoder layer, for the tokens the attention mask keeps:

* the six linear layers (query, key, value, attn_out, ffn_up, ffn_down) run on the GEMM engine:
  the activations are quantized to int8 per token, the weights per group
  (:mod:`lutmix.models.quantize`), the engine returns float32 with per-group dequantization
  (:func:`lutmix.golden.gemm.gemm`), and the host multiplies by the token scale and adds the
  bias;
* the attention scores ``q k^T / sqrt(32)`` are rounded to the softmax unit's logits
  (``round(score / in_scale)``, saturated to ``input_bits``), padded keys masked, and the
  unit's probability words (:func:`lutmix.golden.softmax.softmax_words`) weight the values;
* the FFN activation is rounded to the GELU unit's input words
  (``round(h * 2**in_frac_bits)``, saturated) and its output words
  (:func:`lutmix.golden.gelu.gelu`) go on to ffn_down.

Host code in float64: the embeddings and every LayerNorm, the residual adds, the bias adds and
the token scales, the two activation-by-activation products of attention (``q k^T`` and
``P v``, which are not weight GEMMs), mean pooling and L2 normalization.

Every unit runs on its golden model, bit-exact to the RTL. Ops named in ``rtl`` (like
``"0.query"``, ``"2.softmax"``) also run on the RTL in simulation; their results must be
bit-identical to the golden model's, and the RTL's result is the one used downstream.
"""

__all__ = ["OPS", "GEMM_OPS", "OpRecord", "FlowResult", "unit_configs", "quantize_model",
           "forward_quant", "parse_rtl_ops", "op_cycles_model"]

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..gelu_math import gelu_spec
from ..gemm_spec import gemm_spec
from ..softmax_math import softmax_spec
from .minilm import (
    LINEARS,
    attention_heads,
    embed,
    l2_normalize,
    layer_norm,
    mean_pool,
    merge_heads,
)
from .quantize import QUANTIZATIONS, quantize_tokens, quantize_weight

GEMM_OPS = tuple(LINEARS)
OPS = ("query", "key", "value", "softmax", "attn_out", "ffn_up", "gelu", "ffn_down")
LAYERS = 6


@dataclass
class OpRecord:
    """One unit invocation: ``layer``, ``op``, the work shape, the cycles (modelled for the
    golden path, simulated for RTL), and for RTL ops whether the result was bit-identical."""
    layer: int
    op: str
    shape: tuple
    cycles: int
    rtl: bool = False
    bit_identical: bool | None = None
    scoreboard_ok: bool | None = None
    saturated: int = 0

    @property
    def name(self):
        return f"{self.layer}.{self.op}"


@dataclass
class FlowResult:
    """Embeddings (B, hidden) of one quantization, and every op's record."""
    quant: str
    embeddings: np.ndarray
    records: list = field(default_factory=list)

    def layer_cycles(self, layer):
        return sum(r.cycles for r in self.records if r.layer == layer)

    @property
    def rtl_records(self):
        return [r for r in self.records if r.rtl]


def unit_configs(config, quant):
    """``(GemmConfig, SoftmaxConfig, GeluConfig)`` for ``quant``: the config's ``[gemm]``
    section with the quantization's weight format and group size, int8 activations."""
    for section in ("gemm", "softmax", "gelu"):
        if getattr(config, section) is None:
            raise InputError(f"the MiniLM flow needs [gemm], [softmax] and [gelu] sections; "
                             f"[{section}] is missing")
    qz = QUANTIZATIONS[quant]
    gemm = dataclasses.replace(config.gemm, weight=qz.weight, group_size=qz.group_size,
                               activation="int8")
    if config.gelu.function != "gelu":
        raise InputError(f"[gelu] function must be 'gelu' for MiniLM, not "
                         f"{config.gelu.function!r}")
    return gemm, config.softmax, config.gelu


_QCACHE = {}


def quantize_model(model, quant, scale="fp16"):
    """Every linear layer's :class:`~lutmix.models.quantize.QuantWeight`: a tuple of 6 dicts."""
    key = (id(model), quant, scale)
    if key not in _QCACHE:
        _QCACHE[key] = tuple({name: quantize_weight(w, quant, scale)
                              for name, (w, _) in layer.linear.items()}
                             for layer in model.layers)
    return _QCACHE[key]


def parse_rtl_ops(text):
    """``"0.query,2.softmax"`` -> ``{(0, "query"), (2, "softmax")}``; ``"all"`` is every op."""
    if text is None:
        return frozenset()
    if text.strip() == "all":
        return frozenset((i, op) for i in range(LAYERS) for op in OPS)
    out = set()
    for item in text.split(","):
        layer, _, op = item.strip().partition(".")
        if not (layer.isdigit() and int(layer) < LAYERS and op in OPS):
            raise InputError(f"--rtl: {item.strip()!r} is not an op; use LAYER.OP with LAYER 0 "
                             f"to {LAYERS - 1} and OP one of {', '.join(OPS)} (or 'all')")
        out.add((int(layer), op))
    return frozenset(out)


def op_cycles_model(kind, spec, shape):
    """Cycles the unit needs for ``shape``, from its documented throughput and latency
    (the golden path has no clock): GEMM ``ideal_cycles(M, N, K)``; softmax ``R`` rows of
    ``b = ceil(L / lanes)`` beats, passes overlapping: ``R*b + b + latency - 1``; GELU
    ``ceil(words / lanes) + latency``."""
    if kind == "gemm":
        return spec.ideal_cycles(*shape)
    if kind == "softmax":
        R, L = shape
        b = math.ceil(L / spec.lanes)
        return R * b + b + spec.latency - 1
    return math.ceil(math.prod(shape) / spec.lanes) + spec.latency


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "f":
        return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))
    return np.array_equal(a, b)


class _Units:
    """The three units of one quantization, golden and (for ops in ``rtl``) RTL."""

    def __init__(self, config, quant, *, rtl, sim, workdir, cache_dir, step):
        self.gemm_cfg, self.softmax_cfg, self.gelu_cfg = unit_configs(config, quant)
        self.gemm_spec = gemm_spec(self.gemm_cfg)
        self.softmax_spec = softmax_spec(self.softmax_cfg)
        self.gelu_spec = gelu_spec(self.gelu_cfg)
        self.quant, self.rtl, self.sim, self.cache_dir = quant, rtl, sim, cache_dir
        self.workdir = Path(workdir) if workdir is not None else None
        self.step = step
        self.records = []

    def _dir(self, layer, op):
        return None if self.workdir is None else self.workdir / self.quant / f"{layer}.{op}"

    def _record(self, layer, op, kind, spec, shape, run=None, same=None, saturated=0):
        if run is None:
            rec = OpRecord(layer, op, shape, op_cycles_model(kind, spec, shape),
                           saturated=saturated)
        else:
            rec = OpRecord(layer, op, shape, run.cycles, rtl=True, bit_identical=same,
                           scoreboard_ok=run.golden_ok, saturated=saturated)
        self.records.append(rec)
        if self.step is not None:
            self.step(rec)

    def linear(self, layer, op, x, qw, bias):
        """``x (M, K)`` float64 -> ``x @ W.T + b`` through the engine (float64 out)."""
        from ..golden.gemm import gemm
        xq, s = quantize_tokens(x, 8)
        y = gemm(xq, qw.q, self.gemm_spec, qw.scales, qw.zeros)
        shape = (x.shape[0], qw.q.shape[0], x.shape[1])
        run = same = None
        if (layer, op) in self.rtl:
            from ..sim.gemm_run import run_gemm
            run = run_gemm(self.gemm_cfg, qw.q, xq, qw.scales, qw.zeros, sim=self.sim,
                           workdir=self._dir(layer, op), cache_dir=self.cache_dir)
            same = _same_bits(run.y, y)
            y = run.y
        self._record(layer, op, "gemm", self.gemm_spec, shape, run, same)
        return y.astype(np.float64) * s[:, None] + bias

    def softmax(self, layer, scores, key_mask):
        """``scores (R, L)`` float64, ``key_mask (R, L)`` bool (True keeps) -> probabilities."""
        from ..golden.softmax import softmax_words
        cfg, spec = self.softmax_cfg, self.softmax_spec
        lo, hi = -(1 << (cfg.input_bits - 1)), (1 << (cfg.input_bits - 1)) - 1
        raw = np.round(scores / cfg.in_scale)
        saturated = int((((raw < lo) | (raw > hi)) & key_mask).sum())
        x = np.clip(raw, lo, hi).astype(np.int64)
        masked = ~key_mask
        words = softmax_words(x, masked, spec=spec)
        run = same = None
        if (layer, "softmax") in self.rtl:
            from ..sim.softmax_run import run_softmax
            run = run_softmax(cfg, x, masked, sim=self.sim, workdir=self._dir(layer, "softmax"),
                              cache_dir=self.cache_dir)
            same = _same_bits(run.words, words)
            words = run.words
        self._record(layer, "softmax", "softmax", spec, x.shape, run, same, saturated)
        return words / float(spec.one)

    def gelu(self, layer, h):
        """``h`` float64 -> GELU through the unit's words (float64 out)."""
        from ..golden.gelu import gelu
        spec = self.gelu_spec
        raw = np.round(np.ldexp(h, spec.in_frac))
        saturated = int(((raw < spec.x_min) | (raw > spec.x_max)).sum())
        x = np.clip(raw, spec.x_min, spec.x_max).astype(np.int64)
        words = gelu(x, spec)
        run = same = None
        if (layer, "gelu") in self.rtl:
            from ..sim.gelu_run import run_gelu
            run = run_gelu(self.gelu_cfg, x, sim=self.sim, workdir=self._dir(layer, "gelu"),
                           cache_dir=self.cache_dir)
            same = _same_bits(run.words, words)
            words = run.words
        self._record(layer, "gelu", "gelu", spec, x.shape, run, same, saturated)
        return np.ldexp(words.astype(np.float64), -spec.out_frac)


def forward_quant(model, batch, config, quant, *, rtl=frozenset(), layers=LAYERS,
                  sim="verilator", workdir=None, cache_dir=None, step=None):
    """Sentence embeddings with every GEMM, softmax and GELU on the units.

    Parameters
    ----------
    model : MiniLM
    batch : Batch
    config : Config
        With ``[gemm]`` (engine and tile; the weight format and group size come from
        ``quant``), ``[softmax]`` and ``[gelu]`` sections.
    quant : str
        A key of :data:`lutmix.models.quantize.QUANTIZATIONS`.
    rtl : set of (layer, op)
        Ops that also run on the RTL in simulation (see :func:`parse_rtl_ops`).
    layers : int
        Encoder layers to run (6; fewer for tests, which then pool the partial output).
    step : callable or None
        Called with each :class:`OpRecord` as it completes (the progress bar).

    Returns
    -------
    FlowResult
    """
    units = _Units(config, quant, rtl=rtl, sim=sim, workdir=workdir, cache_dir=cache_dir,
                   step=step)
    qweights = quantize_model(model, quant, units.gemm_cfg.scale)
    keep = batch.mask.astype(bool)                       # (B, T)
    B, T = keep.shape
    H, D = model.heads, model.head_dim
    x = embed(model, batch)[keep]                         # (tokens, hidden)
    rows = np.broadcast_to(keep[:, None, :, None], (B, H, T, T))[..., 0]   # real queries
    key_mask = np.broadcast_to(keep[:, None, None, :], (B, H, T, T))[rows]
    for i, layer in enumerate(model.layers[:layers]):
        qw, lin = qweights[i], layer.linear

        def spread(a):
            full = np.zeros((B, T, a.shape[1]))
            full[keep] = a
            return attention_heads(full, H)

        q = spread(units.linear(i, "query", x, qw["query"], lin["query"][1]))
        k = spread(units.linear(i, "key", x, qw["key"], lin["key"][1]))
        v = spread(units.linear(i, "value", x, qw["value"], lin["value"][1]))
        scores = (q @ k.transpose(0, 1, 3, 2)) / math.sqrt(D)
        p = np.zeros((B, H, T, T))
        p[rows] = units.softmax(i, scores[rows], key_mask)
        ctx = merge_heads(p @ v)[keep]
        a = units.linear(i, "attn_out", ctx, qw["attn_out"], lin["attn_out"][1])
        x = layer_norm(x + a, *layer.ln_attn)
        h = units.gelu(i, units.linear(i, "ffn_up", x, qw["ffn_up"], lin["ffn_up"][1]))
        f = units.linear(i, "ffn_down", h, qw["ffn_down"], lin["ffn_down"][1])
        x = layer_norm(x + f, *layer.ln_ffn)
    full = np.zeros((B, T, x.shape[1]))
    full[keep] = x
    emb = l2_normalize(mean_pool(full, batch.mask))
    return FlowResult(quant=quant, embeddings=emb, records=units.records)
