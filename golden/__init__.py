"""NumPy golden models: bit-exact references for every RTL unit."""

from .lut_gemm import lut_gemm, ref_lut_gemm

__all__ = ["lut_gemm", "ref_lut_gemm"]
