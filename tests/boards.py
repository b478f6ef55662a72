"""Boards for tests: the ports a firmware is handed, built from emulated backends directly.

The composition roots build boards from a rig file (`firmware.wiring`); a unit test builds one
around the clock, store and radio it wants to watch.
"""

from __future__ import annotations

from devices.core.firmware import DeviceIdentity
from firmware.boards import DeviceBoard, ElectricityMeterBoard, GasMeterBoard, Panel
from hal.emulated.aux_load import EmulatedAuxLoadSwitch
from hal.emulated.battery import EmulatedBattery
from hal.emulated.buttons import EmulatedButtons
from hal.emulated.buzzer import EmulatedBuzzer
from hal.emulated.display import EmulatedDisplay
from hal.emulated.pty_serial import PtySerialLine
from hal.emulated.supply_switch import EmulatedSupplySwitch
from hal.emulated.tamper import EmulatedTamperSwitches
from hal.ezsp_node import EzspNodeRadio
from hal.ports import Clock, ElectricityMetrology, GasMetrology, NonVolatileStore
from hal.radio import HanRadio
from hal.real.ezsp_dongle import EzspDongle

#: The discard port: nothing answers EZSP there, so a device on it never joins.
NOWHERE = "socket://127.0.0.1:9"


def radio_at(path: str = NOWHERE) -> EzspNodeRadio:
    """A node radio on the EZSP NCP at `path` (an emulated NCP's pty or socket URL)."""
    return EzspNodeRadio(EzspDongle(path))


def identity(
    name: str, eui64: int = 0x000D6F0000001001, link_key: bytes = bytes(16), channel: int = 15
) -> DeviceIdentity:
    return DeviceIdentity(name=name, eui64=eui64, link_key=link_key, channel=channel)


def device_board(
    clock: Clock,
    store: NonVolatileStore,
    radio: HanRadio | None = None,
    panel: Panel | None = None,
) -> DeviceBoard:
    panel = panel or Panel()
    return DeviceBoard(
        clock=clock,
        store=store,
        radio=radio or radio_at(),
        display=EmulatedDisplay(clock),
        buttons=EmulatedButtons(panel.buttons),
        buzzer=EmulatedBuzzer(clock),
        tamper=EmulatedTamperSwitches(panel.tamper),
        battery=EmulatedBattery(),
    )


def _meter_ports(device: DeviceBoard) -> dict[str, object]:
    return {
        "clock": device.clock,
        "store": device.store,
        "radio": device.radio,
        "display": device.display,
        "buttons": device.buttons,
        "buzzer": device.buzzer,
        "tamper": device.tamper,
        "battery": device.battery,
        "supply_switch": EmulatedSupplySwitch(device.store, clock=device.clock),
        "optical": PtySerialLine(),
    }


def as_electricity_meter(
    device: DeviceBoard, metrology: ElectricityMetrology
) -> ElectricityMeterBoard:
    """`device`'s ports plus an ESME's: a contactor, an optical port and `metrology`."""
    return ElectricityMeterBoard(
        metrology=metrology,
        aux_load=EmulatedAuxLoadSwitch(device.clock),
        **_meter_ports(device),  # type: ignore[arg-type]
    )


def as_gas_meter(device: DeviceBoard, metrology: GasMetrology) -> GasMeterBoard:
    """`device`'s ports plus a GSME's: a valve, an optical port and `metrology`."""
    return GasMeterBoard(metrology=metrology, **_meter_ports(device))  # type: ignore[arg-type]


def electricity_meter_board(
    clock: Clock,
    store: NonVolatileStore,
    metrology: ElectricityMetrology,
    radio: HanRadio | None = None,
) -> ElectricityMeterBoard:
    return as_electricity_meter(device_board(clock, store, radio), metrology)


def gas_meter_board(
    clock: Clock, store: NonVolatileStore, metrology: GasMetrology, radio: HanRadio | None = None
) -> GasMeterBoard:
    return as_gas_meter(device_board(clock, store, radio), metrology)
