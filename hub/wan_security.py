"""The hub's end of the sealed WAN (`protocol.wan_security`; 17.2.1, 17.2.4, 18.11.j, 6.1.4).

Every command must come sealed by a supplier or the network operator, addressed to the hub or
to one of its devices, with a fresh counter; it must name a device its originator serves
(`hub.wan_roles`). Anything else is refused before it reaches the bridge: the refusal is logged
as a security event (Unauthenticated message, Malformed message or Command refused) and the
reason goes back in the ack, sealed to the originator if its signature held, else to the network
operator. Nothing else happens.

What the hub sends is sealed too, with counters that never go back (reserved in blocks in the
store before use, like the NCP's frame counters): acks signed by the hub; a command's result
signed by the device it was about and encrypted to whoever sent the command; events, status and
anything naming a device (`"device"` or `"source"`) signed by that device and encrypted to its
supplier, the rest signed by the hub and encrypted to the network operator.

The replay window of each originator is saved in the hub's store in the transaction that
accepts the command, with where its answers go (so a result sent after a restart still reaches
the one who asked), so a restart neither forgets a counter nor refuses a new one.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from firmware.rig import Rig
from firmware.wan_parties import operator_of, suppliers_of
from hal.ports import NonVolatileStore
from protocol.errors import DecodeError
from protocol.event_codes import EventCode
from protocol.json_fields import JsonObject
from protocol.wan import (
    Channel,
    UplinkAck,
    UplinkKind,
    WanCommand,
    component_of,
    peek_request_id,
    stream_of,
)
from protocol.wan_security import (
    Header,
    KeyRing,
    Opened,
    Refusal,
    ReplayWindow,
    SecurityRefusal,
    device_party,
    hub_party,
    open_envelope,
    peek_header,
    seal,
)

from .han.commissioning import RecordEvent
from .outbox import Outbox
from .wan_roles import OPERATOR_COMMANDS, OPERATOR_ONLY, DeviceRoles

__all__ = ["HubWanSecurity"]

LOGGER = logging.getLogger(__name__)
_WINDOWS = "wan_windows"
_COUNTERS = "wan_counters"
_ROUTES = "wan_routes"
COUNTER_BLOCK = 64
ROUTES_KEPT = 1000
_EVENT_OF = {
    Refusal.MALFORMED: EventCode.MALFORMED_MESSAGE,
    Refusal.OVERSIZED: EventCode.MALFORMED_MESSAGE,
    Refusal.NOT_SERVED: EventCode.COMMAND_REFUSED,
    Refusal.COMMS_DISABLED: EventCode.COMMAND_REFUSED,
}


@dataclass(frozen=True)
class _Route:
    """Where the answers to one command go: signed by `signer`, encrypted to `reply_to`."""

    reply_to: str
    signer: str


class HubWanSecurity:
    """`hal.wan_codec.WanCodec` that seals and opens, for the hub of `rig`."""

    def __init__(
        self,
        rig: Rig,
        ring: KeyRing,
        store: NonVolatileStore,
        roles: DeviceRoles,
        record: RecordEvent,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        outbox: Outbox | None = None,
    ) -> None:
        self._rig, self._ring, self._store = rig, ring, store
        #: What the acknowledgements move: who may acknowledge a message is whom it went to.
        self._outbox = outbox
        self._roles, self._record, self._random = roles, record, random_bytes
        self.hub = hub_party(rig.hub.wan_id)
        self.operator = operator_of(rig)
        self._suppliers = {party: name for name, party in suppliers_of(rig).items()}
        self._devices = {device_party(rig.hub.wan_id, name): name for name in rig.devices}
        self._routes: OrderedDict[str, _Route] = OrderedDict()
        self._accepted = 0
        self._next: dict[str, int] = {}
        self._ceiling: dict[str, int] = {}
        # The last will is sealed on paho's thread, everything else on the loop's.
        self._counter_lock = threading.Lock()
        if outbox is not None:
            outbox.addressing = self._address
            # A device's messages from before they kept their party (schema 1) went to its
            # supplier then: fixed now, a later change of supplier cannot redirect them (6.1.4).
            # The hub's own stream mixed parties and keeps none (`_ack_authority`).
            for device in rig.devices:
                party = suppliers_of(rig)[roles.supplier(device)]
                outbox.address_unaddressed(device, party)

    # -- down: commands --------------------------------------------------------------------------

    def open_command(self, payload: bytes) -> WanCommand:
        try:
            command, sender = self._check(payload)
        except SecurityRefusal as exc:
            self._refused(exc, payload)
            raise
        self._remember(command.id, _Route(sender, self._signer(command.device)))
        return command

    def open_uplink_ack(self, payload: bytes) -> UplinkAck:
        """The head-end's acknowledgement of outbox messages, sealed to the hub or one of its
        devices by the party the acknowledged message went to (`_ack_authority`). A replay (a
        QoS 1 duplicate) moves nothing and is dropped quietly; anything else refused is a
        security event, as for a command, and moves nothing."""
        try:
            opened, window, key, _me = self._open(payload, Channel.UPLINK_ACK)
            try:
                ack = UplinkAck.from_json(opened.payload)
            except DecodeError as exc:
                raise SecurityRefusal(
                    Refusal.MALFORMED, str(exc), opened.header, authentic=True
                ) from None
            strangers = self._ack_authority(ack, opened.header.sender)
            if strangers:
                raise SecurityRefusal(
                    Refusal.NOT_SERVED,
                    f"{opened.header.sender} may not acknowledge {ack.source}#{ack.upto}:"
                    f" it covers messages to {', '.join(sorted(strangers))}",
                    opened.header,
                    authentic=True,
                )
        except SecurityRefusal as exc:
            if exc.reason is not Refusal.REPLAYED:
                self._refused(exc, payload)
            raise
        self._store.put(_WINDOWS, key, window.accept(opened.header.counter).to_json())
        return ack

    def _ack_authority(self, ack: UplinkAck, sender: str) -> set[str]:
        """Every party but `sender` whose messages an ack of `ack.source` up to `ack.upto`
        would delete: the hub takes it only if there is none. Each message is sealed to the
        party `_address` fixed when it was written, and each stream goes to one party, so a
        cumulative ack from the head-end covers only what went to its sender; one reaching
        past that (another party's message, 6.1.4) is refused. An ack that moves nothing (old,
        repeated, of a stream the hub never had) needs no authority: it has no effect.

        Messages written before messages kept their party (schema 1) shared the hub's one
        stream between the operator and the suppliers whose commands it answered, so every ack
        of such a stream covers several parties: any one of them acknowledges those messages
        (else the backlog of an upgraded hub would never leave its outbox)."""
        if self._outbox is None:
            return set()
        marks = self._outbox.marks(ack.source)
        if marks is None or ack.upto <= marks[1]:
            return set()
        parties = self._outbox.parties(ack.source, marks[1], min(ack.upto, marks[0]))
        legacy = {
            self._legacy_party(ack.source, seq) for seq, party in parties.items() if not party
        }
        covered = {party for party in parties.values() if party}
        if sender not in legacy:
            covered |= legacy
        return covered - {sender}

    def _legacy_party(self, source: str, seq: int) -> str:
        """The recipient of a message written before messages kept theirs (schema 1)."""
        message = self._outbox.message(source, seq) if self._outbox is not None else None
        if message is None:
            return self.operator
        ref = message.body.get("id") if message.kind is UplinkKind.RESULT else None
        return self._route(
            Channel.UPLINK, message.to_json(), ref if isinstance(ref, str) else None
        ).reply_to

    def _address(self, source: str, kind: UplinkKind, body: JsonObject) -> tuple[str, str]:
        """(stream, recipient) of an outbox message, fixed when it is written: a device's
        messages go to its supplier now, in the device's own stream for the supplier the rig
        gave it and in `device@supplier` after a change of supplier (12.6), so that what was
        written before the change still goes to the old supplier and each stream has one
        recipient; the hub's own messages go to the network operator in `hub`, or, for the
        result of a supplier's command, to that supplier in `hub@supplier`."""
        if source in self._rig.devices:
            supplier = self._roles.supplier(source)
            first = supplier == self._rig.devices[source].supplier
            return stream_of(source, None if first else supplier), suppliers_of(self._rig)[supplier]
        ref = body.get("id") if kind is UplinkKind.RESULT else None
        payload = json.dumps({"source": source, "body": body}).encode()
        party = self._route(Channel.UPLINK, payload, ref if isinstance(ref, str) else None)
        label = self._suppliers.get(party.reply_to)
        return stream_of(source, label), party.reply_to

    def _prune_routes(self) -> None:
        """Forget the stored routes of all but the last `ROUTES_KEPT` commands."""
        stored = sorted(self._store.items(_ROUTES).items(), key=lambda item: item[1][2])
        with self._store.transaction() as tx:
            for ref, _ in stored[: max(0, len(stored) - ROUTES_KEPT)]:
                self._store.delete(_ROUTES, ref, tx=tx)

    def _open(self, payload: bytes, channel: Channel) -> tuple[Opened, ReplayWindow, str, str]:
        """Open an envelope sealed to one of the hub's parties, against its sender's stored
        replay window on `channel`: (what was opened, the window, its store key, the recipient).
        The caller saves `window.accept(counter)` under that key once it accepts the message."""
        header = peek_header(payload)
        me = header.recipient if header is not None else self.hub
        if me not in self._ring.own:
            raise SecurityRefusal(Refusal.WRONG_RECIPIENT, f"addressed to {me}", header)
        key = f"{header.sender}|{channel.value}" if header is not None else ""
        window = ReplayWindow.from_json(self._store.get(_WINDOWS, key, [-1, 0]))
        opened = open_envelope(
            payload,
            channel=channel.value,
            me=me,
            my_keys=self._ring.own[me],
            directory=self._ring.directory,
            window=window,
        )
        return opened, window, key, me

    def _check(self, payload: bytes) -> tuple[WanCommand, str]:
        opened, window, key, me = self._open(payload, Channel.CMD)
        sender = opened.header.sender
        try:
            command = WanCommand.from_json(opened.payload)
        except DecodeError as exc:
            raise SecurityRefusal(
                Refusal.MALFORMED, str(exc), opened.header, authentic=True
            ) from None
        if command.id != opened.header.ref:
            raise SecurityRefusal(
                Refusal.MALFORMED, "request id differs from ref", opened.header, authentic=True
            )
        try:
            self._authorise(sender, me, command, opened.header)
        except SecurityRefusal as exc:
            raise SecurityRefusal(exc.reason, exc.detail, exc.header, authentic=True) from None
        # Acceptance: the counter is taken, and the answers' route kept, in one transaction.
        route = _Route(sender, self._signer(command.device))
        order = self._counter("routes")  # never repeats: the age of the route, for pruning
        with self._store.transaction() as tx:
            self._store.put(_WINDOWS, key, window.accept(opened.header.counter).to_json(), tx=tx)
            self._store.put(_ROUTES, command.id, [route.reply_to, route.signer, order], tx=tx)
        self._accepted += 1
        if self._accepted % (ROUTES_KEPT // 10) == 0:
            self._prune_routes()
        return command, sender

    def _authorise(self, sender: str, me: str, command: WanCommand, header: Header) -> None:
        device = command.device
        if device not in self._rig.devices:
            raise SecurityRefusal(Refusal.NOT_SERVED, f"no device {device!r} on this hub", header)
        if me != self.hub and self._devices.get(me) != device:
            raise SecurityRefusal(
                Refusal.WRONG_RECIPIENT, f"sealed to {me}, about {device}", header
            )
        if sender == self.operator:
            if command.type not in OPERATOR_COMMANDS:
                raise SecurityRefusal(
                    Refusal.NOT_SERVED,
                    f"the network operator may not {command.type} {device}",
                    header,
                )
            return
        supplier = self._suppliers.get(sender)
        owner = self._roles.supplier(device)
        if supplier is None or supplier != owner or command.type in OPERATOR_ONLY:
            raise SecurityRefusal(
                Refusal.NOT_SERVED, f"{sender} does not serve {device} for {command.type}", header
            )
        if self._roles.wan_disabled(device):
            raise SecurityRefusal(
                Refusal.COMMS_DISABLED, f"WAN communications of {device} are disabled", header
            )

    def _refused(self, exc: SecurityRefusal, payload: bytes) -> None:
        header = exc.header
        ref = header.ref if header is not None and header.ref else peek_request_id(payload)
        # An answer goes back to the originator only if it proved who it is; else to the
        # network operator, who watches the hub's security.
        reply_to = header.sender if exc.authentic and header is not None else self.operator
        if ref:
            self._remember(ref, _Route(reply_to, self.hub))
        code = _EVENT_OF.get(exc.reason, EventCode.UNAUTHENTICATED_MESSAGE)
        LOGGER.warning("hub: WAN command refused (%s): %s", code.title, exc)
        self._record(
            code,
            {
                "link": "WAN",
                "request_id": ref,
                "reason": str(exc)[:200],
                "originator": header.sender if header is not None else None,
            },
        )

    def _signer(self, device: str) -> str:
        return (
            device_party(self._rig.hub.wan_id, device) if device in self._rig.devices else self.hub
        )

    def _remember(self, ref: str, route: _Route) -> None:
        self._routes[ref] = route
        self._routes.move_to_end(ref)
        while len(self._routes) > ROUTES_KEPT:
            self._routes.popitem(last=False)

    # -- up: everything the hub sends ------------------------------------------------------------

    def seal(self, channel: Channel, payload: bytes, ref: str | None = None) -> bytes:
        route = self._route(channel, payload, ref)
        return seal(
            payload,
            channel=channel.value,
            sender=route.signer,
            sender_keys=self._ring.own[route.signer],
            recipient=route.reply_to,
            recipient_keys=self._ring.directory[route.reply_to],
            counter=self._counter(f"{route.signer}|{channel.value}"),
            nonce=self._random(12),
            ref=ref or "",
        )

    def _route(self, channel: Channel, payload: bytes, ref: str | None) -> _Route:
        # An ack, a result, or an outbox message carrying a result (`ref` is its request id).
        if channel in (Channel.ACK, Channel.RESULT) or (channel is Channel.UPLINK and ref):
            route = self._routes.get(ref or "") or self._stored_route(ref)
            return _Route(route.reply_to, self.hub) if channel is Channel.ACK else route
        device = _named_device(payload)
        stored = self._stored_party(payload) if channel is Channel.UPLINK else ""
        if stored:
            return _Route(stored, self._signer(device) if device else self.hub)
        if device in self._rig.devices:
            supplier = suppliers_of(self._rig)[self._roles.supplier(device)]
            return _Route(supplier, self._signer(device))
        return _Route(self.operator, self.hub)

    def _stored_party(self, payload: bytes) -> str:
        """The recipient an outbox message was written for ("" if none or not known)."""
        if self._outbox is None:
            return ""
        try:
            obj = json.loads(payload)
            source, seq = obj["source"], obj["seq"]
        except (ValueError, KeyError, TypeError):
            return ""
        if not isinstance(source, str) or not isinstance(seq, int):
            return ""
        return self._outbox.parties(source, seq - 1, seq).get(seq, "")

    def _stored_route(self, ref: str | None) -> _Route:
        """The route a command accepted before a restart left; else to the operator."""
        stored = self._store.get(_ROUTES, ref, None) if ref else None
        if isinstance(stored, list) and len(stored) == 3:
            return _Route(str(stored[0]), str(stored[1]))
        return _Route(self.operator, self.hub)

    def _counter(self, key: str) -> int:
        """The next counter of a (signer, channel) stream; never repeats, even after a crash."""
        with self._counter_lock:
            return self._take(key)

    def _take(self, key: str) -> int:
        if key not in self._next:
            self._next[key] = self._ceiling[key] = int(self._store.get(_COUNTERS, key, 0))
        counter = self._next[key]
        if counter >= self._ceiling[key]:
            self._ceiling[key] = counter + COUNTER_BLOCK
            self._store.put(_COUNTERS, key, self._ceiling[key])
        self._next[key] = counter + 1
        return counter


def _named_device(payload: bytes) -> str | None:
    """The device a message is about (`device`, or an event's or outbox stream's `source`; for
    a message of the hub's own stream, what its body names), if it says."""
    try:
        obj = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    name = obj.get("device", obj.get("source"))
    if isinstance(name, str):
        name = component_of(name)
    body = obj.get("body")
    if name == "hub" and isinstance(body, dict):
        name = body.get("device", body.get("source", name))
    return name if isinstance(name, str) else None
