"""Softmax stream words: the documented byte layout, and round trips up to 64 lanes (tuser then
uses all 64 bits of its uint64)."""
import numpy as np
import pytest

from lutmix.config import SoftmaxConfig
from lutmix.softmax_math import softmax_spec
from lutmix.softmax_words import pack_row, pack_words, unpack_row, unpack_words


def test_layout_of_a_short_row():
    spec = softmax_spec(SoftmaxConfig(lanes=2, max_len=8))
    beats, user = pack_row([1, -2, 3], [False, True, False], spec)
    # lane i of beat j holds element 2j + i, little-endian, sign-extended to 8 bits; the final
    # beat's unused lane is masked
    assert beats.tolist() == [[1, 0xFE], [3, 0]]
    assert user.dtype == np.uint64 and user.tolist() == [0b10, 0b10]
    assert pack_words([256, 0, 7], spec).tolist() == [[0, 1, 0, 0], [7, 0, 0, 0]]


@pytest.mark.parametrize("lanes,input_bits", [(1, 8), (3, 16), (64, 8), (64, 12)])
def test_round_trip(lanes, input_bits):
    spec = softmax_spec(SoftmaxConfig(lanes=lanes, input_bits=input_bits, max_len=512))
    rng = np.random.default_rng(lanes * 100 + input_bits)
    for length in (1, lanes, 5 * lanes + 1):
        x = rng.integers(spec.x_min, spec.x_max + 1, size=length)
        mask = rng.random(length) < 0.5
        mask[-1] = True                                 # the top lane of a full beat at 64
        beats, user = pack_row(x, mask, spec)
        assert beats.shape == (-(-length // lanes), lanes * spec.in_lane_bits // 8)
        back, back_mask = unpack_row(beats, user, spec)
        assert np.array_equal(back[:length], x) and np.array_equal(back_mask[:length], mask)
        assert back_mask[length:].all()
        words = rng.integers(0, spec.one + 1, size=length)
        assert np.array_equal(unpack_words(pack_words(words, spec), spec)[:length], words)
