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
    "GemmConfig", "SoftmaxConfig", "SOFTMAX_METHODS", "Config", "PRESETS", "SECTIONS",
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

ENGINES = ("lut",)


def _check_int(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer from {lo} to {hi}, not {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer from {lo} to {hi}, not {value!r}")


def _check_choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, not {value!r}")


@dataclass(frozen=True)
class GemmConfig:
    """A mixed-precision GEMM engine.

    Parameters
    ----------
    engine : str
        ``"lut"``: the LUT Tensor Core engine.
    weight : str
        Weight format, see :data:`lutmix.formats.WEIGHT_FORMATS`.
    activation : str
        Activation format, see :data:`lutmix.formats.ACTIVATION_FORMATS`.
    m : int
        Activation rows (tokens) per tile, 1 to 64.
    n : int
        Output channels per tile, 1 to 1024.
    k : int
        LUT group size: activations per table, 2 to 5.
    planes_per_cycle : int
        Weight bit-planes looked up per cycle, from 1 (bit-serial) to the weight width.
    max_k : int
        Longest reduction (K) one weight tile holds, 1 to 65536. The weight buffer and the
        accumulator are sized for it, so the accumulator cannot overflow; the drivers split a
        longer K into several tiles and add the partial results.
    """
    engine: str = "lut"
    weight: str = "int2"
    activation: str = "int8"
    m: int = 2
    n: int = 64
    k: int = 4
    planes_per_cycle: int = 1
    max_k: int = 2048

    def __post_init__(self):
        _check_choice("engine", self.engine, ENGINES)
        wfmt = weight_format(self.weight)
        activation_format(self.activation)
        _check_int("m", self.m, 1, 64)
        _check_int("n", self.n, 1, 1024)
        _check_int("k", self.k, 2, 5)
        _check_int("planes_per_cycle", self.planes_per_cycle, 1, wfmt.bits)
        _check_int("max_k", self.max_k, 1, 65536)

    @property
    def weight_format(self):
        return weight_format(self.weight)

    @property
    def activation_format(self):
        return activation_format(self.activation)

    @property
    def chunks(self):
        """Cycles per LUT group: ``ceil(weight bits / planes_per_cycle)``."""
        return math.ceil(self.weight_format.bits / self.planes_per_cycle)

    @property
    def max_groups(self):
        """LUT groups one weight tile holds: ``ceil(max_k / k)``."""
        return math.ceil(self.max_k / self.k)


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
        message = f"in_scale must be a number from 2**-24 to 256, not {s!r}"
        if isinstance(s, bool) or not isinstance(s, (int, float)):
            raise TypeError(message)
        if not (math.isfinite(s) and lo <= s <= hi):
            raise ValueError(message)
        object.__setattr__(self, "in_scale", float(s))
        f = self.out_frac_bits
        if isinstance(f, bool) or not isinstance(f, int):
            raise TypeError(f"out_frac_bits must be one of 8, 16, not {f!r}")
        if f not in (8, 16):
            raise ValueError(f"out_frac_bits must be one of 8, 16, not {f!r}")
        _check_int("lanes", self.lanes, 1, 64)
        _check_int("max_len", self.max_len, 1, SOFTMAX_MAX_LEN)
        _check_choice("method", self.method, SOFTMAX_METHODS)
        if self.method == "ibert" and self.in_scale > 1.0:
            # I-BERT's c_int = floor(2.7921 / in_scale**2) vanishes from 1.67 on
            raise ValueError(f"in_scale must be at most 1 with method 'ibert', "
                             f"not {self.in_scale!r}")


SECTIONS = {"gemm": GemmConfig, "softmax": SoftmaxConfig}


@dataclass(frozen=True)
class Config:
    """A lutmix design: one or more unit sections.

    Parameters
    ----------
    gemm : GemmConfig or None
        The mpGEMM engine.
    softmax : SoftmaxConfig or None
        The softmax unit.
    """
    gemm: GemmConfig | None = None
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
        return {name: dataclasses.asdict(getattr(self, name))
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


def preset(name):
    """The named preset; ``ValueError`` listing the names."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(map(repr, PRESETS))}, not {name!r}")
    return PRESETS[name]
