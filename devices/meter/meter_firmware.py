"""What the ESME and GSME firmware share: metrology sampling, the register and Metering 0x0702.

Every `SAMPLE_PERIOD_S` of clock time the meter integrates the rate measured at the previous
sample over the time since (left Riemann sum on the RTC's monotonic time, exact in integers,
see `integrator`), then reads its measuring element again. A bench change of the load is
sampled at once, so demand follows it within a sample. The register is saved whenever its
visible value moves (so no value that left the meter is ever lost), at least every
`PERSIST_INTERVAL_S` of clock time for the remainder, and at a clean stop. The meter's own display shows the register and the demand, formatted from the same
Metering attributes the HAN reads, so the meter and an IHD never disagree about a digit.

Clause 12.5 is met from the meter's side by answering reads at any time: the IHD polls
electricity every 2 s and gas every 15 min (the IHD firmware), and the value it reads is never
older than one sample.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from typing import Any, ClassVar

from devices.core.firmware import FIRMWARE_VERSION, TRUST_CENTRE, DeviceIdentity, Firmware
from firmware.boards import MeterBoard, Panel
from firmware.zcl.cluster_server import AttributeBinding, ClusterResponse, ClusterServer
from firmware.zcl.reporting import Destination
from hal.control_socket import ControlError, Handler, Request
from hal.peripherals import TamperInput
from hal.radio import IncomingMessage
from protocol.errors import RemoteProtocolError, TransientLinkError
from protocol.iec62056_21.obis import Obis
from protocol.local_auth import SALT_BYTES, make_verifier
from protocol.metering_units import REQUIRED, metering_registers
from protocol.password_policy import PasswordContext, check_password
from protocol.se import DeviceManagement, Price
from protocol.se.price_types import CppAuth
from protocol.tariff.model import Fuel

from .event_uplink import EventUplink
from .export_registers import ExportRegisters, Flows
from .integrator import EnergyIntegrator, to_microseconds
from .metering_cluster import METERING_CLUSTER, Commodity, metering_server
from .optical_setup import MeterOptical
from .optical_tariff import attach_tariff
from .readings import Reading, ReadingSource, readings_of
from .register_store import PERSIST_INTERVAL_S, RegisterStore
from .tamper_watch import WATCHED, TamperWatch
from .tariff_han import MeterTariffLink
from .tariff_setup import TariffSetup

__all__ = ["SAMPLE_PERIOD_S", "MeterFirmware", "display_unit"]

#: Clock seconds between two metrology samples.
SAMPLE_PERIOD_S = 1.0
#: The hub's Energy Service Interface endpoint (its Time and Price servers); fixed on our hub.
ESI_ENDPOINT = 9
#: Name of CurrentSummationDelivered's register in the store.
DELIVERED = "current_summation_delivered"
_PERSIST_INTERVAL_US = to_microseconds(PERSIST_INTERVAL_S)
#: The Metering attributes the display's summation and demand are made of.
_DISPLAYED = frozenset(
    {*REQUIRED, "multiplier", "divisor", "instantaneous_demand", "demand_formatting"}
)


def display_unit(unit: str) -> str:
    """A unit as a character LCD shows it: no superscripts ("m³/h" -> "m3/h")."""
    return unit.replace("³", "3")


def check_bench_number(request: Request, key: str, high: float, unit: str) -> float | None:
    """A non-negative number (or null, meaning "back to the profile") from a bench request."""
    if key not in request:
        raise ControlError(f'missing "{key}" (a number of {unit}, or null for the profile)')
    value = request[key]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ControlError(f"{key} must be a number of {unit}, not {value!r}")
    if not 0 <= value <= high:
        raise ControlError(f"{key} = {value} is outside 0..{high:g} {unit}")
    return float(value)


class MeterFirmware(Firmware):
    """Base of the ESME and GSME: a cumulative register served as Metering (0x0702)."""

    commodity: ClassVar[Commodity]
    #: The programming seal of the optical port (17.2.21.a), and the covers and field sensor
    #: whose changes are tamper events (18.11.a, 18.11.c; `tamper_watch`).
    panel = Panel(tamper=frozenset({TamperInput.SEAL, *WATCHED}))
    #: OBIS names of the total register and the demand (IEC 62056-61: A=1 electricity, 7 gas).
    register_obis: ClassVar[tuple[str, str]]

    def __init__(
        self, identity: DeviceIdentity, board: MeterBoard, setup: TariffSetup | None = None
    ) -> None:
        self.registers = RegisterStore(board.store)
        # The tariff (section 16) lives with the registers: built before the clusters it serves.
        self.tariff = MeterTariffLink(
            board.store,
            Fuel(self.commodity.fuel),
            setup or TariffSetup(),
            board.clock.now,
            self.persist,
        )
        self.register: EnergyIntegrator = self.registers.load(DELIVERED)
        #: Export and gross generation (16.22.1): zero on a meter whose element sees none.
        self.export = ExportRegisters(self.registers, self.commodity)
        self._flows = Flows(0)
        self._saved_export = self.export.visible()
        self._rate = 0
        self._last_us: int | None = None
        self._saved_us = 0
        #: The register as the outside world may see it (raw CurrentSummationDelivered, the
        #: display's last digit), as last saved: nothing above it has left the meter.
        self._saved_raw = self.commodity.raw_summation(self.register.units)
        self._reading_sources: list[ReadingSource] = [readings_of(self._own_readings)]
        super().__init__(identity, board)
        self.optical = MeterOptical(
            nameplate=self.nameplate,
            firmware_version=FIRMWARE_VERSION,
            electricity=self.commodity.metering_device_type == 0,
            clock=board.clock,
            store=board.store,
            events=self.events,
            line=board.optical,
            tamper=board.tamper,
            switch=board.supply_switch,
            readings=self.readings,
            refresh=lambda: self.display.show(self.display_lines()),
            factory_verifier=board.factory_verifier,
        )
        # The tariff's items (12.1) and registers on the optical port.
        attach_tariff(self.optical, self.tariff, board.clock.now, self.add_reading_source)
        self.tamper_watch = TamperWatch(board.tamper, self.events)
        # The meter's events go to the hub, and on to the head-end, exactly once (18.6).
        self.event_uplink = EventUplink(
            self.events,
            board.store,
            board.clock,
            self.send,
            (TRUST_CENTRE, ESI_ENDPOINT),
            lambda: self.joined,
        )
        # The head-end resets the local-access password through the hub (17.2.21.b.2).
        self.zcl_client.on_command(DeviceManagement, self._device_management)

    def measure_rate(self) -> int:
        """The measuring element's rate now, in register units per hour (mW or ml/h)."""
        raise NotImplementedError

    def measure(self) -> Flows:
        """Import, export and generation rates now; a meter without export imports only."""
        return Flows(max(0, self.measure_rate()))

    # -- metering ----------------------------------------------------------------------

    @property
    def rate(self) -> int:
        """The rate of the last sample, register units per hour."""
        return self._rate

    def sample(self) -> None:
        """Integrate the rate held since the previous sample, sample again, save when due.

        A value that has left the meter (over the HAN, on the display, in a report) must never
        be lower after a crash at any instant: the register is saved before its new value can
        be seen, i.e. whenever the visible digit moves, in the same step as the integration and
        before anything can read it (no await in between). The sub-unit remainder is saved
        with it, and at least every `PERSIST_INTERVAL_S` otherwise.
        """
        now_us = to_microseconds(self.clock.monotonic())
        if self._last_us is None:
            self._saved_us = now_us
        else:
            self.register.add(self._flows.imported, now_us - self._last_us)
            self.export.add(self._flows, now_us - self._last_us)
        self._last_us = now_us
        # Import and export are separate registers, each only ever going up (16.22.1).
        self._flows = self.measure()
        self._rate = self._flows.imported
        visible = self.commodity.raw_summation(self.register.units)
        exported = self.export.visible()
        # The tariff prices what the registers gained (whole Wh or litres) since the last
        # sample; its events are saved with the registers, in one transaction.
        logged = self.tariff.sample(visible, *exported)
        logged = self.tariff_followed() or logged
        if (
            logged
            or visible != self._saved_raw
            or exported != self._saved_export
            or now_us - self._saved_us >= _PERSIST_INTERVAL_US
        ):
            self.persist()
        self.display.show(self.display_lines())

    def tariff_followed(self) -> bool:
        """After the tariff priced a sample: drive what it switches besides the registers (the
        ESME's auxiliary load output); True when an event waits in `tariff.pending`."""
        return False

    def persist(self) -> None:
        """Save the register (units and remainder) and the tariff's registers, profile and
        events, in one transaction: a kill at any instant loses nothing and applies nothing
        twice."""
        with self.store.transaction() as tx:
            self.registers.save(DELIVERED, self.register, self.clock.now(), tx)
            self.export.save(self.clock.now(), tx)
            self.tariff.save(tx, self.events)
        self.tariff.saved()
        self._saved_raw = self.commodity.raw_summation(self.register.units)
        self._saved_export = self.export.visible()
        if self._last_us is not None:
            self._saved_us = self._last_us

    async def on_start(self) -> None:
        self.sample()
        self.spawn(self._metrology_loop(), "metrology")
        # The optical port is a task of its own: it answers whatever the HAN does (20.5.4.2).
        self.spawn(self.optical.port.run(), "optical")
        self.spawn(self.tamper_watch.run(), "tamper")
        self.spawn(self.event_uplink.run(), "event-uplink")

    def _device_management(self, sender: int, endpoint: int, name: str, fields: Any) -> None:
        """RequestNewPasswordResponse from the hub: a new password, kept as a verifier only,
        if it meets Appendix F (17.2.21.b.1); the meter refuses a weak one."""
        if sender != TRUST_CENTRE or name != "request_new_password_response":
            self.log.info("Device Management %s from 0x%04x not taken", name, sender)
            return
        try:
            password = bytes(fields.password).decode("ascii")
        except UnicodeDecodeError:
            password = ""
        context = PasswordContext(serials=(self.nameplate.serial, self.nameplate.eui64))
        weak = check_password(password, context)
        if weak:
            self.log.warning("new local password refused: %s", "; ".join(v.reason for v in weak))
            return
        verifier = make_verifier(password, secrets.token_bytes(SALT_BYTES))
        issuer_id = int(fields.issuer_event_id)
        with self.store.transaction() as tx:  # the request noted with its effect (19.1.6)
            if not self.requests.first_time(tx, DeviceManagement.cluster_id, issuer_id):
                self.log.info("password request %d carried out already: not again", issuer_id)
                return
            self.optical.access.set_verifier(verifier, engineer="head-end", channel="han")
        self.log.info("local-access password reset by the head-end")

    def on_display_message(self, text: str) -> None:
        """The hub's message goes where the optical port's does (0-0:128.0.2), logged."""
        old = self.optical.settings.settings.message
        self.optical.settings.update({"message": text[:16]})
        self.optical.access.log_change("head-end", "han", "display message", old, text[:16])
        self.display.show(self.display_lines())

    # -- registers as the optical port reads them --------------------------------------

    def add_reading_source(self, source: ReadingSource) -> None:
        """Offer more registers (a tariff's) on the optical port, by their OBIS names."""
        self._reading_sources.append(source)

    def readings(self) -> list[Reading]:
        """Every source's readings; a source that fails is left out, not the others (20.5.4.2)."""
        found: list[Reading] = []
        for source in self._reading_sources:
            try:
                found.extend(source.readings())
            except Exception:
                self.log.exception("a register source failed; its registers are left out")
        return found

    def _own_readings(self) -> list[Reading]:
        registers = self.metering_view()["registers"]
        total, demand = self.register_obis
        return [
            Reading(
                Obis.parse(total),
                self.commodity.summation_label,
                *_shown(registers, "CurrentSummationDelivered"),
            ),
            Reading(
                Obis.parse(demand),
                self.commodity.demand_label,
                *_shown(registers, "InstantaneousDemand"),
            ),
        ]

    async def on_stop(self) -> None:
        # Count the energy up to this instant, then save: a clean stop loses nothing.
        self.sample()
        self.persist()

    async def _metrology_loop(self) -> None:
        while True:
            await self.clock.sleep(SAMPLE_PERIOD_S)
            self.sample()
            # Price clients hear of a new price at once (16.20), reporting clients (the IHD,
            # 12.5) of a change within one sample.
            self._send_price_outbox()
            await self.send_due_reports()

    # -- the Metering cluster ----------------------------------------------------------

    def served_clusters(self) -> list[ClusterServer]:
        return [
            metering_server(
                self.commodity,
                summation=lambda: self.commodity.raw_summation(self.register.units),
                demand=lambda: self.commodity.raw_demand(self._flows.net),
                extra={**self.tariff.metering_bindings(), **self.export_bindings()},
                commands={"get_profile": self.tariff.get_profile},
            ),
            self.tariff.price_server.cluster(),
            self.tariff.tunnel.cluster(),
            self.tariff.prepayment_cluster(),
        ]

    def export_bindings(self) -> dict[str, AttributeBinding]:
        """Metering attributes of export and generation: none unless the meter exports."""
        return {}

    def handle_message(self, message: IncomingMessage) -> None:
        if self.event_uplink.take_answer(message):
            return
        super().handle_message(message)
        self._send_price_outbox()

    def _send_price_outbox(self) -> None:
        """Send what the Price server queued (pushes, the rest of a split answer), in order,
        and the consumer's CPP answers on to the hub."""
        outbox = self.tariff.price_server.take_outbox()
        if outbox:
            self.spawn(self._send_price_commands(outbox), "price-push")
        answers, self.tariff.to_hub = self.tariff.to_hub, []
        for event_id, auth in answers:
            self.spawn(self._cpp_answer_to_hub(event_id, auth), "cpp-answer")

    async def _cpp_answer_to_hub(self, event_id: int, auth: CppAuth) -> None:
        """CPPEventResponse to the hub's ESI, which logs it for the head-end (16.11.8)."""
        try:
            await self.zcl_client.command(
                TRUST_CENTRE,
                ESI_ENDPOINT,
                Price,
                "cpp_event_response",
                issuer_event_id=event_id,
                cpp_auth=auth,
            )
        except (TransientLinkError, RemoteProtocolError) as exc:
            self.log.info("CPP answer %d not passed to the hub: %s", event_id, exc)

    async def _send_price_commands(self, outbox: list[tuple[Destination, ClusterResponse]]) -> None:
        for (nwk, endpoint), command in outbox:
            payload = self.zcl_server.command_frame(
                Price.cluster_id, command, disable_default_response=True
            )
            try:
                await self.send(nwk, Price.cluster_id, endpoint, payload)
            except TransientLinkError as exc:
                self.log.info("%s to 0x%04x not delivered: %s", command.name, nwk, exc)

    def metering_view(self, only: Iterable[str] | None = None) -> dict[str, Any]:
        """Raw Metering attributes (zigpy names; `only` those, which must include what
        `metering_registers` requires) and the registers they mean, with units."""
        values = self.zcl_server.cluster(METERING_CLUSTER).values(only)
        attributes = {name: int(value) for name, value in values.items()}
        return {"attributes": attributes, **metering_registers(attributes)}

    def display_lines(self) -> list[str]:
        # Every sample: only what the two registers shown are made of, not all of Metering.
        registers = self.metering_view(_DISPLAYED)["registers"]
        summation = registers["CurrentSummationDelivered"]
        demand = registers["InstantaneousDemand"]
        lines = [
            f"{self.commodity.summation_label} {summation['display']} "
            f"{display_unit(summation['unit'])}",
            f"{self.commodity.demand_label} {demand['display']} {display_unit(demand['unit'])}",
        ]
        lines += self.tariff.display_lines()
        optical: MeterOptical | None = getattr(self, "optical", None)
        message = optical.settings.settings.message if optical is not None else ""
        return [*lines, message] if message else lines

    # -- bench port --------------------------------------------------------------------

    def extra_handlers(self) -> dict[str, Handler]:
        return {
            "registers": self._cmd_registers,
            "tariff": self._cmd_tariff,
            **self.optical.handlers(),
            **self.tamper_watch.handlers(),
        }

    async def _cmd_tariff(self, request: Request) -> dict[str, Any]:
        """The tariff as the head-end reads it (read_tariff), on the bench port."""
        return self.tariff.commands.dispatch("read_tariff", {})

    async def _cmd_registers(self, request: Request) -> dict[str, Any]:
        return {
            **self.metering_view(),
            "register": {
                "units": self.register.units,
                "remainder": self.register.remainder,
                "rate_per_hour": self._rate,
            },
        }


def _shown(registers: dict[str, Any], name: str) -> tuple[str, str]:
    """A register's value and unit as the display shows them, less the "/" an IEC 62056-21
    data set may not hold ("m3/h" is "m3h" on the optical port)."""
    register = registers[name]
    return str(register["value"]), display_unit(str(register["unit"])).replace("/", "")
