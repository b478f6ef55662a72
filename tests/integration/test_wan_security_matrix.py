"""Bad input on the sealed WAN, as real processes: every kind of forged, unsigned, replayed,
reordered, tampered, cross-supplier, malformed, oversized or misaddressed command put on the
real broker is refused by the real hub with its reason in the ack and a security event, and the
meter's state (its display's message line, its membership of the HAN) is unchanged.

The test plays an attacker who reaches the broker and, for the commands that must pass the
signature check, a supplier or the operator using the keys the rig provisioned for them. Its
counters start far above the head-end's, so the head-end is not used for the suppliers here.
"""

from __future__ import annotations

import itertools
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from firmware.rig import Rig, load_rig
from firmware.wan_parties import operator_of, suppliers_of
from hal.control_socket import request_sync
from hal.real.wan_keys import load_directory, load_keys
from protocol.event_codes import EventCode
from protocol.wan import Channel as Ch
from protocol.wan import (
    CommandAck,
    CommandType,
    UplinkKind,
    UplinkMessage,
    WanCommand,
    request_id,
    topic,
)
from protocol.wan_security import (
    WINDOW,
    PartyKeys,
    PublicKeys,
    Refusal,
    ReplayWindow,
    device_party,
    hub_party,
    open_envelope,
    peek_header,
    seal,
)
from tests.waiting import wait_until
from tests.wan_probe import WanProbe, two_supplier_rig
from tools.launcher import RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
#: Far above anything the head-end has used: the test's own commands never collide with it.
COUNTERS = itertools.count(2**40, 1000)


@dataclass
class Premises:
    rig: Rig
    probe: WanProbe
    keys: dict[str, PartyKeys]
    directory: dict[str, PublicKeys]

    @property
    def hub(self) -> str:
        return hub_party(self.rig.hub.wan_id)

    def party(self, role: str) -> str:
        return operator_of(self.rig) if role == "operator" else suppliers_of(self.rig)[role]

    def command(self, kind: CommandType, device: str, **args: Any) -> WanCommand:
        return WanCommand(
            request_id(secrets.token_bytes(16)), kind, device, datetime.now(UTC), args
        )

    def sealed(
        self,
        command: WanCommand | bytes,
        sender: str,
        *,
        signer: PartyKeys | None = None,
        counter: int | None = None,
        recipient: str | None = None,
        ref: str | None = None,
    ) -> bytes:
        payload = command.to_json() if isinstance(command, WanCommand) else command
        if recipient is None:
            device = command.device if isinstance(command, WanCommand) else ""
            recipient = device_party(self.rig.hub.wan_id, device) if device else self.hub
        return seal(
            payload,
            channel="cmd",
            sender=sender,
            sender_keys=signer or self.keys[sender],
            recipient=recipient,
            recipient_keys=self.directory[recipient],
            counter=next(COUNTERS) if counter is None else counter,
            nonce=secrets.token_bytes(12),
            ref=command.id if isinstance(command, WanCommand) else (ref or ""),
        )

    def send(self, payload: bytes) -> None:
        self.probe.send(topic(self.rig.hub.wan_id, Ch.CMD), payload)

    def ack(self, ref: str, status: str = "") -> tuple[str, CommandAck]:
        """The ack (of `status`, if given) of request `ref`, opened with the keys of whoever it
        was sealed to."""

        def find() -> tuple[str, CommandAck] | None:
            for name, payload in self.probe.drain():
                header = peek_header(payload)
                if not name.endswith("/ack") or header is None or header.ref != ref:
                    continue
                opened = open_envelope(
                    payload,
                    channel="ack",
                    me=header.recipient,
                    my_keys=self.keys[header.recipient],
                    directory=self.directory,
                    window=ReplayWindow(),
                )
                ack = CommandAck.from_json(opened.payload)
                if status in ("", ack.status.value):
                    return header.recipient, ack
            return None

        return wait_until(find, 10, f"the ack of {ref}")

    def hub_event(self, ref: str) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            events = request_sync(self.rig.control_path("hub"), "events", 5, limit=200)["events"]
            return next((e for e in events if e["detail"].get("request_id") == ref), None)

        return wait_until(find, 10, f"the hub's event about {ref}")

    def meter_state(self, device: str) -> dict[str, Any]:
        """What a command could change, through the meter's bench port: its display's last line
        (the message, when there is one, follows the register and tariff lines) and whether it
        is on the HAN."""
        display = request_sync(self.rig.control_path(device), "display", 5)
        status = request_sync(self.rig.control_path(device), "status", 5)
        return {"message": display["lines"][-1:], "joined": status["joined"], "nwk": status["nwk"]}


