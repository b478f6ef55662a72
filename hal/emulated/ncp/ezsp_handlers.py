"""The EZSP commands the emulated NCP implements, one method each, and nothing else.

Every method here does what EmberZNet does for that command against `NcpState` and the ZigBee
stack; a command that is not in `IMPLEMENTED` is answered with the `invalidCommand` frame a real
NCP sends for an unknown frame id, and logged, so bellows never gets a "success" for something we
did not do. Handlers take the canonical parameter names (see `ezsp_codec`) and return the
canonical response fields; statuses are `sl_Status` and are converted per version on the wire.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import bellows.types as t

from .ezsp_registry import IMPLEMENTED, OK, Params, Result, command, eui, int_eui
from .ezsp_security_commands import SecurityCommands
from .ezsp_value_commands import SETTABLE_VALUES, ValueCommands
from .state import Endpoint, NetworkRole

if TYPE_CHECKING:
    from .zigbee_stack import ZigbeeStack

LOGGER = logging.getLogger(__name__)
#: EmberZNet 7.4.3.0 — the stack version our NCP reports.
STACK_VERSION = 0x7430
STACK_TYPE_MESH = 2
MFG_TOKENS = {
    t.EzspMfgTokenId.MFG_STRING: b"smartmeter-emu",
    t.EzspMfgTokenId.MFG_BOARD_NAME: b"emulated-ncp",
    t.EzspMfgTokenId.MFG_MANUF_ID: (0x1002).to_bytes(2, "little"),
}
#: Fixed token lengths of MFG tokens we leave unset (erased flash reads as 0xFF).
MFG_TOKEN_LENGTH = {
    t.EzspMfgTokenId.MFG_CUSTOM_EUI_64: 8,
    t.EzspMfgTokenId.MFG_INSTALLATION_CODE: 20,
}
DEFAULT_CONFIG = {
    "CONFIG_KEY_TABLE_SIZE": 4,
    "CONFIG_ADDRESS_TABLE_SIZE": 16,
    "CONFIG_SECURITY_LEVEL": 5,
    "CONFIG_STACK_PROFILE": 2,
    "CONFIG_MAX_END_DEVICE_CHILDREN": 32,
    "CONFIG_MULTICAST_TABLE_SIZE": 16,
    "CONFIG_SUPPORTED_NETWORKS": 1,
    "CONFIG_TRUST_CENTER_ADDRESS_CACHE_SIZE": 2,
    "CONFIG_PACKET_BUFFER_COUNT": 75,
    "CONFIG_INDIRECT_TRANSMISSION_TIMEOUT": 7680,
    "CONFIG_MAX_HOPS": 30,
    "CONFIG_SOURCE_ROUTE_TABLE_SIZE": 16,
    "CONFIG_APPLICATION_ZDO_FLAGS": 0,
    "CONFIG_PAN_ID_CONFLICT_REPORT_THRESHOLD": 1,
    "CONFIG_NEIGHBOR_TABLE_SIZE": 16,
    "CONFIG_ROUTE_TABLE_SIZE": 16,
    "CONFIG_TX_POWER_MODE": 0,
    "CONFIG_END_DEVICE_POLL_TIMEOUT": 8,
}


class EzspHandlers(SecurityCommands, ValueCommands):
    """Binds the command table to one NCP's state and stack."""

    def __init__(self, stack: ZigbeeStack, version: int) -> None:
        self.stack = stack
        self.state = stack.state
        self.version = version
        self.reboot()

    def reboot(self) -> None:
        """Configuration, policies and values back to what EmberZNet boots with."""
        self.state.config.clear()
        self.state.config.update(DEFAULT_CONFIG)
        self.state.policies.clear()
        self.state.values = {value_id.name: raw for value_id, raw in SETTABLE_VALUES.items()}
        self.state.manufacturer_code = 0x1002

    def handle(self, name: str, params: Params) -> Result | None:
        """Run `name`; None means "not implemented" (the caller sends invalidCommand)."""
        handler = IMPLEMENTED.get(name)
        if handler is None:
            return None
        return handler(self, params)

    # -- identity, configuration, values -------------------------------------------------

    @command("version")
    def _version(self, p: Params) -> Result:
        return {
            "protocolVersion": self.version,
            "stackType": STACK_TYPE_MESH,
            "stackVersion": STACK_VERSION,
        }

    @command("nop")
    def _nop(self, p: Params) -> Result:
        return {}

    @command("customFrame")
    def _custom_frame(self, p: Params) -> Result:
        # No XNCP extensions: a stock EmberZNet NCP answers "library not present".
        return {"status": t.sl_Status.NOT_SUPPORTED, "reply": b""}

    @command("getEui64")
    def _get_eui64(self, p: Params) -> Result:
        return {"eui64": t.EUI64(self.state.eui64.to_bytes(8, "little"))}

    @command("getNodeId")
    def _get_node_id(self, p: Params) -> Result:
        return {"nodeId": self.state.node_id}

    @command("getMfgToken")
    def _get_mfg_token(self, p: Params) -> Result:
        token = p["tokenId"]
        value = MFG_TOKENS.get(token, b"\xff" * MFG_TOKEN_LENGTH.get(token, 0))
        return {"tokenData": value}

    @command("getTokenData")
    def _get_token_data(self, p: Params) -> Result:
        # No NV3 tokens are kept (no custom EUI-64, no restored EUI-64): every key is absent.
        return {"status": t.EmberStatus.NOT_FOUND, "value": b""}

    @command("getConfigurationValue")
    def _get_config(self, p: Params) -> Result:
        name = p["configId"].name
        if name not in self.state.config:
            return {"status": t.sl_Status.INVALID_PARAMETER, "value": 0}
        return {"status": OK, "value": self.state.config[name]}

    @command("setConfigurationValue")
    def _set_config(self, p: Params) -> Result:
        if self.state.joined:  # EmberZNet refuses configuration once the stack is up
            return {"status": t.sl_Status.INVALID_STATE}
        self.state.config[p["configId"].name] = int(p["value"])
        return {"status": OK}

    @command("setPolicy")
    def _set_policy(self, p: Params) -> Result:
        self.state.policies[p["policyId"].name] = int(p["decisionId"])
        return {"status": OK}

    @command("setManufacturerCode")
    def _set_manufacturer_code(self, p: Params) -> Result:
        self.state.manufacturer_code = int(p["code"])
        return {"status": OK}

    @command("setRadioPower")
    def _set_radio_power(self, p: Params) -> Result:
        self.state.radio_power = int(p["power"])
        return {"status": OK}

    @command("addEndpoint")
    def _add_endpoint(self, p: Params) -> Result:
        if self.state.joined or p["endpoint"] in self.state.endpoints:
            return {"status": t.sl_Status.INVALID_STATE}
        self.state.endpoints[p["endpoint"]] = Endpoint(
            endpoint=p["endpoint"],
            profile_id=p["profileId"],
            device_id=p["deviceId"],
            device_version=p["deviceVersion"],
            input_clusters=[int(c) for c in p["inputClusterList"]],
            output_clusters=[int(c) for c in p["outputClusterList"]],
        )
        return {"status": OK}

    @command("readCounters")
    def _read_counters(self, p: Params) -> Result:
        return {"values": [t.uint16_t(min(v, 0xFFFF)) for v in self.stack.counters()]}

    @command("readAndClearCounters")
    def _read_and_clear_counters(self, p: Params) -> Result:
        values = self._read_counters(p)
        self.stack.clear_counters()
        return values

    # -- network ---------------------------------------------------------------------------

    @command("networkState")
    def _network_state(self, p: Params) -> Result:
        return {"status": self.state.network_status}

    @command("networkInit")
    def _network_init(self, p: Params) -> Result:
        return {"status": self.stack.network_init()}

    @command("formNetwork")
    def _form_network(self, p: Params) -> Result:
        return {"status": self.stack.form_network(p["parameters"])}

    @command("joinNetwork")
    def _join_network(self, p: Params) -> Result:
        return {"status": self.stack.join_network(NetworkRole(int(p["nodeType"])), p["parameters"])}

    @command("leaveNetwork")
    def _leave_network(self, p: Params) -> Result:
        return {"status": self.stack.leave_network()}

    @command("permitJoining")
    def _permit_joining(self, p: Params) -> Result:
        return {"status": self.stack.permit_joining(int(p["duration"]))}

    @command("getNetworkParameters")
    def _get_network_parameters(self, p: Params) -> Result:
        s = self.state
        params = t.EmberNetworkParameters(
            extendedPanId=t.ExtendedPanId(s.extended_pan_id.to_bytes(8, "little")),
            panId=s.pan_id,
            radioTxPower=s.radio_power & 0xFF,
            radioChannel=s.channel,
            joinMethod=t.EmberJoinMethod.USE_MAC_ASSOCIATION,
            nwkManagerId=0x0000,
            nwkUpdateId=s.nwk_update_id,
            channels=t.Channels.from_channel_list([s.channel]),
        )
        status = OK if s.joined else t.sl_Status.NOT_JOINED
        node_type = t.EmberNodeType(int(s.role)) if s.role else t.EmberNodeType.UNKNOWN_DEVICE
        return {"status": status, "nodeType": node_type, "parameters": params}

    @command("startScan")
    def _start_scan(self, p: Params) -> Result:
        channels = [ch for ch in range(11, 27) if int(p["channelMask"]) & (1 << ch)]
        return {"status": self.stack.start_scan(p["scanType"], channels, int(p["duration"]))}

    @command("getChildData")
    def _get_child_data(self, p: Params) -> Result:
        children = list(self.state.children.values())
        index = int(p["index"])
        if index >= len(children):
            return {"status": t.sl_Status.NOT_FOUND, "child_data": _empty_child()}
        child = children[index]
        data = t.EmberChildDataV10(
            eui64=eui(child.eui64),
            type=t.EmberNodeType(int(child.role)),
            id=child.nwk,
            phy=0,
            power=0,
            timeout=0,
            timeout_remaining=0,
        )
        return {"status": OK, "child_data": data}

    @command("lookupNodeIdByEui64")
    def _lookup_node_id(self, p: Params) -> Result:
        nwk = self.state.nwk_of(int_eui(p["eui64"]))
        return {
            "status": OK if nwk is not None else t.sl_Status.NOT_FOUND,
            "nodeId": 0xFFFF if nwk is None else nwk,
        }

    @command("lookupEui64ByNodeId")
    def _lookup_eui64(self, p: Params) -> Result:
        known = self.state.eui64_of(int(p["nodeId"]))
        status = OK if known is not None else t.sl_Status.NOT_FOUND
        return {"status": status, "eui64": eui(known or 0)}

    @command("replaceAddressTableEntry")
    def _replace_address_table_entry(self, p: Params) -> Result:
        index = int(p["addressTableIndex"])
        if index >= self.state.config["CONFIG_ADDRESS_TABLE_SIZE"]:
            return {
                "status": t.sl_Status.INVALID_INDEX,
                "oldEui64": eui(0),
                "oldId": 0xFFFF,
                "oldExtendedTimeout": False,
            }
        old_eui, old_nwk = self.state.address_table.get(index, (0, 0xFFFF))
        self.state.address_table[index] = (int_eui(p["newEui64"]), int(p["newId"]))
        return {
            "status": OK,
            "oldEui64": eui(old_eui),
            "oldId": old_nwk,
            "oldExtendedTimeout": False,
        }

    @command("setAddressTableInfo")
    def _set_address_table_info(self, p: Params) -> Result:
        index = int(p["index"])
        if index >= self.state.config["CONFIG_ADDRESS_TABLE_SIZE"]:
            return {"status": t.sl_Status.INVALID_INDEX}
        self.state.address_table[index] = (int_eui(p["eui64"]), int(p["nwk"]))
        return {"status": OK}

    @command("getAddressTableInfo")
    def _get_address_table_info(self, p: Params) -> Result:
        entry_eui, nwk = self.state.address_table.get(int(p["index"]), (0, 0xFFFF))
        return {"status": OK, "nwk": nwk, "eui64": eui(entry_eui)}

    @command("getAddressTableRemoteEui64")
    def _get_address_table_remote_eui64(self, p: Params) -> Result:
        return {
            "eui64": eui(self.state.address_table.get(int(p["addressTableIndex"]), (0, 0xFFFF))[0])
        }

    @command("getAddressTableRemoteNodeId")
    def _get_address_table_remote_node_id(self, p: Params) -> Result:
        return {"nodeId": self.state.address_table.get(int(p["addressTableIndex"]), (0, 0xFFFF))[1]}

    @command("setConcentrator")
    def _set_concentrator(self, p: Params) -> Result:
        return {"status": OK}

    @command("setSourceRouteDiscoveryMode")
    def _set_source_route_discovery_mode(self, p: Params) -> Result:
        return {"remainingTime": 0}

    @command("getExtendedTimeout")
    def _get_extended_timeout(self, p: Params) -> Result:
        extended = int_eui(p["remoteEui64"]) in self.state.extended_timeout
        return {"extendedTimeout": extended, "status": OK if extended else t.sl_Status.NOT_FOUND}

    @command("setExtendedTimeout")
    def _set_extended_timeout(self, p: Params) -> Result:
        # Stored and reported back; every link here answers fast enough that the longer APS
        # timeout it asks for makes no difference to delivery.
        address = int_eui(p["remoteEui64"])
        if p["extendedTimeout"]:
            self.state.extended_timeout.add(address)
        else:
            self.state.extended_timeout.discard(address)
        return {"status": OK}

    @command("getMulticastTableEntry")
    def _get_multicast_table_entry(self, p: Params) -> Result:
        index = int(p["index"])
        if index >= self.state.config["CONFIG_MULTICAST_TABLE_SIZE"]:
            entry = t.EmberMulticastTableEntry(multicastId=0, endpoint=0, networkIndex=0)
            return {"status": t.sl_Status.INVALID_INDEX, "value": entry}
        group, endpoint = self.state.multicast_table.get(index, (0, 0))
        entry = t.EmberMulticastTableEntry(multicastId=group, endpoint=endpoint, networkIndex=0)
        return {"status": OK, "value": entry}

    @command("setMulticastTableEntry")
    def _set_multicast_table_entry(self, p: Params) -> Result:
        index = int(p["index"])
        if index >= self.state.config["CONFIG_MULTICAST_TABLE_SIZE"]:
            return {"status": t.sl_Status.INVALID_INDEX}
        value = p["value"]
        self.state.multicast_table[index] = (int(value.multicastId), int(value.endpoint))
        return {"status": OK}

    # -- messaging ------------------------------------------------------------------------

    @command("sendUnicast")
    def _send_unicast(self, p: Params) -> Result:
        status, seq = self.stack.send_unicast(
            int(p["nwk"]), p["aps_frame"], int(p["message_tag"]), bytes(p["message"])
        )
        return {"status": status, "sequence": seq}

    @command("sendBroadcast")
    def _send_broadcast(self, p: Params) -> Result:
        status, seq = self.stack.send_broadcast(
            int(p["destination"]),
            p["aps_frame"],
            int(p["radius"]),
            int(p["message_tag"]),
            bytes(p["message"]),
        )
        return {"status": status, "sequence": seq}

    @command("sendReply")
    def _send_reply(self, p: Params) -> Result:
        status, _ = self.stack.send_unicast(
            int(p["sender"]), p["aps_frame"], 0, bytes(p["message"])
        )
        return {"status": status}


def _empty_child() -> t.EmberChildDataV10:
    return t.EmberChildDataV10(
        eui64=eui(0),
        type=t.EmberNodeType.UNKNOWN_DEVICE,
        id=0xFFFF,
        phy=0,
        power=0,
        timeout=0,
        timeout_remaining=0,
    )


__all__ = ["IMPLEMENTED", "EzspHandlers", "command"]
