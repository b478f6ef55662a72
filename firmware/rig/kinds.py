"""The enumerations a rig file chooses from: one definition each, for every process of a rig."""

from __future__ import annotations

import enum

__all__ = ["BearerKind", "BrokerKind", "ClockKind", "DeviceKind", "PeripheralBackend"]


class DeviceKind(enum.StrEnum):
    """What a `[[device]]` of the rig is; each kind is a package `devices.<kind>`."""

    ESME = "esme"
    GSME = "gsme"
    IHD = "ihd"


class ClockKind(enum.StrEnum):
    """`[rig] clock`: the host's clock, or a simulated one shared by the rig (DESIGN.md §6)."""

    SYSTEM = "system"
    SIMULATED = "simulated"


class BrokerKind(enum.StrEnum):
    """`[broker] kind`: which MQTT broker the rig starts, or "external" for none."""

    AUTO = "auto"  # mosquitto if installed, else embedded
    MOSQUITTO = "mosquitto"
    EMBEDDED = "embedded"
    EXTERNAL = "external"


class BearerKind(enum.StrEnum):
    """`[hub] bearer`: what carries the hub's WAN (6.1.6, 6.1.7)."""

    GPRS = "gprs"  # an emulated GPRS modem, set from the bench
    IP = "ip"  # a plain IP network: no modem


class AdmitPolicy(enum.StrEnum):
    """`[hub] admit`: whose install codes the hub's trust centre takes.

    RIG: every device of the rig file, by the install code there (a demo premises that joins
    by itself). HANDED: only devices whose install code was handed to the hub out of band,
    through the head-end, during an installation (17.2.9, 20.4.2.b); the window for a device
    opens then and closes once it has joined.
    """

    RIG = "rig"
    HANDED = "handed"


class PeripheralBackend(enum.StrEnum):
    """Backend of a display, buttons, buzzer, tamper switches, battery or supply switch.

    Only the emulated hardware exists so far; GPIO backends for a Raspberry Pi join this list
    (DESIGN.md §1), and a rig then selects them per component without any code change.
    """

    EMULATED = "emulated"