@pytest.fixture(scope="module")
def premises(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Premises]:
    rig = load_rig(two_supplier_rig(tmp_path_factory.mktemp("wan-security")))
    launcher = RigLauncher(rig)
    launcher.start()
    probe: WanProbe | None = None
    try:
        launcher.wait_joined(90)
        probe = WanProbe(rig, f"smartmeter/v1/{rig.hub.wan_id}/#")
        operator = operator_of(rig)
        own = [*suppliers_of(rig).values(), operator]
        keys = {party: load_keys(rig.keys_dir, party) for party in own}
        yield Premises(rig, probe, keys, load_directory(rig.keys_dir))
    finally:
        if probe is not None:
            probe.close()
        launcher.stop()


def mallory() -> PartyKeys:
    return PartyKeys.from_random(secrets.token_bytes(64))


#: What a case puts on the WAN for a command, and the request id its answer will carry.
Case = Callable[[Premises, WanCommand], tuple[bytes, str]]


def forged(p: Premises, c: WanCommand) -> tuple[bytes, str]:
    return p.sealed(c, p.party("alpha"), signer=mallory()), c.id


def unsigned(p: Premises, c: WanCommand) -> tuple[bytes, str]:
    return c.to_json(), c.id


def replayed(p: Premises, c: WanCommand) -> tuple[bytes, str]:
    """A captured command (carried out once, as it should) sent again."""
    captured = p.command(CommandType.DISPLAY_MESSAGE, "esme", text="ONCE")
    first = p.sealed(captured, p.party("alpha"))
    p.send(first)
    p.ack(captured.id, "accepted")
    wait_until(lambda: p.meter_state("esme")["message"] == ["ONCE"], 15, "ONCE displayed")
    return first, captured.id


def reordered(p: Premises, c: WanCommand) -> tuple[bytes, str]:
    high = next(COUNTERS) + 10 * WINDOW
    status = p.command(CommandType.DEVICE_STATUS, "esme")
    p.send(p.sealed(status, p.party("alpha"), counter=high))
    assert p.ack(status.id)[1].status.value == "accepted"
    return p.sealed(c, p.party("alpha"), counter=high - WINDOW - 1), c.id


def tampered(p: Premises, c: WanCommand) -> tuple[bytes, str]:
    envelope = bytearray(p.sealed(c, p.party("alpha")))
    envelope[-80] ^= 0x01  # inside the ciphertext
    return bytes(envelope), c.id


def cross_supplier(p: Premises, c: WanCommand) -> tuple[bytes, str]:
    return p.sealed(c, p.party("beta")), c.id  # the gas supplier, about the electricity meter


def malformed(p: Premises, c: WanCommand) -> tuple[bytes, str]:
    body = json.loads(c.to_json())
    body["type"] = "explode"
    sealed = p.sealed(json.dumps(body).encode(), p.party("alpha"), recipient=p.hub, ref=c.id)
    return sealed, c.id


def oversized(p: Premises, c: WanCommand) -> tuple[bytes, str]:
    body = json.loads(c.to_json())
    return json.dumps({"id": c.id, **body, "pad": "x" * 70_000}).encode(), c.id


def unknown_device(p: Premises, c: WanCommand) -> tuple[bytes, str]:
    lost = p.command(CommandType.DISPLAY_MESSAGE, "nosuch", text="PWNED")
    elsewhere = WanCommand(c.id, lost.type, lost.device, lost.issued_at, lost.args)
    return p.sealed(elsewhere, p.party("alpha"), recipient=p.hub), c.id


def operator_reads(p: Premises, c: WanCommand) -> tuple[bytes, str]:
    return p.sealed(c, p.party("operator")), c.id  # it manages the hub; it is no supplier


MATRIX: list[tuple[Case, Refusal, EventCode, str]] = [
    (forged, Refusal.BAD_SIGNATURE, EventCode.UNAUTHENTICATED_MESSAGE, "operator"),
    (unsigned, Refusal.UNSIGNED, EventCode.UNAUTHENTICATED_MESSAGE, "operator"),
    (replayed, Refusal.REPLAYED, EventCode.UNAUTHENTICATED_MESSAGE, "alpha"),
    (reordered, Refusal.BEYOND_WINDOW, EventCode.UNAUTHENTICATED_MESSAGE, "alpha"),
    (tampered, Refusal.BAD_SIGNATURE, EventCode.UNAUTHENTICATED_MESSAGE, "operator"),
    (cross_supplier, Refusal.NOT_SERVED, EventCode.COMMAND_REFUSED, "beta"),
    (malformed, Refusal.MALFORMED, EventCode.MALFORMED_MESSAGE, "alpha"),
    (oversized, Refusal.OVERSIZED, EventCode.MALFORMED_MESSAGE, "operator"),
    (unknown_device, Refusal.NOT_SERVED, EventCode.COMMAND_REFUSED, "alpha"),
    (operator_reads, Refusal.NOT_SERVED, EventCode.COMMAND_REFUSED, "operator"),
]


