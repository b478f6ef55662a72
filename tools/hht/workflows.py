"""The HHT's workflows: installation (C.1, C.8), replacement, decommissioning (C.9), home moves.

Each one runs through named stages with a progress display (`Progress`, 20.2.5, 20.4.2.c), stops
at the first exception with its cause and what to do (`WorkflowStopped`, 20.4.2.d) and ends with
a summary. Every change goes through the head-end first (D.1.9): the HHT checks the components
in front of it against the head-end's records before touching them.

`hht install` (20.2, C.1):
 1. the HHT's authorisation (configure role, not expired: D.1.2-D.1.5);
 2. the nameplates, through the barcode reader (20.4.2.a);
 3. the identities against the head-end's records (20.2.6, D.1.9);
 4. each meter through the optical probe: its serial agrees with nameplate and records;
 5. each install code to the hub, out of band through the head-end (17.2.9, 20.4.2.b);
 6. each device joining the HAN (C.8);
 7. the HAN link quality both ways and the WAN link (20.4.1.a, c; 20.2.4.e);
 8. identifiers, registers and configuration synchronised with the head-end (20.2.4.a-d);
 9. the head-end's payment mode applied and 'Welcome' shown on meters and IHD (20.2.8).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TextIO

from firmware.rig import DeviceKind, Rig
from hal.control_socket import ControlError
from protocol.errors import SmartMeterError
from protocol.nameplate import Nameplate

from . import meter_session
from .headend_link import HeadendLink
from .optical_client import OpticalClient
from .peripherals import barcode, probe, signal_view
from .progress import Progress, WorkflowStopped

__all__ = ["JOIN_TIMEOUT_S", "Workflows"]

JOIN_TIMEOUT_S = 60.0
POLL_S = 1.0
METERS = (DeviceKind.ESME, DeviceKind.GSME)
WELCOME = "Welcome"
NO_WAN = (
    "the comms hub cannot be reached over the WAN: check the hub's WAN signal and antenna "
    "(`smartmeter hht signal`), wait until it shows connected, then run the workflow again; "
    "nothing was changed on the components"
)

INSTALL_STAGES = [
    ("HHT authorisation", 1),
    ("Scan nameplates", 1),
    ("Check identities with the head-end", 1),
    ("Read each meter through the optical probe", 3),
    ("Hand install codes to the hub", 2),
    ("Wait for each device to join the HAN", 10),
    ("HAN link quality both ways, WAN link", 1),
    ("Synchronise with the head-end", 6),
    ("Apply payment mode, show 'Welcome'", 4),
]


@dataclass
class DeviceReport:
    name: str
    kind: DeviceKind
    plate: Nameplate | None = None
    record: dict[str, Any] = field(default_factory=dict)
    readout: dict[str, str] = field(default_factory=dict)
    signal: dict[str, Any] = field(default_factory=dict)
    synced: dict[str, Any] = field(default_factory=dict)


class Workflows:
    def __init__(
        self,
        rig: Rig,
        link: HeadendLink,
        engineer: str,
        out: TextIO,
        join_timeout: float = JOIN_TIMEOUT_S,
    ) -> None:
        self.rig, self.link, self.engineer, self.out = rig, link, engineer, out
        self.join_timeout = join_timeout

    # -- helpers -----------------------------------------------------------------------

    def _call(self, stage: str, what: Callable[[], Any], guidance: str = NO_WAN) -> Any:
        try:
            return what()
        except ControlError as exc:
            text = str(exc)
            if "HHT refused" in text or "may read only" in text:
                raise WorkflowStopped(stage, text, "ask the head-end to (re)validate you") from None
            raise WorkflowStopped(stage, text, guidance) from None

    def _optical(self, stage: str, name: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except SmartMeterError as exc:
            raise WorkflowStopped(
                stage,
                f"{name} does not answer on its optical port: {exc}",
                f"seat the probe on {name}'s optical port (or check the meter is powered) "
                "and run the workflow again",
            ) from None

    def _meters(self, names: list[str]) -> list[str]:
        return [n for n in names if self.rig.devices[n].kind in METERS]

    # -- installation ------------------------------------------------------------------

    def install(self, names: list[str], kind: str = "install") -> list[DeviceReport]:
        progress = Progress(self.out, [(n, float(s)) for n, s in INSTALL_STAGES])
        reports = {n: DeviceReport(n, self.rig.devices[n].kind) for n in names}
        progress.say(f"HHT {kind} by engineer {self.engineer}: {', '.join(names)}")
        stage = "HHT authorisation"
        with progress.stage(stage):
            role = self._call(stage, self.link.verify)["role"]
            if role != "configure":
                raise WorkflowStopped(
                    stage,
                    f"engineer {self.engineer} may read only",
                    "an installation needs the configure role: ask the head-end",
                )
        stage = "Scan nameplates"
        with progress.stage(stage):
            for report in reports.values():
                try:
                    report.plate = barcode(self.rig, report.name)
                except SmartMeterError as exc:
                    raise WorkflowStopped(
                        stage, str(exc), "clean the label and scan again"
                    ) from None
                progress.say(f"      {report.name}: {report.plate.serial} {report.plate.variant}")
        stage = "Check identities with the head-end"
        with progress.stage(stage):
            for report in reports.values():
                assert report.plate is not None
                report.record = self._call(stage, partial(self.link.record, report.name))
                expected = report.record["serial"]
                if expected and expected != report.plate.serial:
                    raise WorkflowStopped(
                        stage,
                        f"wrong serial: {report.name}'s nameplate says {report.plate.serial}, "
                        f"the head-end expects {expected}",
                        "check this is the component of this premises (and the right one of "
                        "the job); if it is, have the head-end's records corrected first",
                    )
        stage = "Read each meter through the optical probe"
        with progress.stage(stage):
            for name in self._meters(names):
                report = reports[name]
                line = probe(self.rig, name, None)
                ident, data = self._optical(stage, name, partial(meter_session.readout, line))
                report.readout = {d.address: d.value for d in data}
                assert report.plate is not None
                if ident != report.plate.serial:
                    raise WorkflowStopped(
                        stage,
                        f"the meter on the probe is {ident}, not {name} ({report.plate.serial})",
                        f"put the probe on {name} ({report.plate.serial})",
                    )
        stage = "Hand install codes to the hub"
        with progress.stage(stage):
            for report in reports.values():
                plate = report.plate
                assert plate is not None
                hand = partial(self.link.hand_install_code, report.name, plate.install, plate.eui64)
                self._call(stage, hand)
        stage = "Wait for each device to join the HAN"
        with progress.stage(stage):
            for name in names:
                self._wait_joined(stage, name, progress)
        stage = "HAN link quality both ways, WAN link"
        with progress.stage(stage):
            view = signal_view(self.rig)
            for name, report in reports.items():
                report.signal = {**view["devices"][name], "wan": view["wan"]}
                hears, heard = report.signal["hub_hears_device"], report.signal["device_hears_hub"]
                progress.say(
                    f"      {name}: hub hears it {_dbm(hears)}, it hears the hub {_dbm(heard)}"
                )
            progress.say(f"      WAN: {view['wan']}")
        stage = "Synchronise with the head-end"
        with progress.stage(stage):
            for report in reports.values():
                self._synchronise(stage, report, kind)
        stage = "Apply payment mode, show 'Welcome'"
        with progress.stage(stage):
            for report in reports.values():
                self._welcome(stage, report)
        self._summary(progress, list(reports.values()), kind)
        return list(reports.values())

    def _wait_joined(self, stage: str, name: str, progress: Progress) -> None:
        deadline = time.monotonic() + self.join_timeout
        while True:
            status = self._call(stage, lambda: self.link.device_status(name))
            if status["joined"]:
                progress.say(f"      {name} joined")
                return
            if time.monotonic() > deadline:
                raise WorkflowStopped(
                    stage,
                    f"{name} did not join the HAN within {self.join_timeout:g} s",
                    f"check {name} is powered and within range of the hub (`smartmeter hht "
                    "signal`), that its install code came from its own nameplate, then run "
                    "the workflow again",
                )
            time.sleep(POLL_S)

    def _synchronise(self, stage: str, report: DeviceReport, kind: str) -> None:
        name, account = report.name, report.record.get("account", {})
        data: dict[str, Any] = {
            "identifiers": {
                "serial": report.plate.serial if report.plate else "",
                "eui64": report.plate.eui64 if report.plate else "",
                "variant": report.plate.variant if report.plate else "",
            },
            "signal": report.signal,
        }
        if report.kind in METERS:
            password = self._call(stage, lambda: self.link.password(name))

            async def job(hht: OpticalClient) -> None:
                await hht.write("0-0:96.1.1", account["mpxn"])

            self._optical(
                stage,
                name,
                lambda: meter_session.program(
                    probe(self.rig, name, None), password, self.engineer, job
                ),
            )
            _ident, sets = self._optical(
                stage, name, lambda: meter_session.readout(probe(self.rig, name, None))
            )
            data["identifiers"]["mpxn"] = account["mpxn"]
            data["optical_readout"] = {d.address: [d.value, d.unit] for d in sets}
            data["headend_read"] = self._call(stage, lambda: self.link.read(name))["data"]
        self._call(stage, lambda: self.link.sync(name, kind, data))
        report.synced = data

    def _welcome(self, stage: str, report: DeviceReport) -> None:
        name = report.name
        if report.kind in METERS:
            mode = report.record.get("account", {}).get("payment_mode", "credit")
            password = self._call(stage, lambda: self.link.password(name))

            async def job(hht: OpticalClient) -> None:
                await hht.write("0-0:128.0.0", mode)
                await hht.write("0-0:128.0.2", WELCOME)

            self._optical(
                stage,
                name,
                lambda: meter_session.program(
                    probe(self.rig, name, None), password, self.engineer, job
                ),
            )
        else:
            self._call(stage, lambda: self.link.display_message(name, WELCOME))

    def _summary(self, progress: Progress, reports: list[DeviceReport], kind: str) -> None:
        progress.say(f"Summary of the {kind}:")
        for r in reports:
            serial = r.plate.serial if r.plate else "?"
            mode = r.record.get("account", {}).get("payment_mode", "") if r.kind in METERS else ""
            hears, heard = r.signal.get("hub_hears_device"), r.signal.get("device_hears_hub")
            progress.say(
                f"  {r.name:<6} {r.kind.value.upper():<5} {serial:<11} joined  "
                f"hub->device {_dbm(hears):<16} device->hub {_dbm(heard):<16} "
                f"{mode or '-':<10} '{WELCOME}'"
            )
        wan = reports[0].signal.get("wan", "?") if reports else "?"
        total = sum(progress.times.values())
        progress.say(f"  WAN: {wan}; every device joined and synchronised in {total:.1f} s")
        progress.say(f"{kind.capitalize()} complete.")


def _dbm(signal: dict[str, Any] | None) -> str:
    if not signal or signal.get("rssi") is None:
        return "not heard"
    return f"{signal['rssi']} dBm LQI {signal['lqi']}"
