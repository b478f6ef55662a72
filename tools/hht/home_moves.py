"""Workflows around an installation: replacement (20.2.9, 20.5.4.1), decommissioning (20.5.1,
20.5.2.1, C.9) and home moves (C.6 move out, C.7 move in).

- Decommissioning: the final readings of each meter are read locally through the probe and,
  when the WAN allows, by the head-end too; the HHT hands them to the head-end (20.5.1), then
  the hub removes the device from the HAN (17.2.6, C.9). The meters' registers and event logs
  are kept (18.5).
- Replacement: the old component's configuration (MPAN/MPRN, payment mode, supplier) comes from
  the head-end's records and, if it still answers, from the old meter's readout; the old one
  leaves the HAN; the new one is installed and given that configuration (20.2.9).
- Move out: final readings to the head-end, the occupant's message cleared; move in: opening
  readings, the account's payment mode applied and 'Welcome' shown. Registers and logs stay.
  Balances and debts join these records once the meters keep them (prepayment).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from protocol.errors import SmartMeterError

from . import meter_session
from .optical_client import OpticalClient
from .peripherals import probe
from .progress import Progress
from .workflows import METERS, WELCOME, Workflows

__all__ = ["decommission", "move_in", "move_out", "replace"]

#: Configuration a replacement inherits: MPAN/MPRN, payment mode, supplier (12.1.w, p, z).
INHERITED = ("0-0:96.1.1", "0-0:128.0.0", "0-0:128.0.1")


def _readings(flows: Workflows, stage: str, name: str) -> dict[str, Any]:
    """A meter's readings: through the probe (always), and by the head-end (if the WAN allows)."""
    found: dict[str, Any] = {}
    if flows.rig.devices[name].kind in METERS:
        ident, sets = flows._optical(
            stage, name, partial(meter_session.readout, probe(flows.rig, name, None))
        )
        found["optical_readout"] = {d.address: [d.value, d.unit] for d in sets}
        found["serial"] = ident
        try:
            found["headend_read"] = flows.link.read(name)["data"]
        except SmartMeterError as exc:
            found["headend_read_error"] = str(exc)  # the probe's copy still reaches the head-end
    return found


def _program(flows: Workflows, stage: str, name: str, writes: dict[str, str]) -> None:
    password = flows._call(stage, partial(flows.link.password, name))

    async def job(hht: OpticalClient) -> None:
        for obis, value in writes.items():
            await hht.write(obis, value)

    flows._optical(
        stage,
        name,
        partial(meter_session.program, probe(flows.rig, name, None), password, flows.engineer, job),
    )


def decommission(flows: Workflows, names: list[str]) -> None:
    progress = Progress(
        flows.out,
        [("Final readings", 3), ("Send them to the head-end", 1), ("Remove from the HAN", 8)],
    )
    readings: dict[str, Any] = {}
    with progress.stage("Final readings"):
        for name in names:
            readings[name] = _readings(flows, "Final readings", name)
    with progress.stage("Send them to the head-end"):
        for name in names:
            flows._call(
                "Send them to the head-end",
                partial(flows.link.sync, name, "decommission", readings[name]),
            )
    with progress.stage("Remove from the HAN"):
        for name in names:
            flows._call("Remove from the HAN", partial(flows.link.remove, name))
            progress.say(f"      {name} removed; its registers and logs are kept")
    progress.say(f"Decommissioning of {', '.join(names)} complete.")


def replace(flows: Workflows, name: str) -> None:
    stage = "Old component's configuration"
    progress = Progress(flows.out, [(stage, 3), ("Remove the old component from the HAN", 8)])
    inherit: dict[str, str] = {}
    with progress.stage(stage):
        record = flows._call(stage, partial(flows.link.record, name))
        inherit["0-0:128.0.0"] = record["account"]["payment_mode"]
        inherit["0-0:96.1.1"] = record["account"]["mpxn"]
        if flows.rig.devices[name].kind in METERS:
            try:
                _, sets = meter_session.readout(probe(flows.rig, name, None))
                inherit.update(
                    {d.address: d.value for d in sets if d.address in INHERITED and d.value}
                )
            except SmartMeterError as exc:
                progress.say(
                    f"      the old meter does not answer ({exc}): the head-end's records are used"
                )
        progress.say(f"      inherited: {inherit}")
    with progress.stage("Remove the old component from the HAN"):
        flows._call("Remove the old component from the HAN", partial(flows.link.remove, name))
    flows.install([name], kind="replacement")
    if flows.rig.devices[name].kind in METERS:
        _program(flows, "Apply the inherited configuration", name, inherit)
        flows.out.write(f"The new {name} has the old one's configuration: {inherit}\n")


def move_out(flows: Workflows, names: list[str]) -> None:
    progress = Progress(
        flows.out,
        [
            ("Final readings", 3),
            ("Send them to the head-end", 1),
            ("Clear the occupant's message", 3),
        ],
    )
    readings = {}
    with progress.stage("Final readings"):
        for name in names:
            readings[name] = _readings(flows, "Final readings", name)
    with progress.stage("Send them to the head-end"):
        for name in names:
            flows._call(
                "Send them to the head-end",
                partial(flows.link.sync, name, "move-out", readings[name]),
            )
    with progress.stage("Clear the occupant's message"):
        for name in names:
            if flows.rig.devices[name].kind in METERS:
                _program(flows, "Clear the occupant's message", name, {"0-0:128.0.2": ""})
            else:
                flows._call(
                    "Clear the occupant's message",
                    partial(flows.link.display_message, name, "Moved out"),
                )
    progress.say("Move out complete: final readings are with the head-end.")


def move_in(flows: Workflows, names: list[str]) -> None:
    progress = Progress(
        flows.out,
        [
            ("Opening readings", 3),
            ("Send them to the head-end", 1),
            ("Apply the account, show 'Welcome'", 4),
        ],
    )
    readings = {}
    with progress.stage("Opening readings"):
        for name in names:
            readings[name] = _readings(flows, "Opening readings", name)
    with progress.stage("Send them to the head-end"):
        for name in names:
            flows._call(
                "Send them to the head-end",
                partial(flows.link.sync, name, "move-in", readings[name]),
            )
    stage = "Apply the account, show 'Welcome'"
    with progress.stage(stage):
        for name in names:
            if flows.rig.devices[name].kind in METERS:
                account = flows._call(stage, partial(flows.link.record, name))["account"]
                _program(
                    flows,
                    stage,
                    name,
                    {"0-0:128.0.0": account["payment_mode"], "0-0:128.0.2": WELCOME},
                )
            else:
                flows._call(stage, partial(flows.link.display_message, name, WELCOME))
    progress.say("Move in complete.")