@pytest.mark.req("17.2.1")
def test_a_sealed_command_from_the_meters_supplier_is_carried_out(premises: Premises) -> None:
    """The control: the same path the matrix uses does change the meter when it should."""
    p = premises
    command = p.command(CommandType.DISPLAY_MESSAGE, "esme", text="HELLO")
    p.send(p.sealed(command, p.party("alpha")))
    recipient, ack = p.ack(command.id)
    assert (recipient, ack.status.value) == (p.party("alpha"), "accepted")
    wait_until(
        lambda: p.meter_state("esme")["message"] == ["HELLO"], 15, "HELLO on the meter's display"
    )


@pytest.mark.req("18.11.j", "17.2.1", "17.2.12", "17.2.3", "6.1.4")
@pytest.mark.parametrize(
    ("case", "reason", "code", "answered"), MATRIX, ids=[case.__name__ for case, *_ in MATRIX]
)
def test_bad_command_is_refused_with_its_reason_and_event_and_changes_nothing(
    premises: Premises, case: Case, reason: Refusal, code: EventCode, answered: str
) -> None:
    p = premises
    command = p.command(CommandType.DISPLAY_MESSAGE, "esme", text="PWNED")
    payload, ref = case(p, command)
    before = p.meter_state("esme")
    p.send(payload)
    recipient, ack = p.ack(ref, "rejected")
    assert ack.reason is not None and ack.reason.startswith(reason.value), ack.reason
    assert recipient == p.party(answered)
    event = p.hub_event(ref)
    assert event["code"] == int(code), event
    assert reason.value in event["detail"]["reason"]
    assert p.meter_state("esme") == before  # nothing happened on the meter
    assert "PWNED" not in json.dumps(before)


def results_of(p: Premises, ref: str) -> dict[int, dict[str, Any]]:
    """The results of request `ref` the hub's outbox sent up so far, by outbox sequence number,
    opened with the keys of whoever they were sealed to."""
    found = {}
    for name, payload in p.probe.drain():
        header = peek_header(payload)
        if not name.endswith("/uplink") or header is None or header.ref != ref:
            continue
        opened = open_envelope(
            payload,
            channel="uplink",
            me=header.recipient,
            my_keys=p.keys[header.recipient],
            directory=p.directory,
            window=ReplayWindow(),
        )
        message = UplinkMessage.from_json(opened.payload)
        if message.kind is UplinkKind.RESULT:
            found[message.seq] = message.body
    return found


@pytest.mark.req("19.1.6", "17.2.1", "17.2.12")
def test_the_same_bytes_again_are_a_replay_and_a_command_sealed_again_is_answered_again(
    premises: Premises,
) -> None:
    """Replay protection and de-duplication together: a command sent again by a head-end after
    a crash is sealed again (new counter, same request id) and the hub's journal answers it
    from its stored result without carrying it out twice; the same bytes again are refused."""
    p = premises
    command = p.command(CommandType.DISPLAY_MESSAGE, "esme", text="JOURNAL")
    first = p.sealed(command, p.party("alpha"))
    p.send(first)
    assert p.ack(command.id, "accepted")[0] == p.party("alpha")
    [answer] = wait_until(lambda: results_of(p, command.id), 15, "the command's result").values()
    assert answer["ok"], answer
    p.send(first)  # a captured copy, or the broker's QoS 1 redelivery
    _, refused = p.ack(command.id, "rejected")
    assert refused.reason is not None and refused.reason.startswith(Refusal.REPLAYED.value)
    p.send(p.sealed(command, p.party("alpha")))  # the head-end's retry, sealed afresh
    wait_until(lambda: len(results_of(p, command.id)) == 2, 15, "the command answered again")
    assert list(results_of(p, command.id).values()) == [answer, answer], (
        "answered again with the stored result"
    )
    journal = sqlite3.connect(p.rig.store_path(p.rig.hub.name))
    try:
        rows = journal.execute(
            "SELECT COUNT(*) FROM command_journal WHERE request_id = ?", (command.id,)
        ).fetchone()
    finally:
        journal.close()
    assert rows == (1,), "journalled (carried out) once"
