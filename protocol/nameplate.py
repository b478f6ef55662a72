"""A component's nameplate: what is printed on its case and read by the HHT's barcode reader.

Clause 20.4.2.a: the HHT reads the serial numbers and install codes of the components from
their bar codes. Each nameplate carries the serial number (clause 6.3.2), the variant code
(model and options), the EUI-64 (the ZigBee MAC address) and the install code with its CRC.
The bar code's content is one line, ``SMNP1;kind=esme;serial=...;variant=...;eui64=...;
install=...``, which `Nameplate.parse` reads back (what the emulated barcode reader returns).

Serial numbers are derived from the EUI-64 so that the head-end's records (written by the rig
launcher from the rig file) and the meter agree without another key in the rig file.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.errors import DecodeError

__all__ = ["Nameplate", "serial_number", "variant_code"]

BARCODE_PREFIX = "SMNP1"
_PREFIX = {"esme": "EM", "gsme": "GM", "ihd": "DH", "hub": "CH"}
_VARIANT = {
    "esme": "ESME-1P100A-ZSE",  # single phase, 100 A, ZigBee SE
    "gsme": "GSME-G4-6M3-ZSE",  # G4 diaphragm, 6 m3/h, ZigBee SE
    "ihd": "IHD-C1-ZSE",
    "hub": "CH-WAN-MQTT-ZSE",
}
_FIELDS = ("kind", "serial", "variant", "eui64", "install")


def serial_number(kind: str, eui64: int) -> str:
    """The component's serial number: its kind's two letters and the EUI-64's low 32 bits."""
    return f"{_PREFIX.get(kind, 'XX')}{eui64 & 0xFFFFFFFF:08X}"


def variant_code(kind: str) -> str:
    return _VARIANT.get(kind, "UNKNOWN")


@dataclass(frozen=True)
class Nameplate:
    kind: str
    serial: str
    variant: str
    eui64: str
    install: str

    @classmethod
    def of(cls, kind: str, eui64: int, install_code: bytes, eui64_text: str) -> Nameplate:
        return cls(
            kind, serial_number(kind, eui64), variant_code(kind), eui64_text, install_code.hex()
        )

    def barcode(self) -> str:
        return ";".join([BARCODE_PREFIX, *(f"{name}={getattr(self, name)}" for name in _FIELDS)])

    @classmethod
    def parse(cls, text: str) -> Nameplate:
        """A bar code's content; DecodeError if it is not a nameplate's."""
        what = "nameplate bar code"
        parts = text.strip().split(";")
        if not parts or parts[0] != BARCODE_PREFIX:
            raise DecodeError(what, f"{BARCODE_PREFIX};kind=...;serial=...", text)
        fields = dict(part.partition("=")[::2] for part in parts[1:])
        if set(fields) != set(_FIELDS) or not all(fields.values()):
            raise DecodeError(what, ", ".join(_FIELDS), text)
        try:
            bytes.fromhex(fields["install"])
        except ValueError:
            raise DecodeError(what, "an install code in hex", text) from None
        return cls(**{name: fields[name] for name in _FIELDS})
