"""EZSP values of the emulated NCP: getValue, setValue and getExtendedValue, as EmberZNet answers
them. A host reads the stack's version and counters, sets the values it tunes at start-up
(zigbee-herdsman: the transient device timeout, the extended security bitmask, stack token
writing; bellows: the frame counters when it restores a backup) and reads endpoint flags."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bellows.types as t

from .ezsp_registry import OK, Params, Result, command

if TYPE_CHECKING:
    from .state import NcpState

#: EmberZNet 7.4.3.0 build information (VALUE_VERSION_INFO): build, major, minor, patch, special,
#: type.
VERSION_INFO = bytes([0x00, 0x00, 7, 4, 3, 0, 0xAA])
V = t.EzspValueId
#: Values a host sets and reads back, with their length and what they are after a reboot.
#: EmberZNet keeps them in RAM; they change nothing else in the emulation (the transient device
#: timeout and CCA threshold tune radio and child-table behaviour we do not model; stack token
#: writing is read back, but tokens are always written).
SETTABLE_VALUES: dict[t.EzspValueId, bytes] = {
    V.VALUE_EXTENDED_SECURITY_BITMASK: b"\x00\x00",
    V.VALUE_TRANSIENT_DEVICE_TIMEOUT: (10_000).to_bytes(2, "little"),  # ms, EmberZNet's default
    V.VALUE_STACK_TOKEN_WRITING: b"\x01",
    V.VALUE_TRANSIENT_KEY_TIMEOUT_S: (300).to_bytes(2, "little"),
    V.VALUE_FORCE_TX_AFTER_FAILED_CCA_ATTEMPTS: b"\x00",
    V.VALUE_END_DEVICE_KEEP_ALIVE_SUPPORT_MODE: b"\x03",
    V.VALUE_CCA_THRESHOLD: b"\x00",
}
X = t.EzspExtendedValueId
#: Bytes of each extended value (getExtendedValue); a host reads that many even after an error.
EXTENDED_VALUE_LENGTH = {
    X.EXTENDED_VALUE_ENDPOINT_FLAGS: 2,
    X.EXTENDED_VALUE_LAST_LEAVE_REASON: 3,
    X.EXTENDED_VALUE_GET_SOURCE_ROUTE_OVERHEAD: 1,
    X.EXTENDED_VALUE_MEMORY_USAGE_DATA: 4,
}


class ValueCommands:
    """Mixed into `EzspHandlers`; uses its `state`."""

    state: NcpState

    @command("getValue")
    def _get_value(self, p: Params) -> Result:
        value_id = p["valueId"]
        values = {
            V.VALUE_VERSION_INFO: VERSION_INFO,
            V.VALUE_NWK_FRAME_COUNTER: self.state.nwk_frame_counter.to_bytes(4, "little"),
            V.VALUE_APS_FRAME_COUNTER: self.state.aps_frame_counter.to_bytes(4, "little"),
            V.VALUE_NODE_SHORT_ID: self.state.node_id.to_bytes(2, "little"),
            V.VALUE_FREE_BUFFERS: bytes([200]),
        }
        if value_id in values:
            return {"status": OK, "value": values[value_id]}
        if value_id in SETTABLE_VALUES:
            return {"status": OK, "value": self.state.values[value_id.name]}
        return {"status": t.sl_Status.INVALID_PARAMETER, "value": b""}

    @command("setValue")
    def _set_value(self, p: Params) -> Result:
        value_id, raw = p["valueId"], bytes(p["value"])
        # A host may move the outgoing counters forward (restoring a backup), never back:
        # a lower value is ignored so that no counter is used twice (clause 17.2.12).
        if value_id == V.VALUE_NWK_FRAME_COUNTER and len(raw) == 4:
            wanted = int.from_bytes(raw, "little")
            self.state.nwk_frame_counter = max(self.state.nwk_frame_counter, wanted)
        elif value_id == V.VALUE_APS_FRAME_COUNTER and len(raw) == 4:
            wanted = int.from_bytes(raw, "little")
            self.state.aps_frame_counter = max(self.state.aps_frame_counter, wanted)
        elif value_id == V.VALUE_ENDPOINT_FLAGS and len(raw) == 3:
            endpoint = self.state.endpoints.get(raw[0])
            if endpoint is None:
                return {"status": t.sl_Status.INVALID_PARAMETER}
            endpoint.flags = int.from_bytes(raw[1:], "little")
        elif value_id in SETTABLE_VALUES and len(raw) == len(SETTABLE_VALUES[value_id]):
            self.state.values[value_id.name] = raw
        else:
            return {"status": t.sl_Status.INVALID_PARAMETER}
        return {"status": OK}

    @command("getExtendedValue")
    def _get_extended_value(self, p: Params) -> Result:
        """Values with an argument (`characteristics`): an endpoint's flags, the last leave."""
        value_id, argument = p["valueId"], int(p["characteristics"])
        length = EXTENDED_VALUE_LENGTH.get(value_id, 0)
        if value_id == X.EXTENDED_VALUE_ENDPOINT_FLAGS:
            endpoint = self.state.endpoints.get(argument)
            if endpoint is not None:
                return {"status": OK, "value": endpoint.flags.to_bytes(2, "little")}
        elif value_id == X.EXTENDED_VALUE_LAST_LEAVE_REASON:
            # EmberLeaveReason NONE from node 0xFFFF: this emulation never records a leave
            return {"status": OK, "value": b"\x00\xff\xff"}
        elif value_id == X.EXTENDED_VALUE_GET_SOURCE_ROUTE_OVERHEAD:
            return {"status": OK, "value": b"\x00"}  # no source routes: no overhead
        # unknown endpoint, memory usage (not modelled), unknown id: an error, and as many
        # value bytes as the host will read
        return {"status": t.sl_Status.INVALID_PARAMETER, "value": bytes(length)}
