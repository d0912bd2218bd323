"""Random stalls for stream benches: idle cycles on sources, backpressure on sinks."""

__all__ = ["pause_generator"]

import random


def pause_generator(probability, seed):
    """An endless, seeded sequence of pause flags, each True with ``probability``.

    cocotbext-axi's ``set_pause_generator`` reads one flag per clock cycle: on a source a pause
    drops ``tvalid``, on a sink it drops ``tready``.
    """
    if not 0 <= probability < 1:
        raise ValueError(f"Pause probability must be in [0, 1), not {probability!r}")
    rng = random.Random(seed)
    while True:
        yield rng.random() < probability
