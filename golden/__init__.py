"""NumPy golden models: bit-exact references for every RTL unit."""

from .gelu import gelu, ref_gelu
from .gemm import dequant_gemm, gemm, int_gemm, lut_gemm, ref_lut_gemm
from .softmax import float_softmax, ref_softmax_words, softmax_words

__all__ = ["gemm", "int_gemm", "dequant_gemm", "lut_gemm", "ref_lut_gemm", "gelu", "ref_gelu",
           "softmax_words", "ref_softmax_words", "float_softmax"]
