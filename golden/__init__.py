"""NumPy golden models: bit-exact references for every RTL unit."""

from .gelu import gelu, ref_gelu
from .lut_gemm import lut_gemm, ref_lut_gemm

__all__ = ["lut_gemm", "ref_lut_gemm", "gelu", "ref_gelu"]
