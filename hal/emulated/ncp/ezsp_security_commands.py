"""EZSP security commands of the emulated NCP: initial security state, network and link keys,
the key table and transient (install-code) keys, as EmberZNet's security manager answers them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bellows.types as t

from .ezsp_registry import OK, Params, Result, command, eui, int_eui
from .state import LinkKeyEntry, NetworkRole

if TYPE_CHECKING:
    from .state import NcpState
    from .zigbee_stack import ZigbeeStack


class SecurityCommands:
    """Mixed into `EzspHandlers`; uses its `state` and `stack`."""

    state: NcpState
    stack: ZigbeeStack

    @command("setInitialSecurityState")
    def _set_initial_security_state(self, p: Params) -> Result:
        state = p["state"]
        self.state.security_bitmask = int(state.bitmask)
        self.state.preconfigured_key = bytes(state.preconfiguredKey)
        if state.bitmask & t.EmberInitialSecurityBitmask.HAVE_NETWORK_KEY:
            self.state.network_key = bytes(state.networkKey)
            self.state.network_key_seq = int(state.networkKeySequenceNumber)
        if state.bitmask & t.EmberInitialSecurityBitmask.HAVE_TRUST_CENTER_EUI64:
            self.state.trust_center_eui64 = int_eui(state.preconfiguredTrustCenterEui64)
        return {"status": OK}

    @command("getCurrentSecurityState")
    def _get_current_security_state(self, p: Params) -> Result:
        bitmask = t.EmberCurrentSecurityBitmask.STANDARD_SECURITY_MODE | (
            t.EmberCurrentSecurityBitmask.HAVE_TRUST_CENTER_LINK_KEY
        )
        tc = (
            self.state.eui64
            if self.state.role == NetworkRole.COORDINATOR
            else self.state.trust_center_eui64
        )
        state = t.EmberCurrentSecurityState(bitmask=bitmask, trustCenterLongAddress=eui(tc))
        return {"status": OK if self.state.joined else t.sl_Status.NOT_JOINED, "state": state}

    @command("getNetworkKeyInfo")
    def _get_network_key_info(self, p: Params) -> Result:
        info = t.SecurityManagerNetworkKeyInfo(
            network_key_set=self.state.network_key is not None,
            alternate_network_key_set=False,
            network_key_sequence_number=self.state.network_key_seq,
            alt_network_key_sequence_number=0,
            network_key_frame_counter=self.state.nwk_frame_counter,
        )
        return {"status": OK, "network_key_info": info}

    @command("exportKey")
    def _export_key(self, p: Params) -> Result:
        context = p["context"]
        key_type = context.core_key_type
        if key_type == t.SecurityManagerKeyType.NETWORK and self.state.network_key is not None:
            key, status = self.state.network_key, OK
        elif key_type == t.SecurityManagerKeyType.TC_LINK:
            key, status = self.state.preconfigured_key, OK
        else:
            key, status = bytes(16), t.sl_Status.NOT_FOUND
        return {"status": status, "key": t.KeyData(key), "context": context}

    @command("importTransientKey")
    def _import_transient_key(self, p: Params) -> Result:
        address = int_eui(p["eui64"])
        self.state.transient_keys[address] = LinkKeyEntry(
            eui64=address, key=bytes(p["plaintext_key"])
        )
        return {"status": OK}

    @command("clearTransientLinkKeys")
    def _clear_transient_link_keys(self, p: Params) -> Result:
        self.state.transient_keys.clear()
        return {}

    @command("exportLinkKeyByIndex")
    def _export_link_key_by_index(self, p: Params) -> Result:
        index = int(p["index"])
        table = self.state.key_table
        entry = table[index] if index < len(table) else None
        meta = t.SecurityManagerAPSKeyMetadata(
            bitmask=t.EmberKeyStructBitmask(0),
            outgoing_frame_counter=entry.outgoing_frame_counter if entry else 0,
            incoming_frame_counter=entry.incoming_frame_counter if entry else 0,
            ttl_in_seconds=0,
        )
        context = t.SecurityManagerContextV13(
            core_key_type=t.SecurityManagerKeyType.APP_LINK,
            key_index=index,
            derived_type=t.SecurityManagerDerivedKeyTypeV13.NONE,
            eui64=eui(entry.eui64 if entry else 0),
            multi_network_index=0,
            flags=t.SecurityManagerContextFlags.NONE,
            psa_key_alg_permission=0,
        )
        return {
            "status": OK if entry else t.sl_Status.NOT_FOUND,
            "eui64": context.eui64,
            "context": context,
            "plaintext_key": t.KeyData(entry.key if entry else bytes(16)),
            "key_data": meta,
        }

    @command("importLinkKey")
    def _import_link_key(self, p: Params) -> Result:
        index, address = int(p["index"]), int_eui(p["address"])
        size = self.state.config["CONFIG_KEY_TABLE_SIZE"]
        if index >= size:
            return {"status": t.sl_Status.INVALID_INDEX}
        table = self.state.key_table
        entry = LinkKeyEntry(eui64=address, key=bytes(p["key"]))
        if index < len(table):
            table[index] = entry
        else:
            table.append(entry)
        return {"status": OK}

    @command("findKeyTableEntry")
    def _find_key_table_entry(self, p: Params) -> Result:
        address = int_eui(p["address"])
        for index, entry in enumerate(self.state.key_table):
            if entry.eui64 == address:
                return {"index": index}
        return {"index": 0xFF}

    @command("eraseKeyTableEntry")
    def _erase_key_table_entry(self, p: Params) -> Result:
        index = int(p["index"])
        if index >= len(self.state.key_table):
            return {"status": t.sl_Status.INVALID_INDEX}
        del self.state.key_table[index]
        return {"status": OK}

    @command("clearKeyTable")
    def _clear_key_table(self, p: Params) -> Result:
        self.state.key_table.clear()
        return {"status": OK}

    @command("removeDevice")
    def _remove_device(self, p: Params) -> Result:
        status = self.stack.remove_device(
            int(p["destShort"]), int_eui(p["destLong"]), int_eui(p["targetLong"])
        )
        return {"status": status}

    @command("tokenFactoryReset")
    def _token_factory_reset(self, p: Params) -> Result:
        self.stack.factory_reset(keep_outgoing_fc=bool(p["excludeOutgoingFC"]))
        return {}

    @command("gpSinkTableClearAll")
    def _gp_sink_table_clear_all(self, p: Params) -> Result:
        return {}  # no Green Power sink table: nothing to clear

    @command("gpClearProxyTable")
    def _gp_clear_proxy_table(self, p: Params) -> Result:
        return {}  # no Green Power proxy table either
