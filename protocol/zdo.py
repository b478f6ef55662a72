"""ZDO (ZigBee Device Profile, profile 0x0000) payloads an NCP answers on its own.

ZigBee spec 05-3474 clause 2.4. Every payload starts with the 1-octet transaction sequence
number. Node and simple descriptors are zigpy's own types (`zigpy.zdo.types.NodeDescriptor`,
`SimpleDescriptor`) and statuses zigpy's `Status`, so what we build is exactly what zigpy on the
hub side parses. Addresses are ints as everywhere in `protocol` (EUI-64s little-endian on the
wire).

Each message is a frozen dataclass with `CLUSTER_ID`, `build()` and `parse(payload)`;
`parse_zdo(cluster_id, payload)` picks the class.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntFlag
from typing import Any, ClassVar, Self

import construct as c
import zigpy.zdo.types as zdo_t

from .errors import DecodeError, LocalProtocolError
from .ieee802154 import Capability

Status = zdo_t.Status
AddrRequestType = zdo_t.AddrRequestType
NodeDescriptor = zdo_t.NodeDescriptor
SimpleDescriptor = zdo_t.SimpleDescriptor


class MgmtLeaveOptions(IntFlag):
    """Options of Mgmt_Leave_req (ZigBee spec 2.4.3.3.5)."""

    NONE = 0
    REMOVE_CHILDREN = 0x40
    REJOIN = 0x80


class _Enum(c.Adapter):  # type: ignore[misc]
    """An 8-bit field decoded into an enum or flag type (zigpy's or ours)."""

    def __init__(self, enum: Any) -> None:
        super().__init__(c.Int8ul)
        self.enum = enum

    def _decode(self, obj: int, context: Any, path: Any) -> Any:
        return self.enum(obj)

    def _encode(self, obj: Any, context: Any, path: Any) -> int:
        return int(obj)


class _Tuple(c.Adapter):  # type: ignore[misc]
    """A count-prefixed list, kept as a tuple so messages stay hashable and comparable."""

    def __init__(self, item: c.Construct) -> None:
        super().__init__(c.PrefixedArray(c.Int8ul, item))

    def _decode(self, obj: list[int], context: Any, path: Any) -> tuple[int, ...]:
        return tuple(obj)

    def _encode(self, obj: tuple[int, ...], context: Any, path: Any) -> list[int]:
        return list(obj)


class _Zigpy(c.Adapter):  # type: ignore[misc]
    """A zigpy struct filling the octets of `subcon`; empty octets stand for None."""

    def __init__(self, subcon: c.Construct, kind: Any) -> None:
        super().__init__(subcon)
        self.kind = kind

    def _decode(self, obj: bytes, context: Any, path: Any) -> Any:
        if not obj:
            return None
        value, rest = self.kind.deserialize(obj)
        if rest:
            raise c.ValidationError(f"{len(rest)} octets after the {self.kind.__name__}")
        return value

    def _encode(self, obj: Any, context: Any, path: Any) -> bytes:
        return b"" if obj is None else bytes(obj.serialize())


_BOOL = c.ExprAdapter(
    c.OneOf(c.Int8ul, [0, 1]), lambda obj, ctx: bool(obj), lambda obj, ctx: int(obj)
)
_STATUS = _Enum(Status)
_NODE_DESCRIPTOR = _Zigpy(c.Bytes(13), NodeDescriptor)
_SIMPLE_DESCRIPTOR = _Zigpy(c.Prefixed(c.Int8ul, c.GreedyBytes), SimpleDescriptor)
_CLUSTERS = _Tuple(c.Int16ul)


@dataclass(frozen=True)
class ZdoMessage:
    """Base of every ZDO payload: the transaction sequence number, then the `_LAYOUT` fields,
    whose names are the dataclass field names."""

    CLUSTER_ID: ClassVar[int]
    _LAYOUT: ClassVar[c.Construct]

    tsn: int

    def _body(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "tsn"}

    def build(self) -> bytes:
        try:
            return bytes([self.tsn]) + bytes(self._LAYOUT.build(self._body()))
        except (c.ConstructError, ValueError, TypeError, AttributeError) as exc:
            raise LocalProtocolError(f"cannot build {type(self).__name__}: {exc}") from exc

    @classmethod
    def _from_body(cls, tsn: int, raw: Any) -> Self:
        names = [f.name for f in fields(cls) if f.name != "tsn"]
        return cls(tsn, **{name: raw[name] for name in names})

    @classmethod
    def parse(cls, payload: bytes) -> Self:
        payload = bytes(payload)
        if not payload:
            raise DecodeError(cls.__name__, "a transaction sequence number", payload)
        try:
            raw = cls._LAYOUT.parse(payload[1:])
            return cls._from_body(payload[0], raw)
        except (c.ConstructError, ValueError, LocalProtocolError) as exc:
            reason = str(exc).replace("\n", "; ")
            raise DecodeError(cls.__name__, f"ZDO layout ({reason})", payload) from exc


def _check_descriptor(status: int, descriptor: object) -> None:
    if (status == Status.SUCCESS) != (descriptor is not None):
        raise LocalProtocolError("a descriptor is sent exactly when the status is SUCCESS")


def _layout(*subcons: c.Construct) -> c.Construct:
    return c.Struct(*subcons, c.Terminated)


@dataclass(frozen=True)
class NwkAddrReq(ZdoMessage):
    """NWK_addr_req (0x0000): who has this IEEE address?"""

    CLUSTER_ID = 0x0000
    _LAYOUT = _layout(
        "ieee" / c.Int64ul, "request_type" / _Enum(AddrRequestType), "start_index" / c.Int8ul
    )
    ieee: int
    request_type: zdo_t.AddrRequestType = AddrRequestType.Single
    start_index: int = 0


@dataclass(frozen=True)
class IeeeAddrReq(ZdoMessage):
    """IEEE_addr_req (0x0001): what is the IEEE address of this network address?"""

    CLUSTER_ID = 0x0001
    _LAYOUT = _layout(
        "nwk_addr_of_interest" / c.Int16ul,
        "request_type" / _Enum(AddrRequestType),
        "start_index" / c.Int8ul,
    )
    nwk_addr_of_interest: int
    request_type: zdo_t.AddrRequestType = AddrRequestType.Single
    start_index: int = 0


@dataclass(frozen=True)
class NwkAddrRsp(ZdoMessage):
    """NWK_addr_rsp (0x8000), also the layout of IEEE_addr_rsp.

    `associated` is None for a single-device response; for an extended response it lists the
    associated devices' network addresses from `start_index` (the count and index are left
    out when the list is empty, 2.4.4.2.1).
    """

    CLUSTER_ID = 0x8000
    _LAYOUT = _layout(
        "status" / _STATUS,
        "ieee" / c.Int64ul,
        "nwk" / c.Int16ul,
        "extended"
        / c.Optional(
            c.Struct(
                "count" / c.Rebuild(c.Int8ul, c.len_(c.this.associated)),
                "start_index" / c.If(c.this.count > 0, c.Int8ul),
                "associated" / c.Array(c.this.count, c.Int16ul),
            )
        ),
    )
    status: zdo_t.Status
    ieee: int
    nwk: int
    associated: tuple[int, ...] | None = None
    start_index: int = 0

    def __post_init__(self) -> None:
        if not self.associated and self.start_index:
            raise LocalProtocolError("start index is sent only with associated devices")

    def _body(self) -> dict[str, Any]:
        extended = None
        if self.associated is not None:
            start = self.start_index if self.associated else None
            extended = {"start_index": start, "associated": list(self.associated)}
        return {"status": self.status, "ieee": self.ieee, "nwk": self.nwk, "extended": extended}

    @classmethod
    def _from_body(cls, tsn: int, raw: Any) -> Self:
        ext = raw.extended
        if ext is None:
            return cls(tsn, raw.status, raw.ieee, raw.nwk)
        return cls(tsn, raw.status, raw.ieee, raw.nwk, tuple(ext.associated), ext.start_index or 0)


@dataclass(frozen=True)
class IeeeAddrRsp(NwkAddrRsp):
    """IEEE_addr_rsp (0x8001): same fields as NWK_addr_rsp."""

    CLUSTER_ID = 0x8001


@dataclass(frozen=True)
class NodeDescReq(ZdoMessage):
    """Node_Desc_req (0x0002)."""

    CLUSTER_ID = 0x0002
    _LAYOUT = _layout("nwk_addr_of_interest" / c.Int16ul)
    nwk_addr_of_interest: int


@dataclass(frozen=True)
class NodeDescRsp(ZdoMessage):
    """Node_Desc_rsp (0x8002): the node descriptor follows only a SUCCESS status."""

    CLUSTER_ID = 0x8002
    _LAYOUT = _layout(
        "status" / _STATUS,
        "nwk_addr_of_interest" / c.Int16ul,
        "node_descriptor" / c.If(c.this.status == Status.SUCCESS, _NODE_DESCRIPTOR),
    )
    status: zdo_t.Status
    nwk_addr_of_interest: int
    node_descriptor: zdo_t.NodeDescriptor | None = None

    def __post_init__(self) -> None:
        _check_descriptor(self.status, self.node_descriptor)


@dataclass(frozen=True)
class SimpleDescReq(ZdoMessage):
    """Simple_Desc_req (0x0004)."""

    CLUSTER_ID = 0x0004
    _LAYOUT = _layout("nwk_addr_of_interest" / c.Int16ul, "endpoint" / c.Int8ul)
    nwk_addr_of_interest: int
    endpoint: int


@dataclass(frozen=True)
class SimpleDescRsp(ZdoMessage):
    """Simple_Desc_rsp (0x8004): length-prefixed simple descriptor, length 0 on error."""

    CLUSTER_ID = 0x8004
    _LAYOUT = _layout(
        "status" / _STATUS,
        "nwk_addr_of_interest" / c.Int16ul,
        "simple_descriptor" / _SIMPLE_DESCRIPTOR,
    )
    status: zdo_t.Status
    nwk_addr_of_interest: int
    simple_descriptor: zdo_t.SimpleDescriptor | None = None

    def __post_init__(self) -> None:
        _check_descriptor(self.status, self.simple_descriptor)


@dataclass(frozen=True)
class ActiveEpReq(ZdoMessage):
    """Active_EP_req (0x0005)."""

    CLUSTER_ID = 0x0005
    _LAYOUT = _layout("nwk_addr_of_interest" / c.Int16ul)
    nwk_addr_of_interest: int


@dataclass(frozen=True)
class ActiveEpRsp(ZdoMessage):
    """Active_EP_rsp (0x8005): count-prefixed list of active endpoints."""

    CLUSTER_ID = 0x8005
    _LAYOUT = _layout(
        "status" / _STATUS, "nwk_addr_of_interest" / c.Int16ul, "endpoints" / _Tuple(c.Int8ul)
    )
    status: zdo_t.Status
    nwk_addr_of_interest: int
    endpoints: tuple[int, ...] = ()


@dataclass(frozen=True)
class MatchDescReq(ZdoMessage):
    """Match_Desc_req (0x0006): which endpoints serve this profile and these clusters?"""

    CLUSTER_ID = 0x0006
    _LAYOUT = _layout(
        "nwk_addr_of_interest" / c.Int16ul,
        "profile" / c.Int16ul,
        "in_clusters" / _CLUSTERS,
        "out_clusters" / _CLUSTERS,
    )
    nwk_addr_of_interest: int
    profile: int
    in_clusters: tuple[int, ...] = ()
    out_clusters: tuple[int, ...] = ()


@dataclass(frozen=True)
class MatchDescRsp(ZdoMessage):
    """Match_Desc_rsp (0x8006): the matching endpoints."""

    CLUSTER_ID = 0x8006
    _LAYOUT = _layout(
        "status" / _STATUS, "nwk_addr_of_interest" / c.Int16ul, "matches" / _Tuple(c.Int8ul)
    )
    status: zdo_t.Status
    nwk_addr_of_interest: int
    matches: tuple[int, ...] = ()


@dataclass(frozen=True)
class DeviceAnnce(ZdoMessage):
    """Device_annce (0x0013): a device announces its network and IEEE addresses."""

    CLUSTER_ID = 0x0013
    _LAYOUT = _layout("nwk" / c.Int16ul, "ieee" / c.Int64ul, "capability" / _Enum(Capability))
    nwk: int
    ieee: int
    capability: Capability


@dataclass(frozen=True)
class MgmtLeaveReq(ZdoMessage):
    """Mgmt_Leave_req (0x0034): ask a device (`device` = its IEEE address, or 0) to leave."""

    CLUSTER_ID = 0x0034
    _LAYOUT = _layout("device" / c.Int64ul, "options" / _Enum(MgmtLeaveOptions))
    device: int
    options: MgmtLeaveOptions = MgmtLeaveOptions.NONE


@dataclass(frozen=True)
class MgmtLeaveRsp(ZdoMessage):
    """Mgmt_Leave_rsp (0x8034)."""

    CLUSTER_ID = 0x8034
    _LAYOUT = _layout("status" / _STATUS)
    status: zdo_t.Status


@dataclass(frozen=True)
class MgmtPermitJoiningReq(ZdoMessage):
    """Mgmt_Permit_Joining_req (0x0036): open the network for `permit_duration` seconds."""

    CLUSTER_ID = 0x0036
    _LAYOUT = _layout("permit_duration" / c.Int8ul, "tc_significance" / _BOOL)
    permit_duration: int
    tc_significance: bool = True


@dataclass(frozen=True)
class MgmtPermitJoiningRsp(ZdoMessage):
    """Mgmt_Permit_Joining_rsp (0x8036)."""

    CLUSTER_ID = 0x8036
    _LAYOUT = _layout("status" / _STATUS)
    status: zdo_t.Status


ZDO_MESSAGES: dict[int, type[ZdoMessage]] = {
    cls.CLUSTER_ID: cls
    for cls in (
        NwkAddrReq,
        NwkAddrRsp,
        IeeeAddrReq,
        IeeeAddrRsp,
        NodeDescReq,
        NodeDescRsp,
        SimpleDescReq,
        SimpleDescRsp,
        ActiveEpReq,
        ActiveEpRsp,
        MatchDescReq,
        MatchDescRsp,
        DeviceAnnce,
        MgmtLeaveReq,
        MgmtLeaveRsp,
        MgmtPermitJoiningReq,
        MgmtPermitJoiningRsp,
    )
}


def parse_zdo(cluster_id: int, payload: bytes) -> ZdoMessage:
    """Decode a ZDO payload by its cluster (the ZDO command); DecodeError for ones not here."""
    try:
        kind = ZDO_MESSAGES[cluster_id]
    except KeyError:
        known = ", ".join(f"0x{k:04x}" for k in sorted(ZDO_MESSAGES))
        raise DecodeError("ZDO payload", f"cluster one of {known}", f"0x{cluster_id:04x}") from None
    return kind.parse(payload)
