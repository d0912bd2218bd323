"""Exceptions that carry a one-line message for the user.

The CLI prints these as ``lutmix: error: <message>`` and exits non-zero without a traceback.
"""

__all__ = ["LutmixError", "ConfigError", "InputError", "ToolError"]


class LutmixError(Exception):
    """Base class: the message is one line that names the file or key at fault."""


class ConfigError(LutmixError, ValueError):
    """A configuration file or preset is invalid."""


class InputError(LutmixError, ValueError):
    """A user's data file is missing, malformed or out of range."""


class ToolError(LutmixError, RuntimeError):
    """An external tool (simulator, synthesizer) is missing or failed."""
