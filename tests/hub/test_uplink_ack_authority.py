"""Who may acknowledge the hub's uplinks (hub/wan_security.py, issue 10): only the party a
message went to — the supplier owning the meter for the meter's stream (6.1.4), the network
operator for the hub's own messages to it. An ack from anyone else is refused with a security
event and moves nothing (17.2.1, 18.11.j, 19.1.6)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import Rig, load_rig
from firmware.wan_parties import all_parties, hub_parties, operator_of, suppliers_of
from hal.emulated.clock import ManualClock
from hal.real.sqlite_store import SqliteStore
from hal.real.wan_keys import load_directory, load_keys, load_ring, provision
from hub.outbox import Outbox
from hub.wan_roles import DeviceRoles
from hub.wan_security import HubWanSecurity
from protocol.event_codes import EventCode
from protocol.wan import Channel, UplinkAck, UplinkKind
from protocol.wan_security import (
    Refusal,
    SecurityRefusal,
    device_party,
    hub_party,
    peek_header,
    seal,
)
from tests.hub.loopback_wan import LoopbackWan
from tests.wan_probe import two_supplier_rig

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    loaded = load_rig(two_supplier_rig(tmp_path))
    provision(loaded.keys_dir, all_parties(loaded))
    return loaded


class Hub:
    def __init__(self, rig: Rig) -> None:
        self.events: list[tuple[EventCode, dict[str, Any]]] = []
        self.store = SqliteStore(rig.store_path("hub"))
        clock = ManualClock(NOW)
        self.outbox = Outbox(self.store, LoopbackWan(rig.run_dir / "headend.sqlite"), clock)
        self.codec = HubWanSecurity(
            rig,
            load_ring(rig.keys_dir, *hub_parties(rig)),
            self.store,
            DeviceRoles(rig, self.store),
            lambda code, detail: self.events.append((code, detail)),
            outbox=self.outbox,
        )


def ack_from(rig: Rig, sender: str, recipient: str, ack: UplinkAck, counter: int) -> bytes:
    return seal(
        ack.to_json(),
        channel="uplink_ack",
        sender=sender,
        sender_keys=load_keys(rig.keys_dir, sender),
        recipient=recipient,
        recipient_keys=load_directory(rig.keys_dir)[recipient],
        counter=counter,
        nonce=secrets.token_bytes(12),
    )


@pytest.mark.req("6.1.4", "19.1.6")
def test_only_the_owning_supplier_acknowledges_a_meters_stream(rig: Rig) -> None:
    hub = Hub(rig)
    hub.outbox.enqueue("esme", UplinkKind.ALERT, {"source": "esme", "seq": 1})
    alpha, beta = suppliers_of(rig)["alpha"], suppliers_of(rig)["beta"]
    esme = device_party(rig.hub.wan_id, "esme")
    for n, stranger in enumerate((beta, operator_of(rig)), start=1):
        with pytest.raises(SecurityRefusal) as refused:
            hub.codec.open_uplink_ack(ack_from(rig, stranger, esme, UplinkAck("esme", 1), n))
        assert refused.value.reason is Refusal.NOT_SERVED
    assert [code for code, _ in hub.events] == [EventCode.COMMAND_REFUSED] * 2
    assert [m.seq for m in hub.outbox.pending("esme")] == [1], "a refused ack moved nothing"
    ack = hub.codec.open_uplink_ack(ack_from(rig, alpha, esme, UplinkAck("esme", 1), 1))
    hub.outbox.on_ack(ack)
    assert hub.outbox.pending("esme") == []
    hub.store.close()


@pytest.mark.req("6.1.4", "19.1.6")
def test_the_hubs_own_messages_are_acknowledged_by_whom_they_went_to(rig: Rig) -> None:
    hub = Hub(rig)
    hub.outbox.enqueue("hub", UplinkKind.SYNC, {"clock": NOW.isoformat()})  # for the operator
    alpha, operator = suppliers_of(rig)["alpha"], operator_of(rig)
    me = hub_party(rig.hub.wan_id)
    with pytest.raises(SecurityRefusal) as refused:
        hub.codec.open_uplink_ack(ack_from(rig, alpha, me, UplinkAck("hub", 1), 1))
    assert refused.value.reason is Refusal.NOT_SERVED and len(hub.outbox.pending("hub")) == 1
    hub.outbox.on_ack(
        hub.codec.open_uplink_ack(ack_from(rig, operator, me, UplinkAck("hub", 1), 1))
    )
    assert hub.outbox.pending("hub") == []
    # An ack that moves nothing any more needs no authority, and raises no alarm.
    alarms = len(hub.events)
    assert hub.codec.open_uplink_ack(ack_from(rig, alpha, me, UplinkAck("hub", 1), 2)).upto == 1
    assert len(hub.events) == alarms
    hub.store.close()


def _sealed_to(hub: Hub, source: str, seq: int) -> str:
    message = hub.outbox.message(source, seq)
    assert message is not None
    header = peek_header(hub.codec.seal(Channel.UPLINK, message.to_json()))
    assert header is not None
    return header.recipient


@pytest.mark.req("6.1.4", "19.1.6")
def test_a_suppliers_ack_never_covers_the_operators_messages(rig: Rig) -> None:
    """The hub's operator messages and a supplier's results travel in separate streams, so
    the supplier's cumulative ack cannot delete the operator's SYNC before it."""
    hub = Hub(rig)
    alpha, operator = suppliers_of(rig)["alpha"], operator_of(rig)
    me = hub_party(rig.hub.wan_id)
    hub.outbox.enqueue("hub", UplinkKind.SYNC, {"clock": NOW.isoformat()})
    hub.store.put("wan_routes", "cmd-1", [alpha, me, 1])
    result = hub.outbox.enqueue("hub", UplinkKind.RESULT, {"id": "cmd-1", "ok": True, "data": {}})
    assert (result.source, result.seq) == ("hub@alpha", 1)
    assert _sealed_to(hub, "hub", 1) == operator and _sealed_to(hub, "hub@alpha", 1) == alpha
    with pytest.raises(SecurityRefusal) as refused:
        hub.codec.open_uplink_ack(ack_from(rig, alpha, me, UplinkAck("hub", 2), 1))
    assert refused.value.reason is Refusal.NOT_SERVED
    hub.outbox.on_ack(
        hub.codec.open_uplink_ack(ack_from(rig, alpha, me, UplinkAck("hub@alpha", 1), 2))
    )
    assert [m.kind for m in hub.outbox.pending()] == [UplinkKind.SYNC], "the operator's stays"
    hub.store.close()


@pytest.mark.req("6.1.4", "12.6", "19.1.6")
def test_what_was_written_before_a_change_of_supplier_stays_the_old_suppliers(rig: Rig) -> None:
    hub = Hub(rig)
    alpha, beta = suppliers_of(rig)["alpha"], suppliers_of(rig)["beta"]
    esme = device_party(rig.hub.wan_id, "esme")
    hub.outbox.enqueue("esme", UplinkKind.ALERT, {"source": "esme", "seq": 1})
    DeviceRoles(rig, hub.store).change_supplier("esme", "beta", NOW)
    after = hub.outbox.enqueue("esme", UplinkKind.ALERT, {"source": "esme", "seq": 2})
    assert after.source == "esme@beta"
    assert _sealed_to(hub, "esme", 1) == alpha and _sealed_to(hub, "esme@beta", 1) == beta
    with pytest.raises(SecurityRefusal):
        hub.codec.open_uplink_ack(ack_from(rig, beta, esme, UplinkAck("esme", 1), 1))
    hub.outbox.on_ack(
        hub.codec.open_uplink_ack(ack_from(rig, alpha, esme, UplinkAck("esme", 1), 1))
    )
    hub.outbox.on_ack(
        hub.codec.open_uplink_ack(ack_from(rig, beta, esme, UplinkAck("esme@beta", 1), 2))
    )
    assert hub.outbox.pending() == []
    hub.store.close()
