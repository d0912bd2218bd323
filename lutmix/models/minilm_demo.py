"""``lutmix demo minilm``: sentence embeddings of all-MiniLM-L6-v2 on the generated units,
against the float64 model."""

__all__ = ["DEFAULT_PAIRS", "default_sentences", "pair_list", "kendall_tau", "evaluate",
           "Evaluation", "run_demo"]

import math
import sys
from dataclasses import dataclass

import numpy as np

from .minilm import forward_float, load_model, tokenize
from .minilm_flow import OPS, forward_quant
from .quantize import QUANTIZATIONS

# The default set: pairs that are paraphrases, related (same topic, different meaning) and
# unrelated. The ranking check asks whether the quantized model orders these pairs' similarities
# exactly as the float model does.
DEFAULT_PAIRS = (
    ("A man is playing a guitar.", "A person is playing the guitar.", "paraphrase"),
    ("The new movie is awesome.", "The new film is so great.", "paraphrase"),
    ("A man is playing a guitar.", "A woman is playing the violin.", "related"),
    ("The new movie is awesome.", "The theatre was full on opening night.", "related"),
    ("A man is playing a guitar.", "Stock prices fell sharply on Monday.", "unrelated"),
    ("The new movie is awesome.", "The cat sleeps on the windowsill.", "unrelated"),
)


def default_sentences():
    out = []
    for a, b, _ in DEFAULT_PAIRS:
        for s in (a, b):
            if s not in out:
                out.append(s)
    return out


def pair_list(sentences, pairs=None):
    """``[(i, j, kind)]``: the default pairs by index, or every pair of ``sentences``."""
    if pairs is None:
        return [(i, j, "") for i in range(len(sentences)) for j in range(i + 1, len(sentences))]
    return [(sentences.index(a), sentences.index(b), kind) for a, b, kind in pairs]


def kendall_tau(a, b):
    """Kendall's tau-a of two score lists (1: same order, -1: reversed)."""
    a, b = np.asarray(a), np.asarray(b)
    n = len(a)
    if n < 2:
        return 1.0
    i, j = np.triu_indices(n, 1)
    return float(np.sign(a[i] - a[j]) @ np.sign(b[i] - b[j])) / (n * (n - 1) / 2)


@dataclass
class Evaluation:
    """One quantization against float: per-sentence cosines, similarity matrices, pairs."""
    cosine: np.ndarray
    sim: np.ndarray
    pair_sims: np.ndarray
    ranking_preserved: bool
    tau: float

    @property
    def mean_cosine(self):
        return float(self.cosine.mean())


def evaluate(emb, ref, pairs):
    """Compare embeddings ``emb`` to the float ones ``ref`` (both unit rows)."""
    sim, ref_sim = emb @ emb.T, ref @ ref.T
    ps = np.array([sim[i, j] for i, j, _ in pairs])
    rs = np.array([ref_sim[i, j] for i, j, _ in pairs])
    same = bool(np.array_equal(np.argsort(-ps, kind="stable"), np.argsort(-rs, kind="stable")))
    return Evaluation(cosine=(emb * ref).sum(axis=1), sim=sim, pair_sims=ps,
                      ranking_preserved=same, tau=kendall_tau(ps, rs))


def _matrix_rows(a, b=None):
    rows = []
    for i in range(a.shape[0]):
        left = " ".join(f"{v:6.3f}" for v in a[i])
        right = "" if b is None else "   |  " + " ".join(f"{v:6.3f}" for v in b[i])
        rows.append(f"    s{i:<2d} {left}{right}")
    return rows


