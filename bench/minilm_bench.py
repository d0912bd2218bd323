"""all-MiniLM-L6-v2 on lutmix's units: embedding quality per quantization, and where it is lost.

    python bench/minilm_bench.py

Prints Markdown tables (the README carries the latest ones), on the demo's default set
(:data:`lutmix.models.minilm_demo.DEFAULT_PAIRS`): for each quantization, the embeddings through the
whole flow (every GEMM, softmax and GELU on the golden models, bit-exact to the RTL) against
float64, and two float64 ablations that isolate the sources of error: the quantized weights
alone (float activations, exact softmax and GELU), and int8 per-token activations alone (float
weights). Deterministic: no calibration data, no randomness.
"""

__all__ = ["dequantized_model", "main"]

import dataclasses
import time

import numpy as np

from lutmix.config import PRESETS
from lutmix.models.minilm import forward_float, load_model, tokenize
from lutmix.models.minilm_demo import DEFAULT_PAIRS, default_sentences, evaluate, pair_list
from lutmix.models.minilm_flow import forward_quant, quantize_model
from lutmix.models.quantize import QUANTIZATIONS, quantize_tokens


def dequantized_model(model, quant):
    """The float model with every linear weight replaced by its quantized value."""
    qws = quantize_model(model, quant)
    layers = tuple(dataclasses.replace(layer, linear={
        name: (qws[i][name].dequantize(), b) for name, (_, b) in layer.linear.items()})
        for i, layer in enumerate(model.layers))
    return dataclasses.replace(model, layers=layers)


def _a8_forward(model, batch):
    """Float64 model whose linear layers see int8 per-token activations (float weights)."""
    layers = []
    for layer in model.layers:
        linear = {}
        for name, (w, b) in layer.linear.items():
            linear[name] = (_A8Weight(w), b)
        layers.append(dataclasses.replace(layer, linear=linear))
    return forward_float(dataclasses.replace(model, layers=tuple(layers)), batch)


class _A8Weight:
    """A weight whose transpose quantizes its left operand to int8 per token first."""

    def __init__(self, w):
        self.w = w

    @property
    def T(self):
        return _A8Right(self.w.T)


class _A8Right:
    __array_ufunc__ = None          # NumPy defers x @ self to __rmatmul__

    def __init__(self, wt):
        self.wt = wt

    def __rmatmul__(self, x):
        shape = x.shape
        q, s = quantize_tokens(x.reshape(-1, shape[-1]), 8)
        return ((q * s[:, None]) @ self.wt).reshape(*shape[:-1], self.wt.shape[1])


def main():
    model = load_model()
    sentences = default_sentences()
    batch = tokenize(sentences)
    pairs = pair_list(sentences, DEFAULT_PAIRS)
    ref = forward_float(model, batch)
    config = PRESETS["minilm"]
    print(f"{len(sentences)} sentences, {batch.tokens} tokens, {len(pairs)} pairs\n")
    print("| quantization | path | mean cosine | min cosine | pair ranking preserved | "
          "Kendall tau | paraphrase / related / unrelated (mean similarity) | seconds |")
    print("|---|---|---|---|---|---|---|---|")

    def row(name, path, emb, seconds):
        ev = evaluate(emb, ref, pairs)
        kinds = {}
        for (_, _, kind), v in zip(pairs, ev.pair_sims):
            kinds.setdefault(kind, []).append(v)
        sims = " / ".join(f"{np.mean(v):.3f}" for v in kinds.values())
        print(f"| {name} | {path} | {ev.mean_cosine:.4f} | {ev.cosine.min():.4f} | "
              f"{'yes' if ev.ranking_preserved else 'no'} | {ev.tau:.3f} | {sims} | "
              f"{seconds:.1f} |")

    row("float64", "reference", ref, 0.0)
    t = time.time()
    row("none (float weights)", "int8 per-token activations only", _a8_forward(model, batch),
        time.time() - t)
    cycles = {}
    for q in QUANTIZATIONS:
        t = time.time()
        r = forward_quant(model, batch, config, q)
        row(q, "whole flow on the units (golden)", r.embeddings, time.time() - t)
        cycles[q] = r
        t = time.time()
        row(q, "quantized weights only (float64)",
            forward_float(dequantized_model(model, q), batch), time.time() - t)
    g = config.gemm
    print(f"\nModelled cycles for the {batch.tokens} tokens (GEMM engine {g.engine} m{g.m} "
          f"n{g.n} k{g.k}, one unit of each kind, no overlap between ops):\n")
    print("| quantization | per layer: q, k, v, softmax, attn_out, ffn_up, gelu, ffn_down | "
          "per layer | 6 layers |")
    print("|---|---|---|---|")
    for q, r in cycles.items():
        ops = ", ".join(str(x.cycles) for x in r.records if x.layer == 0)
        print(f"| {q} | {ops} | {r.layer_cycles(0)} | "
              f"{sum(r.layer_cycles(i) for i in range(6))} |")


if __name__ == "__main__":
    main()
