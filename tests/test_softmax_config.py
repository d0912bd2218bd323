"""The [softmax] config section: defaults, one-line errors, presets, TOML/JSON round trip."""
import pytest

from lutmix.config import PRESETS, Config, SoftmaxConfig, load_config
from lutmix.errors import ConfigError


def test_defaults():
    c = SoftmaxConfig()
    assert (c.input_bits, c.in_scale, c.out_frac_bits, c.lanes, c.max_len, c.method) == \
        (8, 0.0625, 8, 4, 4096, "exact")


@pytest.mark.parametrize("kwargs,exc,message", [
    ({"lanes": 0}, ValueError, "lanes must be an integer from 1 to 64, not 0"),
    ({"lanes": 2.0}, TypeError, "lanes must be an integer from 1 to 64, not 2.0"),
    ({"max_len": 0}, ValueError, "max_len must be an integer from 1 to 65536, not 0"),
    ({"max_len": 70000}, ValueError, "max_len must be an integer from 1 to 65536, not 70000"),
    ({"in_scale": 0}, ValueError, "in_scale must be a number from 2**-24 to 256, not 0"),
    ({"in_scale": -0.5}, ValueError, "in_scale must be a number from 2**-24 to 256, not -0.5"),
    ({"in_scale": float("nan")}, ValueError,
     "in_scale must be a number from 2**-24 to 256, not nan"),
    ({"in_scale": "0.1"}, TypeError, "in_scale must be a number from 2**-24 to 256, not '0.1'"),
    ({"in_scale": True}, TypeError, "in_scale must be a number from 2**-24 to 256, not True"),
    ({"input_bits": 7}, ValueError, "input_bits must be an integer from 8 to 16, not 7"),
    ({"input_bits": 17}, ValueError, "input_bits must be an integer from 8 to 16, not 17"),
    ({"out_frac_bits": 12}, ValueError, "out_frac_bits must be one of 8, 16, not 12"),
    ({"out_frac_bits": "8"}, TypeError, "out_frac_bits must be one of 8, 16, not '8'"),
    ({"method": "ibert", "in_scale": 2.0}, ValueError,
     "in_scale must be at most 1 with method 'ibert', not 2.0"),
    ({"method": "exp"}, ValueError,
     "method must be one of 'exact', 'ibert', 'softermax', not 'exp'"),
])
def test_bad_values_name_the_key_and_allowed_values(kwargs, exc, message):
    with pytest.raises(exc) as info:
        SoftmaxConfig(**kwargs)
    assert str(info.value) == message


def test_integer_scale_is_a_float():
    c = SoftmaxConfig(in_scale=1)
    assert c.in_scale == 1.0 and isinstance(c.in_scale, float)
    assert c == SoftmaxConfig(in_scale=1.0)


@pytest.mark.parametrize("text,message", [
    ('[softmax]\nlanes = 0\n', "cfg.toml: [softmax] lanes must be an integer from 1 to 64, "
                               "not 0"),
    ('[softmax]\nin_scale = -1.0\n', "cfg.toml: [softmax] in_scale must be a number from "
                                     "2**-24 to 256, not -1.0"),
    ('[softmax]\nmax_len = 100000\n', "cfg.toml: [softmax] max_len must be an integer from 1 "
                                      "to 65536, not 100000"),
    ('[softmax]\nlen = 3\n', "cfg.toml: [softmax] unknown key 'len'; allowed: input_bits, "
                             "in_scale, out_frac_bits, lanes, max_len, method"),
])
def test_bad_files_give_one_line(tmp_path, text, message):
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{tmp_path}/{message}"


def test_toml_with_both_sections(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text('[gemm]\nweight = "int4"\n\n[softmax]\ninput_bits = 12\nin_scale = 0.01\n'
                    'out_frac_bits = 16\nlanes = 8\nmax_len = 1024\nmethod = "softermax"\n')
    config = load_config(path)
    assert config.softmax == SoftmaxConfig(input_bits=12, in_scale=0.01, out_frac_bits=16,
                                           lanes=8, max_len=1024, method="softermax")
    assert config.gemm.weight == "int4"
    again = tmp_path / "again.toml"
    again.write_text(config.to_toml())
    assert load_config(again) == config
    js = tmp_path / "again.json"
    js.write_text(config.to_json())
    assert load_config(js) == config


def test_presets():
    names = [n for n, c in PRESETS.items() if c.softmax is not None]
    assert names == ["softmax-int8", "softmax-int16", "softmax-ibert", "softmax-softermax",
                     "softmax-tiny", "minilm"]
    assert PRESETS["softmax-int16"].softmax.input_bits == 16
    assert {PRESETS[n].softmax.method for n in names} == {"exact", "ibert", "softermax"}
    with pytest.raises(TypeError, match="^softmax must be a SoftmaxConfig or None"):
        Config(softmax=3)
