"""Stream word layouts: packing round-trips, and the documented bit positions."""
import numpy as np
import pytest

from lutmix import lut, words
from lutmix.config import GemmConfig
from lutmix.formats import WEIGHT_FORMATS
from lutmix.gemm_spec import gemm_spec


@pytest.mark.parametrize("weight", list(WEIGHT_FORMATS))
@pytest.mark.parametrize("k", [2, 3, 5])
def test_round_trips(weight, k):
    fmt = WEIGHT_FORMATS[weight]
    rng = np.random.default_rng(k)
    for p in range(1, fmt.bits + 1):
        spec = gemm_spec(GemmConfig(weight=weight, k=k, n=3, m=2, planes_per_cycle=p))
        codes = fmt.encode(rng.choice(fmt.values, size=(3, 4 * k)))
        beats = words.pack_weights(codes, spec)
        assert beats.shape == (4 * spec.chunks, spec.w_tdata_bits // 8)
        assert np.array_equal(words.unpack_weights(beats, spec), codes)
        x = rng.integers(-128, 128, size=(2, 4 * k)).astype(np.int8)
        assert np.array_equal(words.unpack_acts(words.pack_acts(x, spec), spec), x)
        y = rng.integers(-1000, 1000, size=(2, 3))
        assert np.array_equal(words.unpack_outputs(words.pack_outputs(y, spec), spec), y)


def test_weight_word_bit_positions():
    # int3, k=3, two planes a cycle: chunk 0 holds planes 0 and 1, chunk 1 holds plane 2 and
    # an empty slot; column j slot pp sits at bits (j*p + pp)*k
    spec = gemm_spec(GemmConfig(weight="int3", k=3, n=2, planes_per_cycle=2))
    codes = np.array([[0b101, 0b011, 0b110], [0b000, 0b111, 0b010]], dtype=np.uint8)
    beats = words.pack_weights(codes, spec)
    assert beats.shape == (2, 2)                       # 2 chunks, 12 bits -> 2 bytes
    bits = np.unpackbits(beats, axis=1, bitorder="little")
    iw = lut.index_words(codes, 3, 3)                  # (n, G, planes)
    for chunk in range(2):
        for j in range(2):
            for pp in range(2):
                plane = chunk * 2 + pp
                got = sum(int(bits[chunk, (j * 2 + pp) * 3 + t]) << t for t in range(3))
                assert got == (iw[j, 0, plane] if plane < 3 else 0)


def test_activation_and_output_lanes():
    spec = gemm_spec(GemmConfig(activation="int16", k=2, m=2, n=3))
    x = np.array([[1, -2, 3, -4], [5, 6, 7, 8]], dtype=np.int16)
    beats = words.pack_acts(x, spec)
    lanes = beats.view("<i2")
    assert lanes.tolist() == [[1, -2, 5, 6], [3, -4, 7, 8]]    # lane r*k + t, beat g
    assert spec.y_lane_bits in (8, 16, 32, 64)
