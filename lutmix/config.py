"""Configuration: one frozen dataclass per unit, validated when built, with presets and TOML/JSON.

A config file has one section per unit::

    preset = "w2a8"        # optional: start from a named preset, then override

    [gemm]
    engine = "lut"
    weight = "int2"
    activation = "int8"
    m = 2
    n = 64
    k = 4

    [softmax]
    input_bits = 8
    in_scale = 0.0625

Every bad value raises one line that names the key and the allowed values. Loading from a file
prefixes that line with the file and section, e.g. ``cfg.toml: [gemm] k must be an integer from
2 to 5, not 7``.
"""

__all__ = [
    "GemmConfig", "GeluConfig", "SoftmaxConfig", "SOFTMAX_METHODS", "Config", "PRESETS",
    "SECTIONS",
    "preset", "load_config", "parse_config", "read_text_file", "parse_text",
]

import dataclasses
import json
import math
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from .errors import ConfigError, show
from .formats import activation_format, weight_format
from .gelu_math import FUNCTIONS as GELU_FUNCTIONS
from .gelu_math import METHODS as GELU_METHODS
from .gelu_math import ROM_MAX_BITS, resolve_method

ENGINES = ("lut", "shiftadd", "mac")
GROUP_SIZES = (32, 64, 128, "channel", "tensor")
ZERO_POINTS = ("original", "scaled")
SCALES = ("fp16", "fp32")
WHOLE_K_BLOCK = 128     # the dequantization block of group_size "channel" and "tensor"
SHIFTADD_WEIGHTS = ("int2", "int3", "int4", "uint2", "uint3", "uint4", "int8")


