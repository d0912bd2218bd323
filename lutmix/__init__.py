"""lutmix: verified, synthesizable hardware for mixed-precision LLM inference."""

__version__ = "0.1.0"

__all__ = ["__version__"]
