"""NumPy golden models: bit-exact references for every RTL unit."""

from .lut_gemm import lut_gemm, ref_lut_gemm
from .softmax import float_softmax, ref_softmax_words, softmax_words

__all__ = ["lut_gemm", "ref_lut_gemm", "softmax_words", "ref_softmax_words", "float_softmax"]
