"""How much RTL simulation a command asks for: cycle estimates, checked before anything runs.

cocotb drives every beat from Python, so the simulations run at a few thousand clock cycles
per second (``README.md``, Benchmarks). A problem whose estimate exceeds the limit
(:data:`DEFAULT_MAX_CYCLES`, ``--max-cycles`` on the command line) is refused with one line
before any simulation model is built or run.

The estimates are the streams' beat counts with the tiling's padding, the cycles an ideal
run takes: ``run gemm`` ``ceil(M/m) * ceil(N/n) * groups * chunks``, ``run softmax`` one cycle
per beat of every row, ``run gelu`` one cycle per beat.
"""

__all__ = ["DEFAULT_MAX_CYCLES", "gemm_cycles", "softmax_cycles", "gelu_cycles",
           "verify_cycles", "check_cycles"]

from .errors import InputError

DEFAULT_MAX_CYCLES = 10_000_000     # about an hour of simulation


def _ceil(a, b):
    """``ceil(a / b)`` in integers: exact for any size (a float would round, or overflow)."""
    return -(-a // b)


def gemm_cycles(config, M, N, K):
    """Cycles of an ``(M, K) x (N, K)`` GEMM on the engine of ``config`` (a GemmConfig)."""
    if config.dequant:
        groups = _ceil(K, config.block) * config.block_groups
    else:
        groups = _ceil(K, config.k)
    return _ceil(M, config.m) * _ceil(N, config.n) * groups * config.chunks


def softmax_cycles(config, rows, length):
    """Cycles of ``rows`` rows of ``length`` logits (a SoftmaxConfig)."""
    return rows * _ceil(length, config.lanes)


def gelu_cycles(config, words):
    """Cycles of ``words`` input words (a GeluConfig)."""
    return _ceil(words, config.lanes)


def verify_cycles(config, vectors):
    """An upper bound on the cycles of ``lutmix verify`` with ``vectors`` vectors per unit:
    every GEMM vector at the full ``max_k``, every softmax row at ``max_len``, and every input
    of the GELU unit."""
    total = 0
    if config.gemm is not None:
        g = config.gemm
        total += vectors * g.max_groups * g.chunks
    if config.softmax is not None:
        total += softmax_cycles(config.softmax, vectors, config.softmax.max_len)
    if config.gelu is not None:
        total += gelu_cycles(config.gelu, 1 << config.gelu.input_bits)
    return total


def check_cycles(cycles, limit, what):
    """``InputError`` naming ``what`` if ``cycles`` exceeds ``limit``."""
    if cycles > limit:
        digits = str(cycles)
        amount = f"{cycles:,}" if cycles < 10 ** 18 else \
            f"{digits[0]}.{digits[1]}e{len(digits) - 1}"
        raise InputError(f"{what}: about {amount} cycles of RTL simulation, more than "
                         f"--max-cycles {limit:,} (a few thousand cycles run per second); "
                         f"raise --max-cycles to run it anyway")
    return cycles