def _check_int(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer from {lo} to {hi}, not {show(value)}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer from {lo} to {hi}, not {show(value)}")


def _check_choice(name, value, choices):
    """``value`` must be one of ``choices`` and of the same type (``128.0`` is not ``128``)."""
    if not any(type(value) is type(c) and value == c for c in choices):
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, not {show(value)}")


def _check_frac(name, value, bits_name, bits):
    """Fraction bits of a ``bits``-wide word: 0 to ``bits - 1``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer from 0 to {bits - 1}, not {show(value)}")
    if not 0 <= value < bits:
        raise ValueError(f"{name} must be an integer from 0 to {bits - 1} (less than "
                         f"{bits_name} = {bits}), not {show(value)}")


@dataclass(frozen=True)
class GemmConfig:
    """A mixed-precision GEMM engine.

    Parameters
    ----------
    engine : str
        ``"lut"`` (LUT Tensor Core: table lookups), ``"shiftadd"`` (MixPE: shifts and adds,
        no multipliers) or ``"mac"`` (the baseline: decoded weights times activations on
        ordinary multipliers).
    weight : str
        Weight format, see :data:`lutmix.formats.WEIGHT_FORMATS` (``shiftadd`` takes int2-4,
        uint2-4 and int8).
    activation : str
        Activation format: ``int8``, ``int16``, ``fp16`` or ``bf16`` (float activations need
        ``group_size``).
    m : int
        Activation rows (tokens) per tile, 1 to 64.
    n : int
        Output channels per tile, 1 to 1024.
    k : int
        Activations per group: the LUT group size for ``lut`` (2 to 5), the activations each
        processing element takes per step for ``shiftadd`` and ``mac`` (1 to 8).
    planes_per_cycle : int
        Weight bit-planes handled per cycle by ``lut`` and ``shiftadd``, from 1 (bit-serial)
        to the weight width. ``mac`` multiplies whole weights, one group per cycle.
    max_k : int
        Longest reduction (K) one weight tile holds, 1 to 65536. The drivers split a longer K
        into several tiles and add the partial results.
    group_size : int, str or None
        Per-group dequantization along K: 32, 64, 128, ``"channel"`` (one scale per output
        channel) or ``"tensor"`` (one scale in all). ``None`` (the default, and what leaving the
        key out of a TOML file means): no scales, exact integer results.
    zero_point : str
        For unsigned weights: ``"original"``, w = (q - z) * s with integer z, or ``"scaled"``,
        w = q * s - z with z in the scale format.
    scale : str
        Format of scales (and scaled zero points): ``"fp16"`` or ``"fp32"``.
    dequant_lanes : int
        Elements the dequantization unit converts per cycle; 0 picks the fewest that keep up
        with the array.
    """
    engine: str = "lut"
    weight: str = "int2"
    activation: str = "int8"
    m: int = 2
    n: int = 64
    k: int = 4
    planes_per_cycle: int = 1
    max_k: int = 2048
    group_size: int | str | None = None
    zero_point: str = "original"
    scale: str = "fp16"
    dequant_lanes: int = 0

    def __post_init__(self):
        _check_choice("engine", self.engine, ENGINES)
        wfmt = weight_format(self.weight)
        afmt = activation_format(self.activation)
        if self.engine == "shiftadd" and self.weight not in SHIFTADD_WEIGHTS:
            raise ValueError(
                f"weight must be one of {', '.join(map(repr, SHIFTADD_WEIGHTS))} for engine "
                f"'shiftadd', not {self.weight!r}")
        _check_int("m", self.m, 1, 64)
        _check_int("n", self.n, 1, 1024)
        if self.engine == "lut":
            _check_int("k", self.k, 2, 5)
        else:
            _check_int("k", self.k, 1, 8)
        _check_int("planes_per_cycle", self.planes_per_cycle, 1, wfmt.bits)
        _check_int("max_k", self.max_k, 1, 65536)
        if self.group_size is not None:
            _check_choice("group_size", self.group_size, GROUP_SIZES)
        _check_choice("zero_point", self.zero_point, ZERO_POINTS)
        _check_choice("scale", self.scale, SCALES)
        _check_int("dequant_lanes", self.dequant_lanes, 0, self.m * self.n)
        if afmt.is_float and self.group_size is None:
            raise ValueError(
                f"activation {self.activation!r} needs group_size (float activations are "
                f"dequantized per group): one of {', '.join(map(repr, GROUP_SIZES))}")
        if self.dequant and self.max_k < self.block:
            raise ValueError(f"max_k must be at least the dequantization block ({self.block}) "
                             f"when group_size is {self.group_size!r}, not {self.max_k!r}")

    @property
    def weight_format(self):
        return weight_format(self.weight)

    @property
    def activation_format(self):
        return activation_format(self.activation)

    @property
    def dequant(self):
        """Whether results are dequantized to fp32 per group."""
        return self.group_size is not None

    @property
    def block(self):
        """Activations per dequantization block: the group size, or 128 for ``"channel"`` and
        ``"tensor"`` (whose one scale repeats over the blocks). ``None`` without dequantization."""
        if self.group_size is None:
            return None
        return self.group_size if isinstance(self.group_size, int) else WHOLE_K_BLOCK

    @property
    def block_groups(self):
        """Groups of ``k`` per block (a block is padded with zeros to a multiple of ``k``)."""
        return math.ceil(self.block / self.k) if self.dequant else None

    @property
    def chunks(self):
        """Cycles per group: ``ceil(weight bits / planes_per_cycle)``, or 1 for ``mac``."""
        if self.engine == "mac":
            return 1
        return math.ceil(self.weight_format.bits / self.planes_per_cycle)

    @property
    def max_blocks(self):
        """Dequantization blocks one weight tile holds."""
        return self.max_k // self.block if self.dequant else None

    @property
    def max_groups(self):
        """Groups one weight tile holds: ``ceil(max_k / k)``, or whole blocks with dequant."""
        if self.dequant:
            return self.max_blocks * self.block_groups
        return math.ceil(self.max_k / self.k)

    def to_dict(self):
        """The keys a TOML file sets (``group_size`` is left out when it is ``None``)."""
        d = dataclasses.asdict(self)
        if d["group_size"] is None:
            del d["group_size"]
        return d


SOFTMAX_METHODS = ("exact", "ibert", "softermax")
SOFTMAX_MAX_LEN = 65536
SOFTMAX_SCALE_RANGE = (2.0 ** -24, 256.0)


@dataclass(frozen=True)
class SoftmaxConfig:
    """A streaming softmax unit for attention rows.

    Parameters
    ----------
    input_bits : int
        Width of the signed integer logits, 8 to 16.
    in_scale : float
        Real value of one logit step: the unit computes the softmax of ``x * in_scale``. Fixed
        when the design is generated, from 2**-24 to 256.
    out_frac_bits : int
        Fractional bits of the unsigned fixed-point probabilities, 8 or 16. Words are
        ``out_frac_bits + 1`` bits wide, so 1.0 is representable.
    lanes : int
        Elements per beat and per cycle, in each pass, 1 to 64.
    max_len : int
        Longest row, 1 to 65536. The row buffer holds ``ceil(max_len / lanes)`` beats plus the
        pipeline's depth; the sum register is sized for it.
    method : str
        ``"exact"`` (correctly rounded exp tables, within 0.6 LSB of float64), or the baselines
        ``"ibert"`` (I-BERT's integer exp) and ``"softermax"`` (base 2, piecewise linear).
    """
    input_bits: int = 8
    in_scale: float = 0.0625
    out_frac_bits: int = 8
    lanes: int = 4
    max_len: int = 4096
    method: str = "exact"

    def __post_init__(self):
        _check_int("input_bits", self.input_bits, 8, 16)
        s = self.in_scale
        lo, hi = SOFTMAX_SCALE_RANGE
        message = f"in_scale must be a number from 2**-24 to 256, not {show(s)}"
        if isinstance(s, bool) or not isinstance(s, (int, float)):
            raise TypeError(message)
        if not lo <= s <= hi:           # also refuses nan and inf, and never overflows
            raise ValueError(message)
        object.__setattr__(self, "in_scale", float(s))
        f = self.out_frac_bits
        if isinstance(f, bool) or not isinstance(f, int):
            raise TypeError(f"out_frac_bits must be one of 8, 16, not {show(f)}")
        if f not in (8, 16):
            raise ValueError(f"out_frac_bits must be one of 8, 16, not {show(f)}")
        _check_int("lanes", self.lanes, 1, 64)
        _check_int("max_len", self.max_len, 1, SOFTMAX_MAX_LEN)
        _check_choice("method", self.method, SOFTMAX_METHODS)
        if self.method == "ibert" and self.in_scale > 1.0:
            # I-BERT's c_int = floor(2.7921 / in_scale**2) vanishes from 1.67 on
            raise ValueError(f"in_scale must be at most 1 with method 'ibert', "
                             f"not {self.in_scale!r}")

    def to_dict(self):
        """The section's keys and values, as written to TOML or JSON."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class GeluConfig:
    """A pointwise GELU or SiLU unit; see :mod:`lutmix.gelu_math` for the arithmetic.

    Parameters
    ----------
    function : str
        ``"gelu"`` (the erf form) or ``"silu"``.
    input_bits : int
        Width of a signed input word, 8 to 16; its real value is ``x / 2**in_frac_bits``.
    in_frac_bits : int
        Fraction bits of the input, 0 to ``input_bits - 1``.
    out_bits : int
        Width of a signed output word, 8 to 16; results outside its range saturate.
    out_frac_bits : int
        Fraction bits of the output, 0 to ``out_bits - 1``.
    lanes : int
        Words per cycle (per stream beat), 1 to 64.
    method : str
        ``"rom"`` (correctly rounded table, inputs up to 10 bits), ``"pwq"`` (piecewise
        quadratic, within 1 LSB), ``"ibert"`` (I-BERT's i-GELU, a baseline) or ``"auto"``
        (``rom`` up to 10-bit inputs, else ``pwq``).
    """
    function: str = "gelu"
    input_bits: int = 8
    in_frac_bits: int = 4
    out_bits: int = 8
    out_frac_bits: int = 4
    lanes: int = 1
    method: str = "auto"

    def __post_init__(self):
        _check_choice("function", self.function, GELU_FUNCTIONS)
        _check_int("input_bits", self.input_bits, 8, 16)
        _check_frac("in_frac_bits", self.in_frac_bits, "input_bits", self.input_bits)
        _check_int("out_bits", self.out_bits, 8, 16)
        _check_frac("out_frac_bits", self.out_frac_bits, "out_bits", self.out_bits)
        _check_int("lanes", self.lanes, 1, 64)
        _check_choice("method", self.method, GELU_METHODS)
        if self.method == "rom" and self.input_bits > ROM_MAX_BITS:
            raise ValueError(f"method 'rom' needs input_bits <= {ROM_MAX_BITS} (one table entry "
                             f"per input), not {self.input_bits}; use 'pwq' or 'auto'")

    @property
    def resolved_method(self):
        """``method``, with ``auto`` replaced by what it picks."""
        return resolve_method(self)

    def to_dict(self):
        """The section's keys and values, as written to TOML or JSON."""
        return dataclasses.asdict(self)


SECTIONS = {"gemm": GemmConfig, "gelu": GeluConfig, "softmax": SoftmaxConfig}


@dataclass(frozen=True)
class Config:
    """A lutmix design: one or more unit sections.

    Parameters
    ----------
    gemm : GemmConfig or None
        The mpGEMM engine.
    gelu : GeluConfig or None
        The GELU / SiLU unit.
    softmax : SoftmaxConfig or None
        The softmax unit.
    """
    gemm: GemmConfig | None = None
    gelu: GeluConfig | None = None
    softmax: SoftmaxConfig | None = None

    def __post_init__(self):
        for name, cls in SECTIONS.items():
            value = getattr(self, name)
            if value is not None and not isinstance(value, cls):
                raise TypeError(f"{name} must be a {cls.__name__} or None, not {value!r}")
        if all(getattr(self, name) is None for name in SECTIONS):
            raise ValueError("A config needs at least one section: "
                             + ", ".join(f"[{name}]" for name in SECTIONS))

    def require(self, section, source="config"):
        """The named section, or ``ConfigError`` if the config lacks it."""
        value = getattr(self, section)
        if value is None:
            raise ConfigError(f"{source}: missing [{section}] section")
        return value

    def to_dict(self):
        return {name: getattr(self, name).to_dict()
                for name in SECTIONS if getattr(self, name) is not None}

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_toml(self):
        lines = []
        for name, values in self.to_dict().items():
            if lines:
                lines.append("")
            lines.append(f"[{name}]")
            for key, value in values.items():
                lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_json(cls, text, source="<json>"):
        return parse_config(parse_text(text, source, json_text=True), source)


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    raise TypeError(f"Cannot write {value!r} to TOML")


def parse_config(data, source="config"):
    """Build a :class:`Config` from a parsed TOML/JSON table; errors name ``source``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a config must be a table of sections, not {show(data)}")
    data = dict(data)
    base = None
    if "preset" in data:
        name = data.pop("preset")
        if not isinstance(name, str) or name not in PRESETS:
            raise ConfigError(
                f"{source}: preset must be one of {', '.join(map(repr, PRESETS))}, not "
                f"{show(name)}")
        base = PRESETS[name]
    sections = {}
    for name, values in data.items():
        if name not in SECTIONS:
            raise ConfigError(
                f"{source}: unknown section [{show(name, 30, quote=False)}]; allowed: "
                + ", ".join(f"[{n}]" for n in SECTIONS))
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{name}] must be a table of keys, not {show(values)}")
        cls = SECTIONS[name]
        allowed = [f.name for f in fields(cls)]
        for key in values:
            if key not in allowed:
                raise ConfigError(f"{source}: [{name}] unknown key {show(key, 30)}; allowed: "
                                  f"{', '.join(allowed)}")
        start = getattr(base, name) if base is not None else None
        try:
            sections[name] = dataclasses.replace(start, **values) if start else cls(**values)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{source}: [{name}] {e}") from None
    if base is not None:
        sections = {**{n: getattr(base, n) for n in SECTIONS}, **sections}
    try:
        return Config(**sections)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{source}: {e}") from None


MAX_FILE_BYTES = 1 << 20        # a config or sweep file is a few hundred bytes
MAX_DEPTH = 16                  # tables and arrays nested deeper than this are refused
_MAX_INT = 1 << 63


def read_text_file(path, what="config"):
    """The text of a small UTF-8 file; ``ConfigError`` naming ``path`` if it is a folder, not
    a regular file (a FIFO or device would block or never end), larger than 1 MiB, unreadable
    or not UTF-8."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a {what} file")
    if not path.exists():
        raise ConfigError(f"{path}: no such {what} file")
    if not path.is_file():
        raise ConfigError(f"{path}: is not a regular file (a {what} file is a TOML file)")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(f"{path}: {size:,} bytes is too large for a {what} file (at most "
                              f"{MAX_FILE_BYTES:,})")
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset "
                          f"{e.start})") from None


