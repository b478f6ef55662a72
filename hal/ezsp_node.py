"""`HanRadio` on any EZSP NCP: how a meter or IHD drives its own radio through bellows.

bellows' ControllerApplication only runs coordinators, so a joining device uses raw
`bellows.ezsp.EZSP` (DESIGN.md §8): connect, write the stack configuration, set the initial
security state with the install-code link key as the preconfigured key, register its Smart Energy
endpoint, join, then send and receive APS messages. The same code drives an emulated NCP (behind
a pseudo-terminal or `socket://`) and a real dongle on a serial port: whatever `Ncp` it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import bellows.types as t
import zigpy.config as zigpy_config
from bellows.ezsp import EZSP

from hal.radio import EndpointDescriptor, IncomingMessage, Ncp, OnMessage, OnNetworkDown
from protocol.errors import TransientLinkError
from protocol.se_aps_policy import needs_aps_encryption
from protocol.zigbee_ids import BROADCAST_RX_ON_WHEN_IDLE, SE_PROFILE

__all__ = ["EzspNodeRadio"]

LOGGER = logging.getLogger(__name__)
JOIN_TIMEOUT_S = 15.0
SEND_TIMEOUT_S = 8.0


class EzspNodeRadio:
    """`hal.radio.HanRadio`: a joining (non-coordinator) ZigBee node on an EZSP NCP."""

    def __init__(self, ncp: Ncp) -> None:
        self.ncp = ncp
        self.endpoint = EndpointDescriptor(1, 0, (), ())
        self.router = False
        self._powered = False
        self._path = ""
        self._ezsp: EZSP | None = None
        self._on_message: OnMessage | None = None
        self._on_down: OnNetworkDown | None = None
        self._sent: dict[int, asyncio.Future[t.sl_Status]] = {}
        self._tag = 0
        self.node_id: int | None = None

    @property
    def joined(self) -> bool:
        return self.node_id is not None

    async def connect(
        self,
        endpoint: EndpointDescriptor,
        *,
        router: bool,
        on_message: OnMessage,
        on_network_down: OnNetworkDown | None = None,
    ) -> None:
        self.endpoint, self.router = endpoint, router
        self._on_message = on_message
        self._on_down = on_network_down
        if not self._powered:
            path = await self.ncp.power_on()
            self._powered = True
            self._path = path
        config = zigpy_config.SCHEMA_DEVICE({zigpy_config.CONF_DEVICE_PATH: self._path})
        ezsp = EZSP(config)
        try:
            await ezsp.connect(use_thread=False)
        except Exception as exc:
            raise TransientLinkError(f"cannot open the EZSP radio at {self._path}: {exc}") from exc
        self._ezsp = ezsp
        ezsp.add_callback(self._callback)
        await ezsp.write_config({})

    async def close(self) -> None:
        """Close the host link; the NCP stays powered (its tokens and network survive)."""
        if self._ezsp is not None:
            with contextlib.suppress(Exception):
                await self._ezsp.disconnect()
            self._ezsp = None

    async def power_off(self) -> None:
        await self.close()
        if self._powered:
            self._powered = False
            await self.ncp.power_off()

    async def resume(self) -> int | None:
        """Bring back the network the radio remembers in its tokens; our node id, or None.

        After a reboot an EmberZNet NCP keeps its network membership in non-volatile tokens but
        stays off the network until the host calls `networkInit` (which needs our endpoint
        registered first). A radio that resumes must not join again: joining would cost a new
        trust-centre key transport and, on a real network, a new commissioning.
        """
        ezsp = self._require()
        await self._add_endpoint(ezsp)
        (state,) = await ezsp.networkState()
        if state == t.EmberNetworkStatus.JOINED_NETWORK:
            (node_id,) = await ezsp.getNodeId()
            self.node_id = int(node_id)
            return self.node_id
        with ezsp.wait_for_stack_status(t.sl_Status.NETWORK_UP) as network_up:
            (status,) = await ezsp.networkInit(
                networkInitBitmask=t.EmberNetworkInitBitmask.NETWORK_INIT_NO_OPTIONS
            )
            if t.sl_Status.from_ember_status(status) != t.sl_Status.OK:
                return None  # no network in the tokens: the caller joins
            try:
                async with asyncio.timeout(JOIN_TIMEOUT_S):
                    await network_up
            except TimeoutError:
                return None
        (node_id,) = await ezsp.getNodeId()
        self.node_id = int(node_id)
        return self.node_id

    async def counters(self) -> dict[str, int]:
        """The NCP's EmberCounterType counters (`readCounters`), by name without COUNTER_.

        EmberZNet has no callback for dropped frames; the host sees frames that failed the MIC,
        replays and malformed frames only by polling these (clauses 18.11.f, 18.11.j)."""
        values = await self._require().readCounters()
        return {
            counter.name.removeprefix("COUNTER_"): int(value)
            for counter, value in zip(t.EmberCounterType, values[0], strict=False)
        }

    async def _add_endpoint(self, ezsp: EZSP) -> None:
        ep = self.endpoint
        # The status is not checked: the NCP refuses an endpoint it already has, which is fine.
        await ezsp.addEndpoint(
            endpoint=ep.endpoint,
            profileId=ep.profile_id,
            deviceId=ep.device_id,
            deviceVersion=0,
            inputClusterCount=len(ep.input_clusters),
            outputClusterCount=len(ep.output_clusters),
            inputClusterList=list(ep.input_clusters),
            outputClusterList=list(ep.output_clusters),
        )

    async def join(self, *, link_key: bytes, channel: int, extended_pan_id: int = 0) -> int:
        """Join the network whose trust centre holds our install-code key; returns our node id."""
        ezsp = self._require()
        bitmask = (
            t.EmberInitialSecurityBitmask.HAVE_PRECONFIGURED_KEY
            | t.EmberInitialSecurityBitmask.REQUIRE_ENCRYPTED_KEY
        )
        state = t.EmberInitialSecurityState(
            bitmask=bitmask,
            preconfiguredKey=t.KeyData(link_key),
            networkKey=t.KeyData(bytes(16)),
            networkKeySequenceNumber=0,
            preconfiguredTrustCenterEui64=t.EUI64(bytes(8)),
        )
        (status,) = await ezsp.setInitialSecurityState(state=state)
        _check(status, "setInitialSecurityState")
        await self._add_endpoint(ezsp)
        params = t.EmberNetworkParameters(
            extendedPanId=t.ExtendedPanId(extended_pan_id.to_bytes(8, "little")),
            panId=0,
            radioTxPower=8,
            radioChannel=channel,
            joinMethod=t.EmberJoinMethod.USE_MAC_ASSOCIATION,
            nwkManagerId=0,
            nwkUpdateId=0,
            channels=t.Channels.from_channel_list([channel]),
        )
        node_type = t.EmberNodeType.ROUTER if self.router else t.EmberNodeType.END_DEVICE
        with ezsp.wait_for_stack_status(t.sl_Status.NETWORK_UP) as network_up:
            (status,) = await ezsp.joinNetwork(nodeType=node_type, parameters=params)
            _check(status, "joinNetwork")
            failed = asyncio.get_running_loop().create_future()
            self._join_failed = failed
            done, _ = await asyncio.wait(
                {network_up, failed}, timeout=JOIN_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
            )
        if network_up not in done:
            raise TransientLinkError(
                "join failed: the network refused us or we could not decrypt its key"
            )
        (node_id,) = await ezsp.getNodeId()
        self.node_id = int(node_id)
        return self.node_id

    async def send(
        self,
        destination: int,
        cluster_id: int,
        dst_endpoint: int,
        payload: bytes,
        *,
        profile_id: int = SE_PROFILE,
    ) -> None:
        """Unicast with APS acknowledgement; raises TransientLinkError if it was not delivered.

        Clusters that carry money, tariffs or meter data go APS-encrypted with a link key
        (clauses 17.2.1, 17.2.3): a real dongle does it only when asked, so we ask."""
        ezsp = self._require()
        self._tag = (self._tag + 1) & 0xFF
        tag = self._tag
        options = (
            t.EmberApsOption.APS_OPTION_RETRY | t.EmberApsOption.APS_OPTION_ENABLE_ROUTE_DISCOVERY
        )
        if needs_aps_encryption(profile_id, cluster_id):
            options |= t.EmberApsOption.APS_OPTION_ENCRYPTION
        aps = t.EmberApsFrame(
            profileId=profile_id,
            clusterId=cluster_id,
            sourceEndpoint=self.endpoint.endpoint,
            destinationEndpoint=dst_endpoint,
            options=options,
            groupId=0,
            sequence=0,
        )
        future: asyncio.Future[t.sl_Status] = asyncio.get_running_loop().create_future()
        self._sent[tag] = future
        try:
            status, _seq = await ezsp.send_unicast(
                nwk=destination, aps_frame=aps, message_tag=tag, data=payload
            )
            _check(status, "sendUnicast")
            async with asyncio.timeout(SEND_TIMEOUT_S):
                delivered = await future
        except TimeoutError:
            raise TransientLinkError(
                f"no delivery report for a frame to 0x{destination:04x}"
            ) from None
        finally:
            self._sent.pop(tag, None)
        if delivered != t.sl_Status.OK:
            raise TransientLinkError(f"frame to 0x{destination:04x} not delivered: {delivered!r}")

    async def broadcast(
        self,
        cluster_id: int,
        payload: bytes,
        *,
        profile_id: int = 0,
        dst_endpoint: int = 0,
        destination: int = BROADCAST_RX_ON_WHEN_IDLE,
    ) -> None:
        ezsp = self._require()
        aps = t.EmberApsFrame(
            profileId=profile_id,
            clusterId=cluster_id,
            sourceEndpoint=0 if profile_id == 0 else self.endpoint.endpoint,
            destinationEndpoint=dst_endpoint,
            options=t.EmberApsOption.APS_OPTION_NONE,
            groupId=0,
            sequence=0,
        )
        status, _ = await ezsp.send_broadcast(
            address=destination,
            aps_frame=aps,
            radius=30,
            message_tag=0,
            aps_sequence=0,
            data=payload,
        )
        _check(status, "sendBroadcast")

    def _require(self) -> EZSP:
        if self._ezsp is None:
            raise TransientLinkError("the radio is not connected")
        return self._ezsp

    def _callback(self, name: str, args: list[Any]) -> None:
        if name == "incomingMessageHandler":
            self._incoming(args)
        elif name == "messageSentHandler":
            status, tag = _sent_fields(args)
            future = self._sent.get(tag)
            if future is not None and not future.done():
                future.set_result(status)
        elif name == "stackStatusHandler":
            status = t.sl_Status.from_ember_status(args[0])
            failed = getattr(self, "_join_failed", None)
            if status == t.sl_Status.NOT_JOINED and failed is not None and not failed.done():
                failed.set_result(status)
            elif status == t.sl_Status.NETWORK_DOWN and self.node_id is not None:
                self.node_id = None
                if self._on_down is not None:
                    self._on_down()

    def _incoming(self, args: list[Any]) -> None:
        if self._on_message is None:
            return
        if self._ezsp is not None and self._ezsp.ezsp_version >= 14:
            message_type, aps, sender, _eui, _b, _a, lqi, rssi, _ts, payload = args
        else:
            message_type, aps, lqi, rssi, sender, _b, _a, payload = args
        broadcast = message_type == t.EmberIncomingMessageType.INCOMING_BROADCAST
        self._on_message(
            IncomingMessage(
                int(sender),
                aps.profileId,
                aps.clusterId,
                aps.sourceEndpoint,
                aps.destinationEndpoint,
                bytes(payload),
                int(lqi),
                int(rssi),
                broadcast,
            )
        )


def _sent_fields(args: list[Any]) -> tuple[t.sl_Status, int]:
    if isinstance(args[0], t.sl_Status) and len(args) == 6 and not isinstance(args[1], t.sl_Status):
        # v14+: status, type, nwk, apsFrame, tag, contents
        return args[0], int(args[4])
    # v13: type, indexOrDestination, apsFrame, messageTag, status, contents
    return t.sl_Status.from_ember_status(args[4]), int(args[3])


def _check(status: Any, what: str) -> None:
    if t.sl_Status.from_ember_status(status) != t.sl_Status.OK:
        raise TransientLinkError(f"{what} failed: {status!r}")
