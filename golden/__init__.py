"""NumPy golden models: bit-exact references for every RTL unit."""

from .gelu import gelu, ref_gelu
from .gemm import dequant_gemm, gemm, int_gemm, lut_gemm, ref_lut_gemm

__all__ = ["gemm", "int_gemm", "dequant_gemm", "lut_gemm", "ref_lut_gemm", "gelu", "ref_gelu"]
