"""The hub's sealing codec (hub/wan_security.py) over its real SQLite store and key files:
counters and replay windows survive a restart, answers go back to whoever may read them."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import Rig, load_rig
from firmware.wan_parties import all_parties, hub_parties, operator_of, suppliers_of
from hal.real.sqlite_store import SqliteStore
from hal.real.wan_keys import load_directory, load_keys, load_ring, provision
from hub.wan_roles import DeviceRoles
from hub.wan_security import HubWanSecurity
from protocol.event_codes import EventCode
from protocol.wan import Channel, CommandType, WanCommand, request_id
from protocol.wan_security import (
    Refusal,
    ReplayWindow,
    SecurityRefusal,
    device_party,
    open_envelope,
    peek_header,
    seal,
)
from tests.wan_probe import two_supplier_rig


class Hub:
    """A hub's codec as the firmware builds it, on files that outlive it (a restart)."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.events: list[tuple[EventCode, dict[str, Any]]] = []
        self.store = SqliteStore(rig.store_path("hub"))
        ring = load_ring(rig.keys_dir, *hub_parties(rig))
        self.codec = HubWanSecurity(
            rig,
            ring,
            self.store,
            DeviceRoles(rig, self.store),
            lambda code, detail: self.events.append((code, detail)),
        )

    def close(self) -> None:
        self.store.close()


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    loaded = load_rig(two_supplier_rig(tmp_path))
    provision(loaded.keys_dir, all_parties(loaded))
    return loaded


def command_from(rig: Rig, supplier: str, device: str, counter: int) -> tuple[WanCommand, bytes]:
    command = WanCommand(
        request_id(secrets.token_bytes(16)),
        CommandType.READ,
        device,
        datetime.now(UTC),
        {},
    )
    sender = suppliers_of(rig)[supplier]
    recipient = device_party(rig.hub.wan_id, device)
    sealed = seal(
        command.to_json(),
        channel="cmd",
        sender=sender,
        sender_keys=load_keys(rig.keys_dir, sender),
        recipient=recipient,
        recipient_keys=load_directory(rig.keys_dir)[recipient],
        counter=counter,
        nonce=secrets.token_bytes(12),
        ref=command.id,
    )
    return command, sealed


@pytest.mark.req("18.11.j", "17.2.1", "17.2.12")
def test_a_counter_taken_before_a_restart_is_refused_after_it(rig: Rig) -> None:
    command, sealed = command_from(rig, "alpha", "esme", 7)
    hub = Hub(rig)
    assert hub.codec.open_command(sealed) == command
    hub.close()
    again = Hub(rig)
    with pytest.raises(SecurityRefusal) as refused:
        again.codec.open_command(sealed)
    assert refused.value.reason is Refusal.REPLAYED
    assert again.events[0][0] is EventCode.UNAUTHENTICATED_MESSAGE
    newer, sealed_newer = command_from(rig, "alpha", "esme", 8)
    assert again.codec.open_command(sealed_newer) == newer
    again.close()


@pytest.mark.req("17.2.1", "6.1.4")
def test_what_the_hub_sends_never_reuses_a_counter_and_reaches_only_its_reader(rig: Rig) -> None:
    hub = Hub(rig)
    command, sealed = command_from(rig, "beta", "gsme", 1)
    hub.codec.open_command(sealed)
    first = [peek_header(hub.codec.seal(Channel.RESULT, b"{}", command.id)) for _ in range(3)]
    hub.close()
    hub = Hub(rig)  # restarted: the stream carries on above what was reserved
    later = peek_header(hub.codec.seal(Channel.RESULT, b"{}", command.id))
    status = peek_header(hub.codec.seal(Channel.STATUS, b'{"v":1}'))
    hub.close()
    counters = [h.counter for h in first if h is not None]
    assert counters == sorted(set(counters)) and later is not None
    assert later.counter > counters[-1]
    # The result is signed by the gas meter and readable by its supplier only.
    assert first[0] is not None
    assert (first[0].sender, first[0].recipient) == (
        device_party(rig.hub.wan_id, "gsme"),
        suppliers_of(rig)["beta"],
    )
    assert status is not None and status.recipient == operator_of(rig)
    # An event of the gas meter is for its supplier: the other one cannot open it.
    hub = Hub(rig)
    event = hub.codec.seal(Channel.EVENT, b'{"source":"gsme"}')
    hub.close()
    header = peek_header(event)
    assert header is not None and header.recipient == suppliers_of(rig)["beta"]
    alpha = suppliers_of(rig)["alpha"]
    with pytest.raises(SecurityRefusal) as refused:
        open_envelope(
            event,
            channel="event",
            me=alpha,
            my_keys=load_keys(rig.keys_dir, alpha),
            directory=load_directory(rig.keys_dir),
            window=ReplayWindow(),
        )
    assert refused.value.reason is Refusal.WRONG_RECIPIENT


@pytest.mark.req("17.2.10")
def test_key_files_are_private_sealed_and_provisioned_once(rig: Rig) -> None:
    alpha = suppliers_of(rig)["alpha"]
    before = load_keys(rig.keys_dir, alpha)
    provision(rig.keys_dir, all_parties(rig))  # again: nothing is replaced
    assert load_keys(rig.keys_dir, alpha).public.same_as(before.public)
    for path in rig.keys_dir.glob("*.sealed"):
        assert path.stat().st_mode & 0o077 == 0, path
        assert path.with_suffix(".key").stat().st_mode & 0o077 == 0
        text = path.read_bytes()
        for secret in before.to_secret_bytes():
            assert secret.hex().encode() not in text and secret not in text
    assert set(load_directory(rig.keys_dir)) == set(all_parties(rig))
