"""The interface the GEMM engines' arrays share, and what they have in common."""

__all__ = ["array_signature"]

from amaranth import signed
from amaranth.lib import data
from amaranth.lib.wiring import In, Out


def array_signature(spec):
    """Members of an ``m x n`` array (:class:`~lutmix.rtl.lut_array.LutArray`,
    :class:`~lutmix.rtl.shiftadd_array.ShiftAddArray`, :class:`~lutmix.rtl.mac_array.MacArray`).

    Timing: in a cycle with ``load`` the array registers the group's activations ``x`` (as
    tables, or as they are); in a cycle with ``shift`` it shifts that register left by
    ``planes_per_cycle``. In the *next* cycle, ``word`` holds the weight word of that chunk and
    ``partial`` is its contribution to each output (combinational), with ``last_chunk`` high for
    the group's final chunk; ``xsum`` is the group's activation sum in the cycle after ``load``.
    """
    c = spec.config
    core = spec.activation_format.core_bits
    return {
        "x": In(data.ArrayLayout(data.ArrayLayout(signed(core), c.k), c.m)),
        "load": In(1),
        "shift": In(1),
        "word": In(spec.w_word_bits),
        "last_chunk": In(1),
        "partial": Out(data.ArrayLayout(data.ArrayLayout(signed(spec.partial_bits), c.n), c.m)),
        "xsum": Out(data.ArrayLayout(signed(spec.entry_bits + c.k.bit_length()), c.m)),
    }
