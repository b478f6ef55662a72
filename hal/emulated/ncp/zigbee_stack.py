"""The small ZigBee PRO stack inside the emulated NCP: MAC, NWK and APS on the virtual channel.

What it does, as EmberZNet does for its host: forms a network (coordinator / trust centre) or
joins one (router, end device), carries APS data frames with APS acknowledgements and retries,
answers ZDO requests addressed to its own endpoints, and reports to the host through EZSP
callbacks (`stackStatusHandler`, `incomingMessageHandler`, `messageSentHandler`,
`trustCenterJoinHandler`, `childJoinHandler`).

This module composes the stack from its parts and is what the EZSP handlers drive:

- transmit path `frame_transmitter.py`, receive path `frame_receiver.py`;
- NWK routing `nwk_routing.py`; APS data `aps_data.py`, delivery `aps_delivery.py` and security
  `aps_security.py`; ZDO `zdo_server.py`;
- network management `network_management.py`; the joiner `joiner.py`; the parent
  `join_parent.py`, trust centre `trust_centre.py` and a router's join relay `join_relay.py`;
  leaving `leaving.py`.

The parts see the stack only as `stack_services.StackServices`, which `ZigbeeStack` implements, so
none of them imports this module. Every delay and deadline goes through the injected `timer`.

`reboot` is the chip restarting (a new host session, a host RST, a watchdog): what EmberZNet
keeps in RAM is lost (the network is down until networkInit, endpoints, neighbours, routes,
address and multicast tables, counters, anything in flight) and the tokens stay.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import TypeVarTuple

import bellows.types as t

from hal.radio_link import RadioLink
from protocol.air_link import Receive
from protocol.ieee802154 import FrameType
from protocol.zigbee_aps import ApsFrame
from protocol.zigbee_nwk import NwkFrameType

from .aps_data import ApsData
from .aps_delivery import ApsDelivery
from .aps_security import ApsSecurity
from .channel_energy import ChannelEnergy
from .frame_receiver import FrameReceiver, ReceiverParts
from .frame_transmitter import FrameTransmitter
from .join_parent import JoinParent
from .join_relay import JoinRelay
from .joiner import Joiner
from .leaving import Leaving
from .network_management import NetworkManagement
from .nwk_routing import NwkRouting
from .stack_services import EmitCallback
from .state import NcpState, NetworkRole
from .timer import AsyncioTimer, BootTimer, Timer
from .tokens import NcpTokens
from .trust_centre import TrustCentre
from .zdo_server import ZdoServer

Ts = TypeVarTuple("Ts")


class ZigbeeStack:
    """One node's ZigBee stack, attached to the air through a `RadioLink`."""

    def __init__(
        self,
        state: NcpState,
        radio: RadioLink,
        emit: EmitCallback,
        tokens: NcpTokens | None = None,
        timer: Timer | None = None,
    ) -> None:
        """`timer` defaults to the running event loop's (`timer.AsyncioTimer`)."""
        self.state = state
        self.tokens = tokens if tokens is not None else NcpTokens(None, state.eui64)
        self.radio = radio
        self.emit = emit
        self._boot_timer = BootTimer(timer if timer is not None else AsyncioTimer())
        self.timer: Timer = self._boot_timer
        self._counters: collections.Counter[int] = collections.Counter()
        #: What the radio hears on each channel, for energy scans.
        self.energy = ChannelEnergy()
        self._build_parts()

    def _build_parts(self) -> None:
        """The parts of the stack, as a boot creates them (nothing in flight, no routes)."""
        state, radio = self.state, self.radio
        self.routing = NwkRouting(self)
        self.transmitter = FrameTransmitter(
            state, self.tokens, radio, self.count, self.routing.next_hop
        )
        self.network = NetworkManagement(self, self.routing)
        # Late-bound through methods of ours: the ZDO server asks to leave, the joiner to
        # announce, before (or regardless of how) the parts that do it are built.
        self.zdo = ZdoServer(self, self.network.permit_joining, self._leave)
        self.joiner = Joiner(self, self._announce)
        self.trust_centre = TrustCentre(self, self.routing)
        self.relay = JoinRelay(self, self.routing)
        self.parent = JoinParent(self, self.network, self.routing, self.trust_centre, self.relay)
        self.leaving = Leaving(self, self.joiner, self.parent, self.trust_centre)
        self.aps_security = ApsSecurity(self, self.zdo.next_tsn)
        self.delivery = ApsDelivery(self, self.aps_security.delivery_failed)
        self.receiver = FrameReceiver(
            self,
            ReceiverParts(
                transmitter=self.transmitter,
                tokens=self.tokens,
                routing=self.routing,
                joiner=self.joiner,
                parent=self.parent,
                trust_centre=self.trust_centre,
                relay=self.relay,
                leaving=self.leaving,
                delivery=self.delivery,
                aps_security=self.aps_security,
                zdo=self.zdo,
            ),
        )
        self.aps_data = ApsData(self, self.delivery, self.aps_security, self.receiver.loopback)

    def reboot(self) -> None:
        """The chip restarts: RAM state and everything scheduled are lost, tokens stay."""
        self._boot_timer.reboot()
        s = self.state
        s.network_status = t.EmberNetworkStatus.NO_NETWORK
        s.endpoints.clear()
        s.neighbours.clear()
        s.address_table.clear()
        s.multicast_table.clear()
        s.extended_timeout.clear()
        s.permit_join_until = 0.0
        self._counters.clear()
        self._build_parts()

    def _leave(self) -> None:
        self.leaving.leave()

    def _announce(self) -> None:
        self.zdo.announce()

    # -- host-facing operations (EZSP) -------------------------------------------------------

    def counters(self) -> list[int]:
        return [self._counters[int(counter)] for counter in t.EmberCounterType]

    def clear_counters(self) -> None:
        self._counters.clear()

    def network_init(self) -> t.sl_Status:
        return self.network.network_init()

    def form_network(self, params: t.EmberNetworkParameters) -> t.sl_Status:
        return self.network.form_network(params)

    def join_network(self, role: NetworkRole, params: t.EmberNetworkParameters) -> t.sl_Status:
        return self.joiner.start(role, params)

    def leave_network(self) -> t.sl_Status:
        return self.network.leave_network()

    def factory_reset(self, keep_outgoing_fc: bool) -> None:
        self.network.factory_reset(keep_outgoing_fc)

    def permit_joining(self, duration: int) -> t.sl_Status:
        return self.network.permit_joining(duration)

    def start_scan(
        self, scan_type: t.EzspNetworkScanType, channels: list[int], duration: int
    ) -> t.sl_Status:
        return self.network.start_scan(scan_type, channels, duration)

    def remove_device(self, dest_short: int, dest_long: int, target_long: int) -> t.sl_Status:
        return self.trust_centre.remove_device(dest_short, dest_long, target_long)

    def send_unicast(
        self, destination: int, aps_frame: t.EmberApsFrame, tag: int, payload: bytes
    ) -> tuple[t.sl_Status, int]:
        return self.aps_data.send_unicast(destination, aps_frame, tag, payload)

    def send_broadcast(
        self, destination: int, aps_frame: t.EmberApsFrame, radius: int, tag: int, payload: bytes
    ) -> tuple[t.sl_Status, int]:
        return self.aps_data.send_broadcast(destination, aps_frame, radius, tag, payload)

    def receive(self, message: Receive) -> None:
        """A frame from the air: energy on its channel, and a frame if it is on ours."""
        self.energy.heard(message.channel, message.rssi, self.timer.monotonic())
        self.receiver.receive(message)

    # -- StackServices: what the parts use ---------------------------------------------------

    def later(self, delay_s: float, func: Callable[[*Ts], object], *args: *Ts) -> None:
        """Run after the current EZSP response has gone out, as the NCP's event loop would."""
        self.timer.call_later(delay_s, func, *args)

    def count(self, counter: t.EmberCounterType) -> None:
        self._counters[int(counter)] += 1

    @property
    def joining_in_progress(self) -> bool:
        return self.joiner.active

    def drop_membership(self) -> None:
        self.network.drop_membership()

    def forget_peer_counters(self, eui64: int) -> None:
        self.state.incoming_nwk_counters.pop(eui64, None)
        self.aps_security.forget_counter(eui64)

    def next_aps_counter(self) -> int:
        return self.transmitter.next_aps_counter()

    def next_frame_counter(self, kind: str) -> int:
        return self.transmitter.next_frame_counter(kind)

    def nwk_frame(
        self,
        destination: int,
        payload: bytes,
        *,
        frame_type: NwkFrameType,
        radius: int = 30,
        secure: bool = True,
    ) -> bytes:
        return self.transmitter.nwk_frame(
            destination, payload, frame_type=frame_type, radius=radius, secure=secure
        )

    def nwk_data_frame(self, destination: int, payload: bytes, radius: int = 30) -> bytes:
        return self.transmitter.nwk_data_frame(destination, payload, radius)

    def transmit_mac(
        self,
        frame_type: FrameType,
        payload: bytes,
        *,
        dst_pan: int | None,
        dst: int | None,
        src: int | None,
        src_pan: int | None = None,
        ack_request: bool = False,
    ) -> None:
        self.transmitter.transmit_mac(
            frame_type,
            payload,
            dst_pan=dst_pan,
            dst=dst,
            src=src,
            src_pan=src_pan,
            ack_request=ack_request,
        )

    def transmit_mac_data(self, destination: int, nwk_frame: bytes) -> None:
        self.transmitter.transmit_mac_data(destination, nwk_frame)

    def send_aps(self, destination: int, aps: ApsFrame) -> None:
        self.aps_data.send_aps(destination, aps)