def parse_text(text, source, *, json_text=False):
    """Parse TOML (or JSON) text into plain data, then refuse what no key takes: numbers that
    are not finite (``inf``, ``nan``, ``1e999``), integers beyond 64 bits, and nesting deeper
    than :data:`MAX_DEPTH`. Every failure is one ``ConfigError`` line naming ``source``."""
    kind = "JSON" if json_text else "TOML"
    try:
        data = json.loads(text) if json_text else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{source}: not valid {kind}: {e}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid {kind}: nested too deeply") from None
    except ValueError:      # Python's limit on digits in an integer
        raise ConfigError(f"{source}: not valid {kind}: an integer has too many digits") \
            from None
    _check_values(data, source, ())
    return data


def _where(path):
    if not path:
        return "the file"
    keys = [str(k) for k in path]
    if len(keys) == 1:
        return keys[0]
    return f"[{'.'.join(keys[:-1])}] {keys[-1]}"


def _check_values(value, source, path, depth=0):
    if depth > MAX_DEPTH:
        raise ConfigError(f"{source}: {_where(path)} is nested more than {MAX_DEPTH} levels "
                          f"deep")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_values(item, source, (*path, key), depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_values(item, source, (*path[:-1], f"{path[-1] if path else ''}[{i}]"),
                          depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{source}: {_where(path)} = {value!r} is not a finite number (numbers "
                          f"must be finite; a float holds at most 1.8e308)")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _MAX_INT:
        raise ConfigError(f"{source}: {_where(path)} = {show(value)} is too large (integers "
                          f"must fit in 64 bits)")


def load_config(spec):
    """Load a config from a TOML or JSON file, or name a preset.

    ``spec`` is a path; if no such file exists and ``spec`` is a preset name, the preset is used.
    """
    path = Path(spec)
    if not os.path.lexists(path):
        if str(spec) in PRESETS:
            return PRESETS[str(spec)]
        raise ConfigError(
            f"{spec}: no such config file (or preset: {', '.join(PRESETS)})")
    text = read_text_file(path, "config")
    data = parse_text(text, str(spec), json_text=path.suffix == ".json")
    return parse_config(data, str(spec))


def _gemm(**kwargs):
    return Config(gemm=GemmConfig(**kwargs))


def _softmax(**kwargs):
    return Config(softmax=SoftmaxConfig(**kwargs))


PRESETS = {
    # The paper's elongated tile, M2 N64 K4, bit-serial.
    "w2a8": _gemm(weight="int2"),
    "w1a8": _gemm(weight="int1"),
    "bitnet": _gemm(weight="ternary"),
    "w3a8": _gemm(weight="int3"),
    "w4a8": _gemm(weight="int4"),
    "u4a8": _gemm(weight="uint4"),
    "w8a8": _gemm(weight="int8"),
    "w2a16": _gemm(weight="int2", activation="int16"),
    "w4a16": _gemm(weight="int4", activation="int16"),
    # All bit-planes of a weight in one cycle: twice the throughput of w2a8, twice the lookups.
    "w2a8-parallel": _gemm(weight="int2", planes_per_cycle=2),
    # Small enough for an iCE40 UP5K.
    "ice40-w2a8": _gemm(weight="int2", m=1, n=8, k=4, max_k=512),
    # A few seconds to build and simulate: for trying things out.
    "tiny": _gemm(weight="int2", m=1, n=4, k=2, max_k=64),
    # The other engines at W4A8: MixPE-style shift-add, and the multiplier baseline.
    "w4a8-shiftadd": _gemm(engine="shiftadd", weight="int4"),
    "w4a8-mac": _gemm(engine="mac", weight="int4"),
    # GPTQ-style uint4 with zero points in groups of 128 (fp32 output), per engine.
    "u4g128-a8": _gemm(weight="uint4", group_size=128),
    "u4g128-fp16": _gemm(weight="uint4", activation="fp16", group_size=128),
    "u4g128-fp16-shiftadd": _gemm(engine="shiftadd", weight="uint4", activation="fp16",
                                  group_size=128),
    "u4g128-fp16-mac": _gemm(engine="mac", weight="uint4", activation="fp16", group_size=128),
    # Softmax: int8 logits in steps of 1/16 (range +-8), 8-bit probabilities, 4 lanes.
    "softmax-int8": _softmax(),
    # int16 logits in steps of 2**-10 (range +-32), 16-bit probabilities.
    "softmax-int16": _softmax(input_bits=16, in_scale=2.0 ** -10, out_frac_bits=16),
    # The baselines, on softmax-int8's numbers.
    "softmax-ibert": _softmax(method="ibert"),
    "softmax-softermax": _softmax(method="softermax"),
    # A few seconds to build and simulate.
    "softmax-tiny": _softmax(lanes=2, max_len=64),
}


def _gelu(**kwargs):
    return Config(gelu=GeluConfig(**kwargs))


PRESETS.update({
    # int8 in and out at scale 1/16 (range +-8): the setting of findings.md's GELU table
    "gelu8": _gelu(function="gelu", lanes=4),
    "silu8": _gelu(function="silu", lanes=4),
    "gelu8-ibert": _gelu(function="gelu", lanes=4, method="ibert"),
    # int16 in and out at scale 1/4096 (range +-8): piecewise quadratic
    "gelu16": _gelu(function="gelu", input_bits=16, in_frac_bits=12, out_bits=16,
                    out_frac_bits=12, lanes=4),
    "silu16": _gelu(function="silu", input_bits=16, in_frac_bits=12, out_bits=16,
                    out_frac_bits=12, lanes=4),
})


# all-MiniLM-L6-v2 end to end (`lutmix demo minilm`): the LUT engine with per-group
# dequantization (the demo swaps in each quantization's weight format and group size), attention
# logits as int16 at 2**-9 (+-64: layer 0's scores reach +-41), the FFN activation as int16 at
# 2**-10 (+-32: it reaches +-25) through the piecewise-quadratic GELU.
PRESETS["minilm"] = Config(
    gemm=GemmConfig(weight="uint4", activation="int8", group_size=128, zero_point="original",
                    scale="fp16"),
    softmax=SoftmaxConfig(input_bits=16, in_scale=2.0 ** -9, out_frac_bits=16, lanes=4,
                          max_len=256),
    gelu=GeluConfig(function="gelu", input_bits=16, in_frac_bits=10, out_bits=16,
                    out_frac_bits=10, lanes=4),
)


def preset(name):
    """The named preset; ``ValueError`` listing the names."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(map(repr, PRESETS))}, not {name!r}")
    return PRESETS[name]
