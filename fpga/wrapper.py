"""The synthesis top: keeps a unit's logic alive behind a handful of pins.

A unit's AXI4-Stream ports are far wider than any package (the default GEMM engine has over two
thousand output bits), and a unit whose inputs are constant or whose outputs go nowhere is
optimized away by Yosys. :class:`SynthWrapper` instantiates the unit's Verilog module by name
and gives it

* **registered inputs fed by a shift chain**: every input bit of the unit (``aresetn``, every
  ``tdata``/``tvalid``/``tlast``/``tuser`` of its input streams and every ``tready`` of its
  output streams) is one flip-flop of a chain that shifts in from the pin ``din``;
* **outputs folded into a handful of pins**: every output bit is first captured in a
  flip-flop, then folded by a pipelined tree of 4-input XORs (one LUT level between flip-flops)
  into the ``dout`` pins.

So every path of the unit starts and ends at a flip-flop and the wrapper adds no logic level
to it: the Fmax is the unit's own. Synthesis keeps the unit a separate module
(``keep_hierarchy``), so Yosys can neither see through the chain nor cancel output bits that
happen to be equal (a sign extension XORed with itself), and the report counts the unit's
cells and the wrapper's cells apart.

The pins are ``clk``, ``din`` and ``dout[0..pins-1]``.
"""

__all__ = ["SynthWrapper", "WRAPPER_NAME", "unit_ports", "wrapper_cost"]

from amaranth import ClockDomain, ClockSignal, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

WRAPPER_NAME = "lutmix_synth_top"


def unit_ports(top):
    """``[(name, direction, width)]`` of an AXI4-Stream top, in signature order.

    The clock ``aclk`` is left out: the wrapper drives it from its own ``clk`` pin.
    """
    ports = []
    for name, member in top.signature.members.items():
        if name == "aclk":
            continue
        width = len(getattr(top, name))
        ports.append((name, "in" if member.flow == In else "out", width))
    return ports


def _fold_nodes(bits):
    """``(flip-flops, LUTs)`` of a pipelined 4-input XOR tree over ``bits`` captured bits.

    Every tree node is a flip-flop; a node with two or more inputs also needs a LUT.
    """
    ffs = luts = 0
    while bits > 1:
        nodes, rest = divmod(bits, 4)
        ffs += nodes + (rest > 0)
        luts += nodes + (rest > 1)
        bits = nodes + (rest > 0)
    return ffs, luts


def wrapper_cost(ports, pins):
    """Flip-flops and XOR LUTs the wrapper spends around a unit with these ports.

    Returns
    -------
    dict
        ``chain_ffs`` (input bits), ``capture_ffs`` (output bits), ``fold_ffs`` and
        ``fold_luts`` (the XOR tree: a flip-flop per node, and a LUT4 per node with two or
        more inputs).
    """
    n_in = sum(w for _, d, w in ports if d == "in")
    n_out = sum(w for _, d, w in ports if d == "out")
    fold_ffs = fold_luts = 0
    for p in range(pins):
        ffs, luts = _fold_nodes(len(range(p, n_out, pins)))
        fold_ffs += ffs
        fold_luts += luts
    return {"chain_ffs": n_in, "capture_ffs": n_out, "fold_ffs": fold_ffs,
            "fold_luts": fold_luts}


class SynthWrapper(wiring.Component):
    """A few-pin top around the Verilog module ``module`` of a unit (see the module docstring).

    Latency is irrelevant here: the wrapper exists to be synthesized, never simulated for
    results. Its registers have no reset.

    Parameters
    ----------
    module : str
        Verilog name of the unit's top (e.g. ``"lutmix_gemm"``).
    ports : list of (str, str, int)
        The unit's ports but ``aclk``, as :func:`unit_ports` returns them.
    pins : int
        Output pins the outputs are folded into, 1 to 16.
    """

    def __init__(self, *, module, ports, pins=4):
        if not isinstance(module, str) or not module.isidentifier():
            raise TypeError(f"module must be a Verilog identifier, not {module!r}")
        if isinstance(pins, bool) or not isinstance(pins, int) or not 1 <= pins <= 16:
            raise TypeError(f"pins must be an integer from 1 to 16, not {pins!r}")
        ports = list(ports)
        for port in ports:
            if (not isinstance(port, tuple) or len(port) != 3 or port[1] not in ("in", "out")
                    or not isinstance(port[2], int) or port[2] < 1):
                raise TypeError(f"ports must be (name, 'in' or 'out', width) tuples, "
                                f"not {port!r}")
        if not any(d == "out" for _, d, _ in ports):
            raise ValueError(f"module {module!r} has no output to keep its logic alive")
        self._module = module
        self._ports = ports
        self._pins = pins
        super().__init__({"clk": In(1), "din": In(1), "dout": Out(pins)})

    @property
    def module(self):
        return self._module

    @property
    def ports(self):
        return list(self._ports)

    @property
    def pins(self):
        return self._pins

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain(reset_less=True)
        m.d.comb += ClockSignal().eq(self.clk)

        # registered inputs: one shift chain through every input bit, in port order
        inputs = {}
        previous = self.din
        for name, direction, width in self._ports:
            if direction != "in":
                continue
            chain = Signal(width, name=f"chain_{name}")
            m.d.sync += chain.eq(chain.shift_left(1) | previous)
            previous = chain[-1]
            inputs[name] = chain

        # outputs: captured in flip-flops, then folded by a pipelined XOR4 tree
        outputs = {}
        captured = []
        for name, direction, width in self._ports:
            if direction != "out":
                continue
            wire = Signal(width, name=f"out_{name}")
            outputs[name] = wire
            reg = Signal(width, name=f"capture_{name}")
            m.d.sync += reg.eq(wire)
            captured.extend(reg[i] for i in range(width))
        self._instantiate(m, inputs, outputs)

        for pin in range(self._pins):
            level = captured[pin::self._pins]
            depth = 0
            while len(level) > 1:
                nxt = []
                for i in range(0, len(level), 4):
                    node = Signal(name=f"fold{pin}_{depth}_{i // 4}")
                    group = level[i:i + 4]
                    value = group[0]
                    for bit in group[1:]:
                        value = value ^ bit
                    m.d.sync += node.eq(value)
                    nxt.append(node)
                level = nxt
                depth += 1
            if level:
                m.d.comb += self.dout[pin].eq(level[0])
        return m

    def _instantiate(self, m, inputs, outputs):
        """Add the unit to ``m``: the Verilog module by name, clocked by ``clk``.

        ``inputs`` and ``outputs`` map port names to the wrapper's signals. (Tests replace this
        with an Amaranth stand-in to simulate the wrapper.)
        """
        kwargs = {"i_aclk": ClockSignal()}
        kwargs.update({f"i_{name}": signal for name, signal in inputs.items()})
        kwargs.update({f"o_{name}": signal for name, signal in outputs.items()})
        m.submodules.unit = Instance(self._module, **kwargs)
