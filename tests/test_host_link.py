"""The host API through the link core's RTL: host -> frames -> units -> results, bit-exact.

One simulation per simulator runs one session of steps through an unchanged
:class:`~lutmix.fpga.host.Device`: a GEMM tiled over N, K and M (enough tiles to fill and
drain the result buffer several times), a GELU over every int8 input, a masked softmax, the
documented error replies for a corrupted, a truncated, an over-long and an absent-unit frame,
and after each of them a GEMM again to show the device is still usable. Random idle cycles on
the request bytes and backpressure on the reply bytes run throughout.
"""

import json

import numpy as np
import pytest

from lutmix import __version__
from lutmix.config import PRESETS, Config
from lutmix.gelu_math import gelu_spec
from lutmix.gemm_spec import gemm_spec
from lutmix.golden import gelu, lut_gemm, softmax_words
from lutmix.link import COMMANDS, crc16, encode_request
from lutmix.sim.link_session import SIM_LINK, simulate_link
from lutmix.softmax_math import softmax_spec

CONFIG = Config(gemm=PRESETS["tiny"].gemm, gelu=PRESETS["gelu8"].gelu,
                softmax=PRESETS["softmax-tiny"].softmax)

BODY = bytes([0x33, 0, 0, 0])                            # command 0x33 does not exist
FRAME_0x33 = b"\xa5" + BODY + crc16(BODY).to_bytes(2, "little")


def _operands(seed):
    rng = np.random.default_rng(seed)
    g = CONFIG.gemm
    W = rng.integers(-2, 2, size=(5, 70))               # int2: 2 N-tiles, 2 K-tiles (max_k 64)
    X = rng.integers(-128, 128, size=(3, 70)).astype(np.int8)
    W[0], X[0] = -2, -128                                # the extremes
    xs = rng.integers(-128, 128, size=(3, 19))
    mask = rng.random((3, 19)) < 0.2
    mask[1] = True                                       # a fully masked row
    small_w = rng.integers(-2, 2, size=(4, 6))
    small_x = rng.integers(-128, 128, size=(2, 6)).astype(np.int8)
    return g, W, X, xs, mask, small_w, small_x


@pytest.mark.parametrize("sim", [
    "verilator",
    # Icarus is ~30x slower; the link core is plain synchronous logic it adds little to
    pytest.param("icarus", marks=pytest.mark.slow),
])
def test_host_to_rtl_and_back(sim, sim_cache, tmp_path):
    g, W, X, xs, mask, small_w, small_x = _operands(7)
    gx = np.arange(-128, 128).reshape(16, 16)
    good = encode_request("READ", 0, b"\x04\x00")
    steps = [
        ("manifest",),
        ("gemm", W, X),
        ("gelu", gx, {"raw": True}),
        ("softmax", xs, mask, {"raw": True}),
        ("raw", good[:-1] + bytes([good[-1] ^ 0x40])),                    # corrupted CRC
        ("gemm", small_w, small_x),
        ("raw", encode_request("STREAM", 0, bytes(10))[:9]),               # truncated
        ("gemm", small_w, small_x),
        ("raw", encode_request("READ", 7, b"\x01\x00")),                   # absent unit
        ("raw", encode_request("LOAD_SCALES", 0, bytes(4))),               # absent stream
        ("raw", encode_request("STREAM", 0, bytes(4))),                    # not whole beats
        ("raw", bytes([0xA5, COMMANDS["STREAM"], 0, 0xFF, 0x7F]) + bytes(8)),  # over-long
        ("raw", b"\x77\x00" + FRAME_0x33),                                 # garbage, bad cmd
        ("raw", b"\x00"),                                                  # no reply at all
        ("gemm", small_w, small_x),
        ("raw", encode_request("STREAM", 0, bytes(3))),     # a beat with no weights: stalls
        ("raw", encode_request("RESET", 0)),
        ("gemm", small_w, small_x),
    ]
    s = simulate_link(CONFIG, steps, sim=sim, pause={"rx": 0.3, "tx": 0.3}, seed=3,
                      workdir=tmp_path, cache_dir=sim_cache, timeout=2e-4)
    res = s.results
    assert all(kind != "crash" for kind, _ in res), [v for k, v in res if k == "crash"]

    kind, manifest = res[0]
    assert kind == "ok" and manifest["lutmix"] == __version__
    assert manifest["config"] == json.loads(CONFIG.to_json())
    assert manifest["link"]["frame_bytes"] == SIM_LINK.frame_bytes

    spec = gemm_spec(g)
    assert res[1][0] == "ok"
    np.testing.assert_array_equal(res[1][1], lut_gemm(X, W, spec))
    np.testing.assert_array_equal(res[1][1], X.astype(np.int64) @ W.T)

    gspec = gelu_spec(CONFIG.gelu)
    assert res[2][0] == "ok"
    np.testing.assert_array_equal(res[2][1], gelu(gx, gspec))

    sspec = softmax_spec(CONFIG.softmax)
    assert res[3][0] == "ok"
    np.testing.assert_array_equal(res[3][1], softmax_words(xs, mask, spec=sspec))

    small = small_x.astype(np.int64) @ small_w.T
    expected = [
        (4, ("BAD_CRC", COMMANDS["READ"], b"")),
        (5, small),
        (6, ("TIMEOUT", COMMANDS["STREAM"], b"")),
        (7, small),
        (8, ("NO_UNIT", COMMANDS["READ"], b"")),
        (9, ("NO_UNIT", COMMANDS["LOAD_SCALES"], b"")),
        (10, ("BAD_LENGTH", COMMANDS["STREAM"], b"")),
        (11, ("BAD_LENGTH", COMMANDS["STREAM"], b"")),
        (12, ("BAD_COMMAND", 0x33, b"")),
        (14, small),
        (15, ("STALLED", COMMANDS["STREAM"], b"")),
        (16, ("OK", COMMANDS["RESET"], b"")),
        (17, small),
    ]
    for i, want in expected:
        kind, got = res[i]
        assert kind == "ok", (i, got)
        if isinstance(want, np.ndarray):
            np.testing.assert_array_equal(got, want)
        else:
            assert got == want, i
    kind, message = res[13]
    assert kind == "error"
    assert message.startswith("DeviceError: rtl: no reply within 0.0002 s of simulated time")


def test_dequantized_gemm_over_the_link(sim_cache, tmp_path):
    # fp16 activations, uint4 weights with zero points in groups of 32, K over two K-tiles
    from lutmix.config import GemmConfig
    from lutmix.golden import dequant_gemm

    config = Config(gemm=GemmConfig(weight="uint4", activation="fp16", group_size=32, m=1, n=4,
                                    k=4, max_k=64))
    rng = np.random.default_rng(11)
    W = rng.integers(0, 16, size=(5, 96))
    X = (rng.standard_normal((3, 96)) * 4).astype(np.float16)
    S = rng.uniform(0.01, 0.1, size=(5, 3)).astype(np.float16)
    Z = rng.integers(0, 16, size=(5, 3))
    s = simulate_link(config, [("manifest",), ("gemm", W, X, S, Z)], sim="verilator",
                      pause={"rx": 0.3, "tx": 0.3}, seed=5, workdir=tmp_path,
                      cache_dir=sim_cache, timeout=2e-4)
    (kind, _), (kind2, y) = s.results
    assert kind == "ok" and kind2 == "ok", s.results
    expect = dequant_gemm(X, W, gemm_spec(config.gemm), S, Z)
    assert y.dtype == np.float32 and y.shape == (3, 5) and np.isfinite(y).all() and y.any()
    np.testing.assert_array_equal(y.view(np.uint32), expect.view(np.uint32))
