"""ZDO requests the NCP answers on its own, from its endpoints and state (ZigBee spec 2.4).

EmberZNet answers descriptor and address requests about itself without involving the host; we do
the same, using zigpy's ZDO types for the payloads (so the hub's zigpy parses exactly what it
builds). Responses and announcements addressed to us go up to the host; requests we do not
support are answered with NOT_SUPPORTED, never silently dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import zigpy.types as zt
import zigpy.zdo.types as zdo

from protocol.zigbee_aps import ApsFrame, ApsFrameType, DeliveryMode
from protocol.zigbee_nwk import NwkFrame

from .stack_services import StackServices
from .state import NetworkRole

LOGGER = logging.getLogger(__name__)
ZDO_PROFILE = 0x0000
NOT_SUPPORTED = 0x84
BROADCAST_RX_ON = 0xFFFD
#: Mgmt_Permit_Joining_req: open (or close) joining for that many seconds.
PermitJoining = Callable[[int], object]
#: Mgmt_Leave_req naming us: leave the network as NLME-LEAVE.request does.
Leave = Callable[[], None]


class ZdoServer:
    def __init__(self, stack: StackServices, permit_joining: PermitJoining, leave: Leave) -> None:
        self.stack = stack
        self.state = stack.state
        self._permit = permit_joining
        self._leave = leave
        self._tsn = 0

    def handle(self, nwk: NwkFrame, aps: ApsFrame) -> bool:
        """Answer a ZDO request for us; False means "pass it to the host"."""
        cluster = aps.cluster or 0
        if cluster & 0x8000 or cluster == zdo.ZDOCmd.Device_annce:
            return False
        payload = bytes(aps.payload)
        if not payload:
            return True
        tsn, body = payload[0], payload[1:]
        handlers: dict[int, Callable[[bytes, bool], bytes | None]] = {
            zdo.ZDOCmd.NWK_addr_req: self._nwk_addr,
            zdo.ZDOCmd.IEEE_addr_req: self._ieee_addr,
            zdo.ZDOCmd.Node_Desc_req: self._node_desc,
            zdo.ZDOCmd.Simple_Desc_req: self._simple_desc,
            zdo.ZDOCmd.Active_EP_req: self._active_ep,
            zdo.ZDOCmd.Match_Desc_req: self._match_desc,
            zdo.ZDOCmd.Mgmt_Permit_Joining_req: self._permit_joining,
            zdo.ZDOCmd.Mgmt_Leave_req: self._mgmt_leave,
        }
        handler = handlers.get(cluster)
        if handler is None:
            if nwk.dst == self.state.node_id:
                self._send(nwk.src, cluster | 0x8000, bytes([tsn, NOT_SUPPORTED]))
            return True
        try:
            reply = handler(body, nwk.dst == self.state.node_id)
        except (ValueError, KeyError) as exc:
            LOGGER.info("malformed ZDO request 0x%04x: %s", cluster, exc)
            return True
        if reply is not None:
            self._send(nwk.src, cluster | 0x8000, bytes([tsn]) + reply)
        return True

    def announce(self) -> None:
        """Device_annce after joining, so the network (and zigpy) learns our addresses."""
        capability = 0x80 | (0x0E if self.state.role == NetworkRole.ROUTER else 0x08)
        body = self._own_nwk() + zt.EUI64(self.state.eui64.to_bytes(8, "little")).serialize()
        self._send(
            BROADCAST_RX_ON,
            zdo.ZDOCmd.Device_annce,
            bytes([self.next_tsn()]) + body + bytes([capability]),
        )

    def _own_nwk(self) -> bytes:
        """Our short address as ZDO payloads carry it (little-endian NWK)."""
        return self.state.node_id.to_bytes(2, "little")

    # -- requests ---------------------------------------------------------------------

    def _nwk_addr(self, body: bytes, unicast: bool) -> bytes | None:
        ieee, _ = zt.EUI64.deserialize(body)
        if int.from_bytes(bytes(ieee.serialize()), "little") != self.state.eui64:
            return None if not unicast else bytes([zdo.Status.DEVICE_NOT_FOUND])
        return self._address_response()

    def _ieee_addr(self, body: bytes, unicast: bool) -> bytes | None:
        nwk, _ = zt.NWK.deserialize(body)
        if nwk != self.state.node_id:
            return None if not unicast else bytes([zdo.Status.DEVICE_NOT_FOUND])
        return self._address_response()

    def _address_response(self) -> bytes:
        return (
            bytes([zdo.Status.SUCCESS])
            + zt.EUI64(self.state.eui64.to_bytes(8, "little")).serialize()
            + self._own_nwk()
        )

    def _node_desc(self, body: bytes, unicast: bool) -> bytes | None:
        role = self.state.role
        logical = {
            NetworkRole.COORDINATOR: zdo.LogicalType.Coordinator,
            NetworkRole.ROUTER: zdo.LogicalType.Router,
        }.get(role, zdo.LogicalType.EndDevice)  # type: ignore[arg-type]
        mac_flags = zdo.NodeDescriptor.MACCapabilityFlags.AllocateAddress
        if role in (NetworkRole.COORDINATOR, NetworkRole.ROUTER):
            mac_flags |= (
                zdo.NodeDescriptor.MACCapabilityFlags.FullFunctionDevice
                | zdo.NodeDescriptor.MACCapabilityFlags.MainsPowered
                | zdo.NodeDescriptor.MACCapabilityFlags.RxOnWhenIdle
            )
        descriptor = zdo.NodeDescriptor(  # type: ignore[no-untyped-call]
            logical_type=logical,
            complex_descriptor_available=0,
            user_descriptor_available=0,
            reserved=0,
            aps_flags=0,
            frequency_band=zdo.NodeDescriptor.FrequencyBand.Freq2400MHz,
            mac_capability_flags=mac_flags,
            manufacturer_code=self.state.manufacturer_code,
            maximum_buffer_size=82,
            maximum_incoming_transfer_size=82,
            server_mask=0x2C00 | (0x41 if role == NetworkRole.COORDINATOR else 0),
            maximum_outgoing_transfer_size=82,
            descriptor_capability_field=zdo.NodeDescriptor.DescriptorCapability.NONE,
        )
        return bytes([zdo.Status.SUCCESS]) + self._own_nwk() + bytes(descriptor.serialize())

    def _simple_desc(self, body: bytes, unicast: bool) -> bytes:
        _nwk, rest = zt.NWK.deserialize(body)
        endpoint = self.state.endpoints.get(rest[0]) if rest else None
        if endpoint is None:
            return bytes([zdo.Status.NOT_ACTIVE]) + self._own_nwk() + b"\x00"
        descriptor = zdo.SizePrefixedSimpleDescriptor(
            endpoint=endpoint.endpoint,
            profile=endpoint.profile_id,
            device_type=endpoint.device_id,
            device_version=endpoint.device_version,
            input_clusters=endpoint.input_clusters,
            output_clusters=endpoint.output_clusters,
        )
        return bytes([zdo.Status.SUCCESS]) + self._own_nwk() + bytes(descriptor.serialize())  # type: ignore[no-untyped-call]

    def _active_ep(self, body: bytes, unicast: bool) -> bytes:
        endpoints = sorted(self.state.endpoints)
        return bytes([zdo.Status.SUCCESS]) + self._own_nwk() + bytes([len(endpoints), *endpoints])

    def _match_desc(self, body: bytes, unicast: bool) -> bytes | None:
        _nwk, rest = zt.NWK.deserialize(body)
        profile, rest = zt.uint16_t.deserialize(rest)
        in_clusters, rest = zt.LVList[zt.uint16_t, zt.uint8_t].deserialize(rest)
        out_clusters, rest = zt.LVList[zt.uint16_t, zt.uint8_t].deserialize(rest)
        matches = [
            ep.endpoint
            for ep in self.state.endpoints.values()
            if ep.profile_id == profile
            and (
                set(in_clusters) & set(ep.input_clusters)
                or set(out_clusters) & set(ep.output_clusters)
            )
        ]
        if not matches and not unicast:
            return None  # broadcasts are answered only by nodes that match (spec 2.4.4.2.7)
        return bytes([zdo.Status.SUCCESS]) + self._own_nwk() + bytes([len(matches), *matches])

    def _permit_joining(self, body: bytes, unicast: bool) -> bytes | None:
        if self.state.role in (NetworkRole.COORDINATOR, NetworkRole.ROUTER) and body:
            self._permit(body[0])
        return bytes([zdo.Status.SUCCESS]) if unicast else None

    def _mgmt_leave(self, body: bytes, unicast: bool) -> bytes | None:
        """Mgmt_Leave_req (ZigBee spec 2.4.3.3.5): a request naming us (or no one: all-zero
        EUI-64) is answered with SUCCESS, then the node leaves once the answer is on the air.
        Removing a child of ours this way is not supported (no routing here); rejoin is not
        offered either — a hub removing a device (clause 17.2.6) never asks for it."""
        ieee, rest = zt.EUI64.deserialize(body)
        target = int.from_bytes(bytes(ieee.serialize()), "little")
        if target not in (0, self.state.eui64) or not rest or rest[0] & 0x80:
            return bytes([zdo.Status.NOT_SUPPORTED]) if unicast else None
        if not unicast or self.state.role == NetworkRole.COORDINATOR:
            return bytes([zdo.Status.NOT_SUPPORTED]) if unicast else None
        self.stack.later(0, self._leave)
        return bytes([zdo.Status.SUCCESS])

    # -- sending ---------------------------------------------------------------------

    def next_tsn(self) -> int:
        self._tsn = (self._tsn + 1) & 0xFF
        return self._tsn

    def _send(self, destination: int, cluster: int, payload: bytes) -> None:
        broadcast = destination >= 0xFFF8
        aps = ApsFrame(
            frame_type=ApsFrameType.DATA,
            counter=self.stack.next_aps_counter(),
            delivery_mode=DeliveryMode.BROADCAST if broadcast else DeliveryMode.UNICAST,
            dst_endpoint=0,
            cluster=cluster,
            profile=ZDO_PROFILE,
            src_endpoint=0,
            payload=payload,
        )
        self.stack.send_aps(destination, aps)
