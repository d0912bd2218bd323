"""cocotb bench for a combinational unit: apply input vectors, read the output.

Runs inside the simulator. The host passes an ``.npz`` in ``LUTMIX_JOB`` with one array per
input port (same length) and reads the ``o`` port's value for each row from the ``.npz`` in
``LUTMIX_RESULT``. Each row is applied, the simulator advances 1 ns, and ``o`` is sampled.
"""

__all__ = ["apply_vectors"]

import os

import cocotb
import numpy as np
from cocotb.triggers import Timer


@cocotb.test()
async def apply_vectors(dut):
    with np.load(os.environ["LUTMIX_JOB"]) as f:
        inputs = {name: f[name].tolist() for name in f.files}
    ports = [getattr(dut, name) for name in inputs]
    out = []
    for values in zip(*inputs.values()):
        for port, value in zip(ports, values):
            port.value = value
        await Timer(1, unit="ns")
        out.append(dut.o.value.to_unsigned())
    np.savez(os.environ["LUTMIX_RESULT"], o=np.array(out, dtype=np.uint64))
