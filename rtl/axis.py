"""AXI4-Stream top: exposes a component's streams under AXI4-Stream port names."""

__all__ = ["AxisTop", "axis_ports"]

from amaranth import ClockDomain, ClockSignal, Module, ResetSignal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out


def _is_stream(member):
    return member.is_port is False and isinstance(member.signature, stream.Signature)


def axis_ports(signature):
    """Describe how each stream of ``signature`` maps to AXI4-Stream ports.

    An input stream ``x`` becomes ``s_axis_x_*`` and an output stream ``y`` becomes
    ``m_axis_y_*``. The payload's ``data`` field becomes ``tdata`` (zero-padded to whole bytes),
    ``last`` becomes ``tlast``, and any other fields are concatenated into ``tuser``, in order.

    Returns
    -------
    dict
        ``{member name: {"prefix", "direction", "tdata_bits", "data_bits", "tuser"}}``, where
        ``tuser`` lists ``(field, offset, width)``.
    """
    ports = {}
    for name, member in signature.members.items():
        if not _is_stream(member):
            raise TypeError(f"Member {name!r} is not a stream; AxisTop wraps streams only")
        layout = data.Layout.cast(member.signature.members["payload"].shape)
        if not isinstance(layout, data.StructLayout) or "data" not in layout.members:
            raise TypeError(f"Stream {name!r} needs a StructLayout payload with a 'data' field")
        data_bits = layout["data"].width
        user, offset = [], 0
        for field_name, field in layout:
            if field_name in ("data", "last"):
                continue
            user.append((field_name, offset, field.width))
            offset += field.width
        ports[name] = {
            "prefix": ("s_axis_" if member.flow == In else "m_axis_") + name,
            "direction": "in" if member.flow == In else "out",
            "data_bits": data_bits,
            "tdata_bits": 8 * -(-data_bits // 8),
            "last": "last" in layout.members,
            "tuser": user,
        }
    return ports


class AxisTop(wiring.Component):
    """Wraps ``core`` so its Verilog top reads as AXI4-Stream, clocked by ``aclk``.

    ``aresetn`` is an active-low synchronous reset. Each stream keeps its handshake
    unchanged: no registers are added, so latency and throughput are the core's.

    Parameters
    ----------
    core : wiring.Component
        A component whose members are all streams (see :func:`axis_ports`).
    """

    def __init__(self, core):
        if not isinstance(core, wiring.Component):
            raise TypeError(f"core must be a wiring.Component, not {core!r}")
        self._core = core
        self._ports = axis_ports(core.signature)
        members = {"aclk": In(1), "aresetn": In(1)}
        for info in self._ports.values():
            prefix = info["prefix"]
            into, outof = (In, Out) if info["direction"] == "in" else (Out, In)
            members[f"{prefix}_tdata"] = into(info["tdata_bits"])
            members[f"{prefix}_tvalid"] = into(1)
            members[f"{prefix}_tready"] = outof(1)
            if info["last"]:
                members[f"{prefix}_tlast"] = into(1)
            if info["tuser"]:
                members[f"{prefix}_tuser"] = into(sum(w for _, _, w in info["tuser"]))
        super().__init__(members)

    @property
    def core(self):
        return self._core

    @property
    def ports(self):
        return self._ports

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain()
        m.d.comb += [ClockSignal().eq(self.aclk), ResetSignal().eq(~self.aresetn)]
        m.submodules.core = core = self._core
        for name, info in self._ports.items():
            port = getattr(core, name)
            prefix = info["prefix"]

            def flat(suffix, prefix=prefix):
                return getattr(self, f"{prefix}_{suffix}")

            fields = [(port.payload.data, flat("tdata"))]
            if info["last"]:
                fields.append((port.payload.last, flat("tlast")))
            for field_name, offset, width in info["tuser"]:
                fields.append((getattr(port.payload, field_name),
                               flat("tuser")[offset:offset + width]))
            if info["direction"] == "in":
                m.d.comb += [port.valid.eq(flat("tvalid")), flat("tready").eq(port.ready)]
                m.d.comb += [inner.eq(outer) for inner, outer in fields]
            else:
                m.d.comb += [flat("tvalid").eq(port.valid), port.ready.eq(flat("tready"))]
                m.d.comb += [outer.eq(inner) for inner, outer in fields]
        return m
