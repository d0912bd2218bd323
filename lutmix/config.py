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

Every bad value raises one line that names the key and the allowed values. Loading from a file
prefixes that line with the file and section, e.g. ``cfg.toml: [gemm] k must be an integer from
2 to 5, not 7``.
"""

__all__ = [
    "GemmConfig", "GeluConfig", "Config", "PRESETS", "SECTIONS",
    "preset", "load_config", "parse_config",
]

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from .errors import ConfigError
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
        raise TypeError(f"{name} must be an integer from {lo} to {hi}, not {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer from {lo} to {hi}, not {value!r}")


def _check_choice(name, value, choices):
    if isinstance(value, bool) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, not {value!r}")


def _check_frac(name, value, bits_name, bits):
    """Fraction bits of a ``bits``-wide word: 0 to ``bits - 1``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer from 0 to {bits - 1}, not {value!r}")
    if not 0 <= value < bits:
        raise ValueError(f"{name} must be an integer from 0 to {bits - 1} (less than "
                         f"{bits_name} = {bits}), not {value!r}")


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


SECTIONS = {"gemm": GemmConfig, "gelu": GeluConfig}


@dataclass(frozen=True)
class Config:
    """A lutmix design: one or more unit sections.

    Parameters
    ----------
    gemm : GemmConfig or None
        The mpGEMM engine.
    gelu : GeluConfig or None
        The GELU / SiLU unit.
    """
    gemm: GemmConfig | None = None
    gelu: GeluConfig | None = None

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
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{source}: not valid JSON: {e}") from None
        return parse_config(data, source)


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
        raise ConfigError(f"{source}: a config must be a table of sections, not {data!r}")
    data = dict(data)
    base = None
    if "preset" in data:
        name = data.pop("preset")
        if not isinstance(name, str) or name not in PRESETS:
            raise ConfigError(
                f"{source}: preset must be one of {', '.join(map(repr, PRESETS))}, not {name!r}")
        base = PRESETS[name]
    sections = {}
    for name, values in data.items():
        if name not in SECTIONS:
            raise ConfigError(
                f"{source}: unknown section [{name}]; allowed: "
                + ", ".join(f"[{n}]" for n in SECTIONS))
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{name}] must be a table of keys, not {values!r}")
        cls = SECTIONS[name]
        allowed = [f.name for f in fields(cls)]
        for key in values:
            if key not in allowed:
                raise ConfigError(
                    f"{source}: [{name}] unknown key {key!r}; allowed: {', '.join(allowed)}")
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


def load_config(spec):
    """Load a config from a TOML or JSON file, or name a preset.

    ``spec`` is a path; if no such file exists and ``spec`` is a preset name, the preset is used.
    """
    path = Path(spec)
    if not path.exists():
        if str(spec) in PRESETS:
            return PRESETS[str(spec)]
        raise ConfigError(
            f"{spec}: no such config file (or preset: {', '.join(PRESETS)})")
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"{spec}: cannot read: {e.strerror}") from None
    if path.suffix == ".json":
        return Config.from_json(text, str(spec))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{spec}: not valid TOML: {e}") from None
    return parse_config(data, str(spec))


def _gemm(**kwargs):
    return Config(gemm=GemmConfig(**kwargs))


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


def preset(name):
    """The named preset; ``ValueError`` listing the names."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(map(repr, PRESETS))}, not {name!r}")
    return PRESETS[name]
