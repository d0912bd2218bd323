"""Exceptions that carry a one-line message for the user.

The CLI prints these as ``lutmix: error: <message>`` and exits non-zero without a traceback.
"""

__all__ = ["LutmixError", "ConfigError", "InputError", "ToolError", "show"]


class LutmixError(Exception):
    """Base class: the message is one line that names the file or key at fault."""


class ConfigError(LutmixError, ValueError):
    """A configuration file or preset is invalid."""


class InputError(LutmixError, ValueError):
    """A user's data file is missing, malformed or out of range."""


class ToolError(LutmixError, RuntimeError):
    """An external tool (simulator, synthesizer) is missing or failed."""


def show(value, limit=60, *, quote=True):
    """``repr(value)`` (``str`` if not ``quote``) for a one-line message, shortened past
    ``limit`` characters (a huge integer as its number of digits, a deep or long structure
    cut with ``...``)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 190:
        digits = int(value.bit_length() * 0.30103) + 1
        return f"{'-' if value < 0 else ''}an integer of about {digits} digits"
    try:
        text = repr(value) if quote else str(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit - 3] + "..."
