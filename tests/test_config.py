import json

import pytest

from lutmix.config import PRESETS, Config, GemmConfig, load_config, parse_config, preset
from lutmix.errors import ConfigError


def test_defaults_follow_the_papers_elongated_tile():
    c = GemmConfig()
    assert (c.engine, c.m, c.n, c.k) == ("lut", 2, 64, 4)


@pytest.mark.parametrize("kwargs,exc,message", [
    ({"k": 7}, ValueError, "k must be an integer from 2 to 5, not 7"),
    ({"k": 1}, ValueError, "k must be an integer from 2 to 5, not 1"),
    ({"k": "4"}, TypeError, "k must be an integer from 2 to 5, not '4'"),
    ({"k": True}, TypeError, "k must be an integer from 2 to 5, not True"),
    ({"n": 0}, ValueError, "n must be an integer from 1 to 1024, not 0"),
    ({"m": 65}, ValueError, "m must be an integer from 1 to 64, not 65"),
    ({"weight": "int5"}, ValueError,
     "weight must be one of 'int1', 'ternary', 'int2', 'int3', 'int4', 'uint2', 'uint3', "
     "'uint4', 'int8', not 'int5'"),
    ({"activation": "fp32"}, ValueError,
     "activation must be one of 'int8', 'int16', 'fp16', 'bf16', not 'fp32'"),
    ({"engine": "systolic"}, ValueError,
     "engine must be one of 'lut', 'shiftadd', 'mac', not 'systolic'"),
    ({"engine": "shiftadd", "weight": "int1"}, ValueError,
     "weight must be one of 'int2', 'int3', 'int4', 'uint2', 'uint3', 'uint4', 'int8' for "
     "engine 'shiftadd', not 'int1'"),
    ({"engine": "mac", "k": 9}, ValueError, "k must be an integer from 1 to 8, not 9"),
    ({"group_size": 48}, ValueError,
     "group_size must be one of 32, 64, 128, 'channel', 'tensor', not 48"),
    ({"group_size": True}, ValueError,
     "group_size must be one of 32, 64, 128, 'channel', 'tensor', not True"),
    ({"zero_point": "shifted"}, ValueError,
     "zero_point must be one of 'original', 'scaled', not 'shifted'"),
    ({"scale": "bf16"}, ValueError, "scale must be one of 'fp16', 'fp32', not 'bf16'"),
    ({"activation": "fp16"}, ValueError,
     "activation 'fp16' needs group_size (float activations are dequantized per group): one "
     "of 32, 64, 128, 'channel', 'tensor'"),
    ({"group_size": "channel", "max_k": 64}, ValueError,
     "max_k must be at least the dequantization block (128) when group_size is 'channel', "
     "not 64"),
    ({"m": 2, "n": 4, "dequant_lanes": 9}, ValueError,
     "dequant_lanes must be an integer from 0 to 8, not 9"),
    ({"weight": "int2", "planes_per_cycle": 3}, ValueError,
     "planes_per_cycle must be an integer from 1 to 2, not 3"),
    ({"max_k": 0}, ValueError, "max_k must be an integer from 1 to 65536, not 0"),
])
def test_bad_values_name_the_key_and_allowed_values(kwargs, exc, message):
    with pytest.raises(exc) as info:
        GemmConfig(**kwargs)
    assert str(info.value) == message


def test_dequant_geometry():
    c = GemmConfig(k=3, group_size=32, max_k=100)
    assert (c.block, c.block_groups, c.max_blocks, c.max_groups) == (32, 11, 3, 33)
    c = GemmConfig(group_size="tensor", activation="bf16")
    assert (c.block, c.max_blocks) == (128, 16)
    assert GemmConfig(engine="mac", weight="int4").chunks == 1
    assert GemmConfig(weight="int4", planes_per_cycle=3).chunks == 2


def test_group_size_round_trips_through_toml(tmp_path):
    for group in (None, 64, "channel"):
        config = Config(gemm=GemmConfig(weight="uint4", group_size=group, zero_point="scaled"))
        path = write(tmp_path, config.to_toml())
        assert load_config(path) == config
        assert ("group_size" in path.read_text()) == (group is not None)


def test_config_is_frozen():
    with pytest.raises(Exception):
        GemmConfig().k = 3


def test_config_needs_a_section():
    with pytest.raises(ValueError,
                       match=r"^A config needs at least one section: \[gemm\], \[gelu\]$"):
        Config()


def write(tmp_path, text, name="cfg.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_toml(tmp_path):
    path = write(tmp_path, '[gemm]\nengine = "lut"\nweight = "uint3"\nactivation = "int16"\n'
                           'm = 4\nn = 16\nk = 5\nplanes_per_cycle = 3\nmax_k = 300\n')
    c = load_config(path).gemm
    assert c == GemmConfig(weight="uint3", activation="int16", m=4, n=16, k=5,
                           planes_per_cycle=3, max_k=300)


@pytest.mark.parametrize("text,message", [
    ('[gemm]\nk = 7\n', "cfg.toml: [gemm] k must be an integer from 2 to 5, not 7"),
    ('[gemm]\nn = 0\n', "cfg.toml: [gemm] n must be an integer from 1 to 1024, not 0"),
    ('[gemm]\nweight = "int9"\n', "cfg.toml: [gemm] weight must be one of 'int1', 'ternary', "
     "'int2', 'int3', 'int4', 'uint2', 'uint3', 'uint4', 'int8', not 'int9'"),
    ('[gemm]\nnn = 3\n', "cfg.toml: [gemm] unknown key 'nn'; allowed: engine, weight, "
     "activation, m, n, k, planes_per_cycle, max_k, group_size, zero_point, scale, "
     "dequant_lanes"),
    ('[gem]\nn = 3\n', "cfg.toml: unknown section [gem]; allowed: [gemm], [gelu]"),
    ('', "cfg.toml: A config needs at least one section: [gemm], [gelu]"),
    ('[gemm\n', None),
    ('gemm = 3\n', "cfg.toml: [gemm] must be a table of keys, not 3"),
    ('preset = "nope"\n', None),
])
def test_bad_files_give_one_line(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{path}:")
    if message is not None:
        assert text == f"{tmp_path}/{message}"


def test_missing_file_and_missing_section(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.toml: no such config file \(or preset: w2a8,"):
        load_config(tmp_path / "nope.toml")
    config = load_config("w2a8")
    assert config.require("gemm") is config.gemm


def test_presets_validate_and_can_be_overridden(tmp_path):
    assert set(PRESETS) >= {"w2a8", "w1a8", "bitnet", "w4a8", "u4a8", "w8a8", "w2a16"}
    path = write(tmp_path, 'preset = "w4a8"\n[gemm]\nn = 32\n')
    assert load_config(path).gemm == GemmConfig(weight="int4", n=32)
    with pytest.raises(ValueError, match="^preset must be one of 'w2a8'"):
        preset("w9a9")


@pytest.mark.parametrize("name", list(PRESETS))
def test_toml_and_json_round_trip(tmp_path, name):
    config = PRESETS[name]
    toml = write(tmp_path, config.to_toml())
    assert load_config(toml) == config
    js = write(tmp_path, config.to_json(), "cfg.json")
    assert load_config(js) == config
    assert parse_config(json.loads(config.to_json())) == config
