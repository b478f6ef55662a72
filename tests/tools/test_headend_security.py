"""The head-end's end of the sealed WAN (tools/headend/security.py), on its real database file
and the rig's key files: who gives a command, counters across restarts, replays refused."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest

from firmware.rig import Rig, load_rig
from firmware.wan_parties import all_parties
from hal.real.wan_keys import load_directory, load_keys, load_ring, provision
from protocol.errors import ConfigError
from protocol.wan import Channel, CommandType, WanCommand, request_id
from protocol.wan_security import (
    Refusal,
    SecurityRefusal,
    device_party,
    hub_party,
    peek_header,
    seal,
)
from tests.wan_probe import two_supplier_rig
from tools.headend.inventory import parse_inventory
from tools.headend.security import HeadendSecurity, ring_parties, roles_from_inventory
from tools.launcher import inventory_for


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    loaded = load_rig(two_supplier_rig(tmp_path))
    provision(loaded.keys_dir, all_parties(loaded))
    return loaded


def headend(rig: Rig) -> HeadendSecurity:
    data = inventory_for(rig)
    inventory = parse_inventory(data, "test")
    roles = roles_from_inventory(data, "test", list(inventory.devices))
    ring = load_ring(rig.keys_dir, *ring_parties(roles, inventory.hubs()))
    return HeadendSecurity(ring, roles, rig.run_dir / "headend.sqlite")


def read(device: str) -> WanCommand:
    return WanCommand(
        request_id(secrets.token_bytes(16)), CommandType.READ, device, datetime.now(UTC)
    )


@pytest.mark.req("6.1.4", "12.6")
def test_commands_are_given_by_the_devices_supplier_or_the_operator(rig: Rig) -> None:
    security = headend(rig)
    assert security.acting_party(CommandType.READ, "gsme", None) == "supplier:beta"
    assert security.acting_party(CommandType.READ, "gsme", "alpha") == "supplier:alpha"
    assert security.acting_party(CommandType.CHANGE_SUPPLIER, "gsme", None) == "operator:dno"
    with pytest.raises(ConfigError, match="unknown supplier 'gamma'"):
        security.acting_party(CommandType.READ, "gsme", "gamma")
    security.set_owner("gsme", "alpha")
    security.close()
    assert headend(rig).acting_party(CommandType.READ, "gsme", None) == "supplier:alpha"


@pytest.mark.req("17.2.1", "17.2.12")
def test_counters_carry_on_after_a_restart_and_a_replayed_uplink_is_refused(rig: Rig) -> None:
    security = headend(rig)
    wan_id = rig.hub.wan_id
    first = peek_header(security.seal_command(read("esme"), wan_id, "supplier:alpha"))
    security.close()
    security = headend(rig)
    again = peek_header(security.seal_command(read("esme"), wan_id, "supplier:alpha"))
    assert first is not None and again is not None and again.counter > first.counter
    assert again.recipient == device_party(wan_id, "esme")

    hub = hub_party(wan_id)
    status = seal(
        b'{"v":1}',
        channel="status",
        sender=hub,
        sender_keys=load_keys(rig.keys_dir, hub),
        recipient="operator:dno",
        recipient_keys=load_directory(rig.keys_dir)["operator:dno"],
        counter=3,
        nonce=secrets.token_bytes(12),
    )
    assert security.open(Channel.STATUS, status).payload == b'{"v":1}'
    security.close()
    security = headend(rig)
    with pytest.raises(SecurityRefusal) as refused:
        security.open(Channel.STATUS, status)
    assert refused.value.reason is Refusal.REPLAYED
    with pytest.raises(SecurityRefusal) as moved:
        security.open(Channel.EVENT, status)  # the same envelope on another channel
    assert moved.value.reason is Refusal.WRONG_CHANNEL
    security.close()