def _describe_units(config):
    g, s, u = config.gemm, config.softmax, config.gelu
    e = math.log2(s.in_scale)
    scale = f"2^{int(e)}" if e == int(e) else f"{s.in_scale:g}"
    return [
        f"  GEMM engine: {g.engine}, tile m{g.m} n{g.n} k{g.k}, {g.planes_per_cycle} plane(s) "
        f"per cycle, max_k {g.max_k}, {g.scale} scales; int8 activations per token",
        f"  softmax unit: {s.method}, int{s.input_bits} logits x {scale}, "
        f"{s.out_frac_bits} fractional bits, {s.lanes} lanes",
        f"  GELU unit: {u.resolved_method}, int{u.input_bits} in (x 2^-{u.in_frac_bits}) -> "
        f"int{u.out_bits} out (x 2^-{u.out_frac_bits}), {u.lanes} lanes",
        "  host float64: embeddings, LayerNorm, residual and bias adds, token scales, "
        "q k^T and P v, mean pooling, L2 norm",
    ]


def run_demo(sentences, quants, config, *, rtl=frozenset(), sim="verilator", workdir=None,
             cache_dir=None, progress=True, out=print):
    """Print the demo's report; returns the exit status (1 if an RTL op differed)."""
    from tqdm import tqdm
    pairs = None
    if not sentences:
        sentences, pairs = default_sentences(), DEFAULT_PAIRS
    sentences = list(sentences)
    pl = pair_list(sentences, pairs)
    model = load_model()
    batch = tokenize(sentences)
    out(f"lutmix demo: all-MiniLM-L6-v2 (6 layers, hidden 384, FFN 1536, 12 heads) on "
        f"lutmix's units, {len(sentences)} sentences, {batch.tokens} tokens")
    for line in _describe_units(config):
        out(line)
    for i, s in enumerate(sentences):
        out(f"  s{i}: {s}")
    ref = forward_float(model, batch)
    bar = tqdm(total=len(quants) * 6 * len(OPS), unit="op", desc="minilm", file=sys.stderr,
               disable=not progress, leave=False)
    results = {}
    try:
        for q in quants:
            bar.set_postfix_str(q)
            results[q] = forward_quant(model, batch, config, q, rtl=rtl, sim=sim,
                                       workdir=workdir, cache_dir=cache_dir,
                                       step=lambda rec: bar.update(1))
    finally:
        bar.close()
    ok = True
    ref_sim = ref @ ref.T
    for q in quants:
        r = results[q]
        ev = evaluate(r.embeddings, ref, pl)
        out("")
        out(f"== {q}: {QUANTIZATIONS[q].describe}, int8 activations per token")
        out("  cosine to float per sentence: "
            + ", ".join(f"s{i} {c:.4f}" for i, c in enumerate(ev.cosine))
            + f"; mean {ev.mean_cosine:.4f}")
        out(f"  similarity matrix, {q} | float:")
        for line in _matrix_rows(ev.sim, ref_sim):
            out(line)
        if pl:
            out("  pairs (quantized / float):")
            for (i, j, kind), v in zip(pl, ev.pair_sims):
                out(f"    s{i}-s{j} {kind:10s} {v:6.3f} / {ref_sim[i, j]:6.3f}")
            out(f"  ranking of {len(pl)} pairs preserved: "
                f"{'yes' if ev.ranking_preserved else 'no'} (Kendall tau {ev.tau:.3f})")
        sat = sum(rec.saturated for rec in r.records)
        if sat:
            out(f"  saturated unit inputs: {sat}")
        model_layers = ", ".join(f"L{i} {r.layer_cycles(i)}" for i in range(6))
        out(f"  cycles per layer (6 GEMMs + softmax + GELU; the units' modelled throughput for "
            f"golden ops, simulated for RTL ops): {model_layers}; total "
            f"{sum(r.layer_cycles(i) for i in range(6))}")
        for rec in r.rtl_records:
            ident = rec.bit_identical and rec.scoreboard_ok
            ok = ok and ident
            out(f"  RTL {rec.name} on {sim}: {rec.cycles} cycles simulated, shape "
                f"{rec.shape}, {'bit-identical to the golden model' if ident else 'MISMATCH'}")
    return 0 if ok else 1
