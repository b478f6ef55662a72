"""In-home display (IHD) firmware: finds the meters on the HAN and shows what they measure.

The IHD joins as an end device with its receiver on (mains adapter), endpoint 1 being a Smart
Energy In-Premise Display (device id 0x0502), client of Metering (0x0702) and Time (0x000A).

1. Discovery: a ZDO Match_Desc_req broadcast (to every node with its receiver on, 0xFFFD) for
   profile 0x0109 with Metering as an input cluster. Each Match_Desc_rsp names a node and its
   matching endpoints; the IHD reads each one's formatting attributes and MeteringDeviceType
   (0x0306) to tell the electricity meter (0) from the gas meter (1), or from a mirror of them
   (127 + n, e.g. the hub's gas proxy: used only while no meter of that fuel answers directly).
   Discovery repeats (after 1 s, then backing off to `DISCOVERY_PERIOD_REAL_S`) until both
   meters are known, and again
   whenever one of them has stopped answering (it may have rejoined with a new address).
2. Polling (clause 12.5): one Read Attributes of CurrentSummationDelivered, InstantaneousDemand
   and Status, every `ELECTRICITY_POLL_S` (2 s, so demand is never more than 5 s old) for
   electricity and every `GAS_POLL_S` (15 min, within the clause's 30 min, sparing a battery
   meter) for gas, and once straight after a meter is found. Polls of one meter never overlap;
   on a scaled clock they are at least `MIN_POLL_GAP_REAL_S` real seconds apart, as a radio
   cannot go faster than real time.
3. A meter that misses 3 polls in a row shows its last values with "(no signal)" and logs
   Communication error (B.5.9, "a communication problem when reading the meter"); its next
   answer logs Communication ok (B.5.10).

4. Prices (16.17, 16.20): each meter is the price server of its own tariff. The IHD asks it for
   the current price (GetCurrentPrice) once it is found, and the meter pushes every change
   (PublishPrice) and critical peak notice (PublishCPPEvent) at once; the cost of today and
   since the last bill are read every `COST_POLL_S` (`price_view`).

Bench commands, beside the common ones: `meters` lists what the IHD knows of each meter;
`prices` the price and costs of each; `cpp` {"fuel", "accept": true|false} answers the
consumer's choice on a pending critical peak event (CPPEventResponse to the meter, 16.11).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

from devices.core.firmware import DeviceIdentity, Firmware
from devices.ihd.comms_watch import contact_watch
from devices.meter.metering_cluster import METERING_CLUSTER, attribute_names
from firmware.boards import DeviceBoard
from firmware.clock_waits import sleep_real, wait_on_clock
from firmware.rig import DeviceKind
from firmware.zcl.client import Reporting
from hal.control_socket import ControlError, Handler, Request
from hal.radio import EndpointDescriptor, IncomingMessage
from protocol.errors import DecodeError, RemoteProtocolError, TransientLinkError
from protocol.event_codes import EventCode
from protocol.se import Metering, Prepayment, Price
from protocol.se.price_types import CppAuth, PriceCommandOptions
from protocol.zdo import MatchDescReq, MatchDescRsp, Status
from protocol.zigbee_ids import BROADCAST_RX_ON_WHEN_IDLE, SE_PROFILE, ClusterId, SeDeviceId

from .meter_view import LOST_AFTER_FAILURES, Fuel, MeterLink, fuel_of, render
from .price_view import PriceInfo, price_lines

__all__ = ["ELECTRICITY_POLL_S", "GAS_POLL_S", "IhdFirmware"]

ELECTRICITY_POLL_S = 2.0
GAS_POLL_S = 15 * 60.0
#: Clause 12.5: electricity data reaches the IHD within 5 s, gas within 30 min. Subscribed, the
#: IHD hears of a change from the meter itself (reported within a second of the meter's sample,
#: no more often than the minimum interval), and at least once per maximum interval, the meter's
#: heartbeat, which is the clause's limit. A meter not heard for a heartbeat and a margin is
#: polled, as an unsubscribed one is, so the screen is never older than the clause allows
#: without saying so: a lost report or a meter that forgot the subscription costs one poll.
REPORT_INTERVALS_S = {Fuel.ELECTRICITY: (1, 5), Fuel.GAS: (60, 30 * 60)}
HEARTBEAT_MARGIN_S = {Fuel.ELECTRICITY: 2.0, Fuel.GAS: 60.0}
DISCOVERY_PERIOD_REAL_S = 10.0
DISCOVERY_FIRST_REAL_S = 1.0
MIN_POLL_GAP_REAL_S = 0.25
POLL_PERIOD = {Fuel.ELECTRICITY: ELECTRICITY_POLL_S, Fuel.GAS: GAS_POLL_S}
#: Clock seconds between two reads of a meter's costs (today, since the last bill).
COST_POLL_S = 60.0
#: The costs: Metering's BillToDateDelivered and its trailing digit, BillToDateReceived and its
#: digit (a credit since the last bill, `devices.meter.bill_credit`), Prepayment's cost today.
BILL_ATTRIBUTES = (0x0A00, 0x0A04, 0x0A10, 0x0A14)
COST_TODAY_ATTRIBUTES = (0x051C, 0x0502)

# Metering attribute ids (SE annex D.3.2.2): read once at discovery, then at every poll.
FORMATTING_ATTRIBUTES = (0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x0306)
READING_ATTRIBUTES = (0x0000, 0x0400, 0x0200)
_READINGS = Metering.AttributeDefs
#: What the IHD asks each meter to report: (attribute, reportable change).
REPORTED = (
    (_READINGS.current_summ_delivered, 1),
    # Demand in W (raw, divisor 1000 to kW): a change under 10 W waits for the heartbeat (5 s,
    # still within 12.5), so a household's slow drift does not cost a frame a second.
    (_READINGS.instantaneous_demand, 10),
    (_READINGS.status, 0),
)


class IhdFirmware(Firmware):
    """The in-home display."""

    kind = DeviceKind.IHD
    endpoint = EndpointDescriptor(
        1,
        SeDeviceId.IN_PREMISE_DISPLAY,
        (),
        (ClusterId.METERING, ClusterId.TIME, ClusterId.PRICE, ClusterId.PREPAYMENT),
    )
    router = False

    def __init__(self, identity: DeviceIdentity, board: DeviceBoard) -> None:
        super().__init__(identity, board)
        self.links: dict[Fuel, MeterLink] = {}
        self._found: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        self._poll_now = {fuel: asyncio.Event() for fuel in Fuel}
        #: Set when a link changes (`_links_changed`), for the comms and discovery watches.
        self._comms_wake = asyncio.Event()
        self._discovery_wake = asyncio.Event()
        self._pollers: set[Fuel] = set()
        self._zdo_tsn = 0
        self._updated_at: datetime | None = None
        #: Each fuel's price and costs, as its meter published them.
        self.prices: dict[Fuel, PriceInfo] = {}
        #: The hub's message (e.g. 'Welcome' after an installation, 20.2.8), kept across
        #: restarts.
        self.message = str(board.store.get("ihd", "message", ""))
        #: What the IHD shows of its own accord when it has lost every meter (12.7.3).
        self.local_message = ""

    async def on_start(self) -> None:
        self.zcl_client.on_report(METERING_CLUSTER, self._on_metering_report)
        self.zcl_client.on_command(Price, self._on_price_command)
        self.refresh_display()
        self.spawn(self._discovery_loop(), "discovery")
        self.spawn(self._probe_loop(), "probe")
        self.spawn(self._comms_watch(), "comms watch")

    def refresh_display(self) -> None:
        lines = render(self.links, self._updated_at)
        lines += price_lines({fuel.value: info for fuel, info in self.prices.items()})
        messages = [self.message, self.local_message]
        lines += [text for i, text in enumerate(messages) if text and text not in messages[:i]]
        self.display.show(lines)

    def _links_changed(self) -> None:
        """A link was found, lost, or heard: what the watches decide on may have changed."""
        self._comms_wake.set()
        self._discovery_wake.set()

    async def _comms_watch(self) -> None:
        """Show the contact message when every meter has been lost long enough (12.7.3): on
        every change of a link, and at the instant the period runs out, on the clock port."""
        rules = self.identity.comms_loss
        while True:
            self._comms_wake.clear()
            wanted, due = contact_watch(rules, self.links.values(), self.clock.monotonic())
            if wanted != self.local_message:
                self.local_message = wanted
                self.refresh_display()
            if due is None:
                await self._comms_wake.wait()
                continue
            with contextlib.suppress(TimeoutError):
                await wait_on_clock(self.clock, self._comms_wake.wait(), due)

    def on_display_message(self, text: str) -> None:
        self.message = text
        self.store.put("ihd", "message", text)
        self.refresh_display()

    # -- discovery ---------------------------------------------------------------------

    def needs_discovery(self) -> bool:
        return any(fuel not in self.links or self.links[fuel].lost for fuel in Fuel)

    async def _discovery_loop(self) -> None:
        # Quick at first (the meters may still be joining as the IHD comes up), then every
        # DISCOVERY_PERIOD_REAL_S so a missing meter does not flood the HAN with broadcasts.
        period = DISCOVERY_FIRST_REAL_S
        while True:
            await self.wait_joined()
            if self.needs_discovery():
                await self.discover()
                await sleep_real(self.clock, period)
                period = min(period * 2, DISCOVERY_PERIOD_REAL_S)
                continue
            period = DISCOVERY_FIRST_REAL_S
            # Both meters are read: nothing to do until a link changes (found, lost).
            self._discovery_wake.clear()
            if not self.needs_discovery():
                await self._discovery_wake.wait()

    async def discover(self) -> None:
        """Broadcast Match_Desc_req for SE Metering servers; answers arrive in `on_zdo`."""
        self._zdo_tsn = (self._zdo_tsn + 1) & 0xFF
        request = MatchDescReq(
            self._zdo_tsn, BROADCAST_RX_ON_WHEN_IDLE, SE_PROFILE, (METERING_CLUSTER,)
        )
        try:
            await self.radio.broadcast(MatchDescReq.CLUSTER_ID, request.build())
        except TransientLinkError as exc:
            self.log.info("Match_Desc_req not sent: %s", exc)

    def on_zdo(self, message: IncomingMessage) -> None:
        if message.cluster_id != MatchDescRsp.CLUSTER_ID:
            return
        try:
            response = MatchDescRsp.parse(message.payload)
        except DecodeError as exc:
            self.record_malformed(
                exc,
                sender=message.sender,
                cluster_id=message.cluster_id,
                payload=message.payload,
                profile_id=message.profile_id,
            )
            return
        if response.status != Status.SUCCESS:
            return
        for endpoint in response.matches:
            self._found.put_nowait((response.nwk_addr_of_interest, endpoint))

    async def _probe_loop(self) -> None:
        while True:
            nwk, endpoint = await self._found.get()
            if any(
                link.nwk == nwk and link.endpoint == endpoint and not link.lost
                for link in self.links.values()
            ):
                continue  # already reading it
            await self.probe(nwk, endpoint)

    async def probe(self, nwk: int, endpoint: int) -> None:
        """Read a candidate's formatting and device type; adopt it if it is a meter we need."""
        try:
            values = await self.zcl_client.read_attributes(
                nwk, endpoint, METERING_CLUSTER, FORMATTING_ATTRIBUTES
            )
        except DecodeError as exc:
            self.record_malformed(exc, sender=nwk, cluster_id=METERING_CLUSTER)
            return
        except (TransientLinkError, RemoteProtocolError) as exc:
            self.log.info("cannot read meter 0x%04x/%d: %s", nwk, endpoint, exc)
            return
        formatting = attribute_names(values)
        kind = fuel_of(formatting.get("metering_device_type", -1))
        if kind is None:
            self.log.info("0x%04x/%d is not a gas or electricity meter", nwk, endpoint)
            return
        fuel, mirrored = kind
        current = self.links.get(fuel)
        if current is not None and not current.lost and (mirrored or not current.mirrored):
            return  # keep the meter we read; a direct meter only ever replaces a mirror
        link = MeterLink(fuel, nwk, endpoint, mirrored, formatting)
        if current is not None:
            # Keep the last values (and the no-signal mark, so that its clearing is logged as
            # B.5.10) on screen until the meter answers at its new address.
            link.readings, link.registers, link.read_at = (
                current.readings,
                current.registers,
                current.read_at,
            )
            link.failures = current.failures
        self.links[fuel] = link
        self._links_changed()
        self.log.info("%s meter at 0x%04x endpoint %d", fuel.value, nwk, endpoint)
        self.spawn(self._subscribe(link), f"subscribe-{fuel.value}")
        self.spawn(self._price_loop(link), f"price-{fuel.value}")
        if fuel in self._pollers:
            self._poll_now[fuel].set()
        else:
            self._pollers.add(fuel)
            self.spawn(self._poll_loop(fuel), f"poll-{fuel.value}")
        self.refresh_display()

    # -- reports (clause 12.5) ---------------------------------------------------------

    async def _subscribe(self, link: MeterLink) -> None:
        """Ask the meter to report its readings to us (ZCL Configure Reporting)."""
        low, high = REPORT_INTERVALS_S[link.fuel]
        reports = [
            Reporting(int(definition.id), definition.zcl_type, low, high, change)
            for definition, change in REPORTED
        ]
        try:
            refused = await self.zcl_client.configure_reporting(
                link.nwk, link.endpoint, METERING_CLUSTER, reports
            )
        except DecodeError as exc:
            self.record_malformed(exc, sender=link.nwk, cluster_id=METERING_CLUSTER)
            return
        except (TransientLinkError, RemoteProtocolError) as exc:
            self.log.info("%s meter takes no subscription (%s): polling it", link.fuel.value, exc)
            return
        link.subscribed = not refused
        if refused:
            self.log.info("%s meter refused reporting of %s: polling", link.fuel.value, refused)

    def _on_metering_report(self, sender: int, endpoint: int, values: dict[int, Any]) -> None:
        link = next(
            (m for m in self.links.values() if (m.nwk, m.endpoint) == (sender, endpoint)), None
        )
        if link is None:
            return  # a meter we do not read (another premises' IHD asked it, or a mirror)
        readings = {k: v for k, v in values.items() if k in READING_ATTRIBUTES}
        if readings:
            link.reports += 1
            self._heard(link, {**(link.readings or {}), **attribute_names(readings)})

    def _heard(self, link: MeterLink, readings: dict[str, int]) -> None:
        """Fresh readings of a meter, by poll or report: update it and the screen."""
        was_lost = link.lost
        try:
            link.update(readings, self.clock.now())
        except DecodeError as exc:
            self.record_malformed(exc, sender=link.nwk, cluster_id=METERING_CLUSTER)
            self._failed(link, exc)
            return
        link.heard_s = self.clock.monotonic()
        self._updated_at = link.read_at
        self._links_changed()
        if was_lost:  # B.5.10 closes a B.5.9 logged for this meter
            self.events.record(
                EventCode.COMMUNICATION_OK,
                {"meter": link.fuel.value, "nwk": f"0x{link.nwk:04x}"},
            )
        self.refresh_display()

    # -- polling -----------------------------------------------------------------------

    def poll_period(self, link: MeterLink) -> float:
        """Clock seconds between polls: the meter's heartbeat when it reports, else 12.5's."""
        if link.subscribed:
            return REPORT_INTERVALS_S[link.fuel][1] + HEARTBEAT_MARGIN_S[link.fuel]
        return POLL_PERIOD[link.fuel]

    async def _poll_loop(self, fuel: Fuel) -> None:
        wake = self._poll_now[fuel]
        while True:
            wake.clear()
            link = self.links[fuel]
            period = self.poll_period(link)
            quiet = self.clock.monotonic() - link.heard_s if link.heard_s is not None else None
            if quiet is None or quiet >= period or link.failures:
                await self.poll(fuel)
                quiet = 0.0
            gap = max(period - quiet, MIN_POLL_GAP_REAL_S * self.clock.scale)
            with contextlib.suppress(TimeoutError):
                await wait_on_clock(self.clock, wake.wait(), gap)

    async def poll(self, fuel: Fuel) -> None:
        """Read one meter's registers once and update the screen."""
        link = self.links[fuel]
        link.polls += 1
        try:
            values = await self.zcl_client.read_attributes(
                link.nwk, link.endpoint, METERING_CLUSTER, READING_ATTRIBUTES
            )
        except DecodeError as exc:
            self.record_malformed(exc, sender=link.nwk, cluster_id=METERING_CLUSTER)
            self._failed(link, exc)
        except (TransientLinkError, RemoteProtocolError) as exc:
            self._failed(link, exc)
        else:
            self._heard(link, attribute_names(values))
            return
        self.refresh_display()

    def _failed(self, link: MeterLink, error: Exception) -> None:
        link.failures += 1
        self._links_changed()
        if link.failures == 1 and link.subscribed:
            # Reports stopped coming and the meter does not answer: it may have restarted or
            # moved; subscribe again once it is back (discovery re-probes a lost meter).
            link.subscribed = False
        self.log.info("poll of the %s meter failed (%d): %s", link.fuel.value, link.failures, error)
        if link.failures == LOST_AFTER_FAILURES:
            self.events.record(
                EventCode.COMMUNICATION_ERROR,
                {"meter": link.fuel.value, "nwk": f"0x{link.nwk:04x}", "error": str(error)},
            )

    # -- prices (16.17, 16.20) ---------------------------------------------------------

    def _link_of(self, sender: int) -> MeterLink | None:
        return next((m for m in self.links.values() if m.nwk == sender), None)

    def _on_price_command(self, sender: int, endpoint: int, name: str, fields: Any) -> None:
        """What a meter's Price server pushes: a new price (16.20), a CPP notice (16.11)."""
        link = self._link_of(sender)
        if link is None:
            return  # not a meter we read
        info = self.prices.setdefault(link.fuel, PriceInfo())
        if name == "publish_price":
            info.take_price(fields, self.clock.now())
        elif name == "publish_cpp_event":
            info.take_cpp(fields)
        elif name == "publish_block_thresholds":
            info.take_block_thresholds(fields)
        elif name == "publish_block_period":
            info.take_block_period(fields)
        elif name == "cancel_tariff":
            self.log.info("%s meter cancelled tariff %s", link.fuel.value, fields.issuer_tariff_id)
            return
        else:
            return
        self.refresh_display()

    async def _price_loop(self, link: MeterLink) -> None:
        """Ask for the current price once, then read the costs every COST_POLL_S."""
        asked = False
        while self.links.get(link.fuel) is link:
            try:
                if not asked:
                    answer = await self.zcl_client.command(
                        link.nwk,
                        link.endpoint,
                        Price,
                        "get_current_price",
                        command_options=PriceCommandOptions.RequestorRxOnWhenIdle,
                    )
                    if answer is not None and answer[0] == "publish_price":
                        self._on_price_command(link.nwk, link.endpoint, *answer)
                    asked = True
                await self._read_costs(link)
            except DecodeError as exc:
                self.record_malformed(exc, sender=link.nwk, cluster_id=Price.cluster_id)
            except (TransientLinkError, RemoteProtocolError) as exc:
                self.log.info("no price from the %s meter yet: %s", link.fuel.value, exc)
            await self.clock.sleep(max(COST_POLL_S, MIN_POLL_GAP_REAL_S * self.clock.scale))

    async def _read_costs(self, link: MeterLink) -> None:
        info = self.prices.setdefault(link.fuel, PriceInfo())
        bill = await self.zcl_client.read_attributes(
            link.nwk, link.endpoint, METERING_CLUSTER, BILL_ATTRIBUTES
        )
        if 0x0A00 in bill:
            info.bill = int(bill[0x0A00])
            info.bill_digits = _trailing_digits(bill.get(0x0A04))
        # A meter without export serves no credit: none, rather than the last one read.
        info.credit = int(bill[0x0A10]) if 0x0A10 in bill else None
        info.credit_digits = _trailing_digits(bill.get(0x0A14))
        today = await self.zcl_client.read_attributes(
            link.nwk, link.endpoint, Prepayment.cluster_id, COST_TODAY_ATTRIBUTES
        )
        if 0x051C in today:
            info.cost_today = int(today[0x051C])
            info.cost_today_digits = _trailing_digits(today.get(0x0502))
        self.refresh_display()

    # -- bench port --------------------------------------------------------------------

    def extra_handlers(self) -> dict[str, Handler]:
        return {"meters": self._cmd_meters, "prices": self._cmd_prices, "cpp": self._cmd_cpp}

    async def _cmd_prices(self, request: Request) -> dict[str, Any]:
        return {"prices": {fuel.value: info.describe() for fuel, info in self.prices.items()}}

    async def _cmd_cpp(self, request: Request) -> dict[str, Any]:
        """The consumer accepts or rejects the pending CPP event (16.11.8); the meter records
        the answer and tells the head-end."""
        try:
            fuel = Fuel(request.get("fuel", "electricity"))
        except ValueError:
            raise ControlError('"fuel" is "electricity" or "gas"') from None
        accept = request.get("accept")
        if not isinstance(accept, bool):
            raise ControlError('"accept" must be true or false')
        info, link = self.prices.get(fuel), self.links.get(fuel)
        if info is None or info.cpp is None or link is None:
            raise ControlError(f"no critical peak event from the {fuel.value} meter")
        if info.cpp.auth != "Pending":
            raise ControlError(f"CPP event {info.cpp.event_id} is {info.cpp.auth}: no choice")
        auth = CppAuth.Accepted if accept else CppAuth.Rejected
        try:
            await self.zcl_client.command(
                link.nwk,
                link.endpoint,
                Price,
                "cpp_event_response",
                issuer_event_id=info.cpp.event_id,
                cpp_auth=auth,
            )
        except (TransientLinkError, RemoteProtocolError) as exc:
            raise ControlError(f"the meter did not take the answer: {exc}") from None
        info.cpp.auth = auth.name
        self.refresh_display()
        return {"event_id": info.cpp.event_id, "auth": auth.name}

    async def _cmd_meters(self, request: Request) -> dict[str, Any]:
        return {"meters": {fuel.value: link.describe() for fuel, link in self.links.items()}}


def _trailing_digits(value: Any) -> int:
    """A "...TrailingDigit" map8: the digits right of the point are its bits 4-7 (SE D.3.2.2)."""
    return 0 if value is None else (int(value) >> 4) & 0x0F
