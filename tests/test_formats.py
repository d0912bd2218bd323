import numpy as np
import pytest

from lutmix.formats import ACTIVATION_FORMATS, WEIGHT_FORMATS, activation_format, weight_format

EXPECTED_VALUES = {
    "int1": [-1, 1],
    "ternary": [-1, 0, 1],
    "int2": list(range(-2, 2)),
    "int3": list(range(-4, 4)),
    "int4": list(range(-8, 8)),
    "uint2": list(range(0, 4)),
    "uint3": list(range(0, 8)),
    "uint4": list(range(0, 16)),
    "int8": list(range(-128, 128)),
}


def test_weight_formats_are_the_documented_set():
    assert list(WEIGHT_FORMATS) == list(EXPECTED_VALUES)
    for name, values in EXPECTED_VALUES.items():
        assert list(WEIGHT_FORMATS[name].values) == values


def test_activation_formats():
    assert list(ACTIVATION_FORMATS) == ["int8", "int16", "fp16", "bf16"]
    assert activation_format("int16").min == -32768
    assert activation_format("int16").max == 32767
    for name in ("fp16", "bf16"):
        fmt = activation_format(name)
        assert fmt.is_float and fmt.core_bits == 16 and fmt.core_max < 2**15


def test_float_activation_checks():
    fp16, bf16 = activation_format("fp16"), activation_format("bf16")
    fp16.check(np.zeros(3, dtype=np.float16))
    with pytest.raises(ValueError, match=r"^X.npy: dtype must be float16 for fp16 activations, "
                                         r"not float32$"):
        fp16.check(np.zeros(3, dtype=np.float32), "X.npy")
    bf16.check(np.array([1.0, 0.5, np.inf, np.nan, -3.0], dtype=np.float32))
    with pytest.raises(ValueError, match=r"^X.npy: dtype must be float32 holding bfloat16 values"
                                         r" for bf16 activations, not float16$"):
        bf16.check(np.zeros(3, dtype=np.float16), "X.npy")
    with pytest.raises(ValueError, match=r"^X.npy: value 1.0000001192092896 at index \(1,\) is "
                                         r"not exactly representable in bfloat16$"):
        bf16.check(np.array([1.0, np.nextafter(np.float32(1), np.float32(2))],
                            dtype=np.float32), "X.npy")


@pytest.mark.parametrize("name", list(WEIGHT_FORMATS))
def test_codes_round_trip_and_fit_bits(name):
    fmt = WEIGHT_FORMATS[name]
    q = np.array(fmt.values)
    u = fmt.encode(q)
    assert u.min() >= 0 and u.max() < (1 << fmt.bits)
    assert len(set(u.tolist())) == len(q)
    assert np.array_equal(fmt.decode(u), q)


@pytest.mark.parametrize("name", list(WEIGHT_FORMATS))
def test_remap_correction_is_exact(name):
    # q = (q' + offset) / denom with q' = 2u - (2^b - 1), for every value
    fmt = WEIGHT_FORMATS[name]
    q = np.array(fmt.values)
    qs = fmt.symmetric(fmt.encode(q))
    assert np.all(np.abs(qs) <= (1 << fmt.bits) - 1)
    assert np.all(qs % 2 == 1)
    assert np.array_equal((qs + fmt.offset), q * fmt.denom)


def test_check_rejects_out_of_format_values_with_one_line():
    with pytest.raises(ValueError, match=r"^W.npy: value 2 at index \(0, 1\) is not an int2 "
                                         r"weight \(allowed: -2, -1, 0, 1\)$"):
        weight_format("int2").check(np.array([[1, 2]]), "W.npy")
    with pytest.raises(ValueError, match=r"not a ternary weight \(allowed: -1, 0, 1\)"):
        weight_format("ternary").check(np.array([-2]))
    with pytest.raises(ValueError, match=r"not an int1 weight \(allowed: -1, 1\)"):
        weight_format("int1").check(np.array([0]))
    with pytest.raises(ValueError, match=r"allowed: integers 0 to 15"):
        weight_format("uint4").check(np.array([16]))
    with pytest.raises(ValueError, match=r"^weights: dtype must be an integer type"):
        weight_format("int4").check(np.array([1.0]))


def test_activation_dtype_check():
    # integer formats take any integer dtype whose values are in range
    for dtype in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64):
        activation_format("int8").check(np.array([0, 1, 127], dtype=dtype), "X.npy")
    activation_format("int8").check(np.array([-128, 127], dtype=np.int64))
    activation_format("int16").check(np.array([-32768, 32767], dtype=np.int32))
    with pytest.raises(ValueError, match=r"^X.npy: dtype must be an integer type holding int8 "
                                         r"values, not float32$"):
        activation_format("int8").check(np.zeros(3, dtype=np.float32), "X.npy")
    with pytest.raises(ValueError, match=r"^X.npy: dtype must be an integer type holding int8 "
                                         r"values, not bool$"):
        activation_format("int8").check(np.zeros(3, dtype=bool), "X.npy")
    with pytest.raises(ValueError, match=r"^X.npy: value 128 at index \(1, 0\) is not an int8 "
                                         r"activation \(allowed: -128 to 127\)$"):
        activation_format("int8").check(np.array([[0], [128]], dtype=np.int16), "X.npy")
    with pytest.raises(ValueError, match=r"^X: value -32769 at index \(2,\) is not an int16 "):
        activation_format("int16").check(np.array([0, 1, -32769]), "X")
    with pytest.raises(ValueError, match=r"^X: value 18446744073709551615 at index \(0,\) "):
        activation_format("int16").check(np.array([2 ** 64 - 1], dtype=np.uint64), "X")
    # float formats still take exactly their dtype
    with pytest.raises(ValueError, match=r"^X: dtype must be float16 for fp16 activations, "
                                         r"not int8$"):
        activation_format("fp16").check(np.zeros(3, dtype=np.int8), "X")


def test_unknown_format_names_list_the_allowed_ones():
    with pytest.raises(ValueError, match=r"^weight must be one of 'int1', 'ternary', 'int2', "
                                         r"'int3', 'int4', 'uint2', 'uint3', 'uint4', 'int8', "
                                         r"not 'int5'$"):
        weight_format("int5")
    with pytest.raises(ValueError, match=r"^activation must be one of 'int8', 'int16', "
                                         r"'fp16', 'bf16', not 'fp8'$"):
        activation_format("fp8")
