"""APS reliable delivery (ZigBee spec 2.2.8.4.2, 2.2.8.4.4): acknowledgements, retries, duplicate
rejection, and the `messageSentHandler` reports EmberZNet gives its host for each message.

A unicast sent with APS_OPTION_RETRY is reported only when the destination's APS ack arrives
(SUCCESS) or after the last retry (DELIVERY_FAILED), so bellows and zigpy learn exactly whether a
frame got through. Retransmissions from a peer are acked again but delivered once.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable

import bellows.types as t

from protocol.zigbee_aps import ApsFrame, ApsFrameType

from .stack_services import StackServices
from .timer import TimerHandle

APS_ACK_TIMEOUT_S = 1.0
APS_RETRIES = 2
#: apsDuplicateRejectionTimeout: a (sender, APS counter) pair is a retransmission only within this
#: window; the 8-bit counter wraps, so remembering pairs for longer would drop fresh frames.
DUPLICATE_WINDOW_S = APS_ACK_TIMEOUT_S * APS_RETRIES + 0.5
#: Counters remembered per sender (the duplicate-rejection table's depth for one source).
DUPLICATE_MEMORY = 16
C = t.EmberCounterType
#: Told the NWK destination of a unicast whose APS ack never came (after the last retry).
DeliveryFailed = Callable[[int], None]


@dataclasses.dataclass
class _PendingAck:
    destination: int
    aps_frame: t.EmberApsFrame
    tag: int
    payload: bytes
    aps_frame_bytes: bytes
    tries: int = 0
    timer: TimerHandle | None = None


class ApsDelivery:
    def __init__(self, stack: StackServices, delivery_failed: DeliveryFailed) -> None:
        self.stack = stack
        self._delivery_failed = delivery_failed
        self._pending: dict[tuple[int, int], _PendingAck] = {}
        self._seen: dict[int, collections.deque[tuple[int, float]]] = {}

    # -- sending ---------------------------------------------------------------------------

    def transmit_unicast(
        self, destination: int, aps: ApsFrame, sent: t.EmberApsFrame, tag: int, payload: bytes
    ) -> None:
        """Put a host's unicast (APS-secured already if it must be) on the air and report it:
        at once, or when its APS ack comes if it asked for one."""
        aps_bytes = aps.build()
        self.stack.transmit_mac_data(destination, self.stack.nwk_data_frame(destination, aps_bytes))
        self.stack.count(C.COUNTER_APS_DATA_TX_UNICAST_SUCCESS)
        if aps.ack_request:
            self.expect_ack(destination, aps.counter, sent, tag, payload, aps_bytes)
        else:
            self.report_sent(destination, sent, tag, payload, t.sl_Status.OK)

    def expect_ack(
        self,
        destination: int,
        counter: int,
        aps_frame: t.EmberApsFrame,
        tag: int,
        payload: bytes,
        aps_bytes: bytes,
    ) -> None:
        """Hold the report of a unicast until its APS ack, retrying meanwhile."""
        pending = _PendingAck(destination, aps_frame, tag, payload, aps_bytes)
        self._pending[(destination, counter)] = pending
        self._arm_retry(pending, counter)

    def report_sent(
        self,
        destination: int,
        aps_frame: t.EmberApsFrame,
        tag: int,
        payload: bytes,
        status: t.sl_Status,
        kind: t.EmberOutgoingMessageType = t.EmberOutgoingMessageType.OUTGOING_DIRECT,
    ) -> None:
        """`messageSentHandler`, after the current EZSP response has gone out."""
        values = {
            "status": status,
            "message_type": kind,
            "nwk": destination,
            "indexOrDestination": destination,
            "aps_frame": aps_frame,
            "message_tag": tag,
            "message": payload,
        }
        self.stack.later(0, self.stack.emit, "messageSentHandler", values)

    def _arm_retry(self, pending: _PendingAck, counter: int) -> None:
        pending.timer = self.stack.timer.call_later(
            APS_ACK_TIMEOUT_S, self._retry, pending, counter
        )

    def _retry(self, pending: _PendingAck, counter: int) -> None:
        if self._pending.get((pending.destination, counter)) is not pending:
            return
        if pending.tries >= APS_RETRIES:
            del self._pending[(pending.destination, counter)]
            self.stack.count(C.COUNTER_APS_DATA_TX_UNICAST_FAILED)
            self._delivery_failed(pending.destination)
            self.report_sent(
                pending.destination,
                pending.aps_frame,
                pending.tag,
                pending.payload,
                t.sl_Status.ZIGBEE_DELIVERY_FAILED,
            )
            return
        pending.tries += 1
        self.stack.count(C.COUNTER_APS_DATA_TX_UNICAST_RETRY)
        # An APS retry is a new NWK frame with a fresh frame counter (the NWK layer secures
        # each transmission): resending the old bytes would be dropped as a replay.
        retry = self.stack.nwk_data_frame(pending.destination, pending.aps_frame_bytes)
        self.stack.transmit_mac_data(pending.destination, retry)
        self._arm_retry(pending, counter)

    # -- receiving -------------------------------------------------------------------------

    def ack_received(self, source: int, counter: int) -> None:
        pending = self._pending.pop((source, counter), None)
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        self.report_sent(
            pending.destination, pending.aps_frame, pending.tag, pending.payload, t.sl_Status.OK
        )

    def acknowledge(self, destination: int, aps: ApsFrame) -> None:
        ack = ApsFrame(
            frame_type=ApsFrameType.ACK,
            counter=aps.counter,
            dst_endpoint=aps.src_endpoint,
            cluster=aps.cluster,
            profile=aps.profile,
            src_endpoint=aps.dst_endpoint,
        )
        self.stack.transmit_mac_data(
            destination, self.stack.nwk_data_frame(destination, ack.build())
        )

    def duplicate(self, source: int, counter: int) -> bool:
        """True for a retransmission of a frame first seen within the rejection window.

        Like the stack's small duplicate-rejection table, only the last few counters of each
        sender are remembered: a retry comes back within a second, after at most a few other
        frames from the same sender, whereas a counter that merely wrapped (256 frames later,
        which a fast burst reaches within the window) is a new frame.
        """
        now = self.stack.timer.monotonic()
        recent = self._seen.setdefault(source, collections.deque(maxlen=DUPLICATE_MEMORY))
        if any(seen == counter and now - at < DUPLICATE_WINDOW_S for seen, at in recent):
            return True
        recent.append((counter, now))
        return False
