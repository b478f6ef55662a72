"""Sending APS data (APSDE-DATA.request, ZigBee spec 2.2.4.1): the host's unicasts and broadcasts
(EZSP sendUnicast, sendBroadcast, sendReply) and the stack's own APS frames.

A unicast is APS-secured first when it must be (`aps_security.py`), then handed to
`aps_delivery.py`, which reports it to the host when it is acked or given up. A frame the host
addresses to its own node never goes on the air: it is looped back to the receive path.
"""

from __future__ import annotations

from collections.abc import Callable

import bellows.types as t

from protocol.zigbee_aps import ApsFrame, ApsFrameType, DeliveryMode

from .aps_delivery import ApsDelivery
from .aps_security import ApsSecurity
from .frame_transmitter import max_aps_payload
from .stack_services import BROADCAST_ADDRESSES, StackServices

C = t.EmberCounterType
#: Hand an APS frame for ourselves to the receive path, as if it had been received.
Loopback = Callable[[ApsFrame], None]
DEFAULT_RADIUS = 30


class ApsData:
    def __init__(
        self,
        stack: StackServices,
        delivery: ApsDelivery,
        security: ApsSecurity,
        loopback: Loopback,
    ) -> None:
        self.stack = stack
        self.state = stack.state
        self._delivery = delivery
        self._security = security
        self._loopback = loopback

    def send_unicast(
        self, destination: int, aps_frame: t.EmberApsFrame, tag: int, payload: bytes
    ) -> tuple[t.sl_Status, int]:
        if not self.state.joined:
            return t.sl_Status.NETWORK_DOWN, 0
        secured = self._security.wants(aps_frame)
        if len(payload) > max_aps_payload(aps_secured=secured):
            return t.sl_Status.MESSAGE_TOO_LONG, 0
        counter = self.stack.next_aps_counter()
        wants_ack = bool(aps_frame.options & t.EmberApsOption.APS_OPTION_RETRY)
        aps = ApsFrame(
            frame_type=ApsFrameType.DATA,
            counter=counter,
            dst_endpoint=int(aps_frame.destinationEndpoint),
            cluster=int(aps_frame.clusterId),
            profile=int(aps_frame.profileId),
            src_endpoint=int(aps_frame.sourceEndpoint),
            ack_request=wants_ack,
            payload=payload,
        )
        sent = aps_frame.replace(sequence=counter)
        if destination == self.state.node_id:
            self.stack.later(0, self._loopback, aps)
            self._delivery.report_sent(destination, sent, tag, payload, t.sl_Status.OK)
            return t.sl_Status.OK, counter

        def transmit(frame: ApsFrame) -> None:
            self._delivery.transmit_unicast(destination, frame, sent, tag, payload)

        if secured:
            failed = t.sl_Status.ZIGBEE_DELIVERY_FAILED
            self._security.send(
                destination,
                aps,
                transmit,
                lambda: self._delivery.report_sent(destination, sent, tag, payload, failed),
            )
        else:
            transmit(aps)
        return t.sl_Status.OK, counter

    def send_broadcast(
        self, destination: int, aps_frame: t.EmberApsFrame, radius: int, tag: int, payload: bytes
    ) -> tuple[t.sl_Status, int]:
        if not self.state.joined:
            return t.sl_Status.NETWORK_DOWN, 0
        if len(payload) > max_aps_payload(aps_secured=False):
            return t.sl_Status.MESSAGE_TOO_LONG, 0
        counter = self.stack.next_aps_counter()
        aps = ApsFrame(
            frame_type=ApsFrameType.DATA,
            counter=counter,
            delivery_mode=DeliveryMode.BROADCAST,
            dst_endpoint=int(aps_frame.destinationEndpoint),
            cluster=int(aps_frame.clusterId),
            profile=int(aps_frame.profileId),
            src_endpoint=int(aps_frame.sourceEndpoint),
            payload=payload,
        )
        nwk = self.stack.nwk_data_frame(destination, aps.build(), radius or DEFAULT_RADIUS)
        self.stack.transmit_mac_data(0xFFFF, nwk)
        self.stack.count(C.COUNTER_APS_DATA_TX_BROADCAST)
        sent = aps_frame.replace(sequence=counter)
        self._delivery.report_sent(
            destination,
            sent,
            tag,
            payload,
            t.sl_Status.OK,
            t.EmberOutgoingMessageType.OUTGOING_BROADCAST,
        )
        return t.sl_Status.OK, counter

    def send_aps(self, destination: int, aps: ApsFrame) -> None:
        """Put a stack-originated APS frame (ZDO answers, acks, commands) on its way, looping
        back frames for ourselves."""
        if destination == self.state.node_id:
            self.stack.later(0, self._loopback, aps)
            return
        broadcast = destination in BROADCAST_ADDRESSES
        self.stack.transmit_mac_data(
            0xFFFF if broadcast else destination,
            self.stack.nwk_data_frame(destination, aps.build()),
        )
