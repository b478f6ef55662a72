"""EZSP frames as the NCP sees them: parse host commands, build responses and callbacks.

The command tables (frame ids and parameter layouts) are bellows' own, per protocol version, so
our NCP speaks exactly the dialect bellows expects of a dongle of that version (DESIGN.md §8:
frame ids differ between versions). Field names also differ between versions (v13 says
`indexOrDestination` where v18 says `nwk`), so handlers use one canonical name per field and this
module maps it to the version's name in both directions.

Frame formats (UG100 / EZSP reference):
* legacy (v4–v7, and the first `version` command of every session): seq, frame control (1 byte),
  frame id (1 byte);
* extended (v8+): seq, frame control (2 bytes, high byte 0x01 = format version 1), frame id
  (2 bytes little-endian).

Parameters are read in order and bytes after the last one are ignored, as EmberZNet's NCP reads
them; a frame too short for its command's parameters is answered with `invalidCommand`
(EZSP_ERROR_TRUNCATED), never with silence. Where real firmware and bellows' table disagree
about a command's layout, `_REQUEST_LAYOUTS` holds what the firmware reads.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

import bellows.types as t
from bellows.ezsp import EZSP
from bellows.types.named import SL_STATUS_MAP

from protocol.errors import DecodeError

LEGACY_VERSION_FRAME_ID = 0x00
#: Frame control sent with a response (bit 7: direction NCP -> host).
FC_RESPONSE = 0x80
#: Frame control sent with an asynchronous callback (direction bit and callback type async).
FC_CALLBACK = 0x90
SUPPORTED_VERSIONS = (13, 18)

#: version name -> canonical name. Canonical names are the v18 ones.
_ALIASES = {
    "indexOrDestination": "nwk",
    "apsFrame": "aps_frame",
    "messageTag": "message_tag",
    "messageContents": "message",
    "type": "message_type",
    "lastHopLqi": "lqi",
    "lastHopRssi": "rssi",
}
#: The legacy code a v13 NCP sends for an `sl_Status` whose name has no legacy twin. bellows' map
#: sends several legacy codes to one `sl_Status` (BAD_ARGUMENT, INVALID_ENDPOINT, ... all become
#: INVALID_PARAMETER); EmberZNet 7.x answers with the first, general one.
_PREFERRED_LEGACY = {
    t.sl_Status.INVALID_PARAMETER: "BAD_ARGUMENT",
    t.sl_Status.INVALID_INDEX: "INDEX_OUT_OF_RANGE",
    t.sl_Status.INVALID_CONFIGURATION: "SECURITY_CONFIGURATION_INVALID",
}
#: EZSP 14 (EmberZNet 8.0) dropped the `flags` argument of sl_zb_sec_man_import_transient_key:
#: from v14 on the firmware reads eui64 and key only, and ignores a trailing flags byte (bellows
#: still sends one; zigbee-herdsman does not). Up to v13 the flags byte is part of the command.
_IMPORT_TRANSIENT_KEY_V14 = {"eui64": t.EUI64, "plaintext_key": t.KeyData}
#: Command name -> (first protocol version, parameter layout the firmware reads from then on).
_REQUEST_LAYOUTS: dict[str, tuple[int, dict[str, Any]]] = {
    "importTransientKey": (14, _IMPORT_TRANSIENT_KEY_V14),
}


def _legacy_status_map() -> dict[tuple[Any, t.sl_Status], Any]:
    """`sl_Status` -> the EmberStatus / EzspStatus an older field carries, one code each.

    Reversing bellows' map naively keeps whichever legacy code comes last (NOT_JOINED would go
    out as CANNOT_JOIN_AS_ROUTER); prefer the legacy code of the same name, then the general
    code of `_PREFERRED_LEGACY`, then the first bellows lists."""
    candidates: dict[tuple[Any, t.sl_Status], list[Any]] = {}
    for (legacy_type, legacy), sl in SL_STATUS_MAP.items():
        candidates.setdefault((legacy_type, sl), []).append(legacy)
    chosen = {}
    for (legacy_type, sl), legacies in candidates.items():
        wanted = (sl.name, _PREFERRED_LEGACY.get(sl))
        named = [code for code in legacies if code.name in wanted]
        chosen[(legacy_type, sl)] = named[0] if named else legacies[0]
    return chosen


_LEGACY_STATUS = _legacy_status_map()


class FrameFormat(enum.Enum):
    LEGACY = 1
    EXTENDED = 2


@dataclasses.dataclass(frozen=True)
class CommandFrame:
    """A command from the host, decoded against the current version's table."""

    seq: int
    frame_id: int
    name: str
    params: dict[str, Any]
    frame_format: FrameFormat


class TruncatedCommand(DecodeError):
    """A command frame too short for its parameters; `command` is its header (no params), so
    the NCP can still answer it with `invalidCommand` (EZSP_ERROR_TRUNCATED)."""

    def __init__(self, command: CommandFrame, body: bytes) -> None:
        super().__init__(f"EZSP {command.name or 'frame'} parameters", "a complete payload", body)
        self.command = command


def canonical(name: str) -> str:
    return _ALIASES.get(name, name)


def commands_for(version: int) -> Mapping[str, tuple[int, Any, Any]]:
    """bellows' command table (name -> (id, request schema, response schema)) for `version`."""
    table: Mapping[str, tuple[int, Any, Any]] = EZSP._BY_VERSION[version].COMMANDS
    return table


class EzspCodec:
    """Encodes and decodes EZSP frames for one negotiated protocol version."""

    def __init__(self, version: int = 4) -> None:
        self.version = version
        self._by_id: dict[int, tuple[str, Any, Any]] = {}
        self.switch_version(version)

    def switch_version(self, version: int) -> None:
        self.version = version
        self._by_name = commands_for(version)
        # bellows writes a command without parameters as an empty tuple (e.g. v13's
        # gpTranslationTableClear), everywhere else as a dict of fields: one shape here.
        self._by_id = {
            cmd_id: (name, tx if tx else {}, rx) for name, (cmd_id, tx, rx) in self._by_name.items()
        }

    def parse(self, frame: bytes) -> CommandFrame:
        """Decode a command; `TruncatedCommand` if it is too short for its header or parameters."""
        if len(frame) < 3:
            fmt = FrameFormat.EXTENDED if self.version >= 8 else FrameFormat.LEGACY
            header = CommandFrame(frame[0] if frame else 0, 0xFF, "", {}, fmt)
            raise TruncatedCommand(header, frame)
        seq = frame[0]
        # The extended format always carries 0x01 (frame format version 1) in the third byte;
        # bellows falls back to the legacy format after every reset, whatever we negotiated.
        if frame[2] != 0x01 or len(frame) < 5:
            frame_format, frame_id, body = FrameFormat.LEGACY, frame[2], frame[3:]
        else:
            frame_format = FrameFormat.EXTENDED
            frame_id, body = int.from_bytes(frame[3:5], "little"), frame[5:]
        if frame_format is FrameFormat.LEGACY and frame_id == LEGACY_VERSION_FRAME_ID:
            schema = commands_for(self.version)["version"][1]
            name = "version"
        else:
            try:
                name, schema, _ = self._by_id[frame_id]
            except KeyError:
                return CommandFrame(seq, frame_id, "", {}, frame_format)
            since, layout = _REQUEST_LAYOUTS.get(name, (0, schema))
            if self.version >= since:
                schema = layout
        try:
            raw, _trailing = t.deserialize_dict(body, schema)
        except (ValueError, KeyError, IndexError, TypeError, OverflowError) as exc:
            header = CommandFrame(seq, frame_id, name, {}, frame_format)
            raise TruncatedCommand(header, body) from exc
        params = {canonical(key): value for key, value in raw.items()}
        return CommandFrame(seq, frame_id, name, params, frame_format)

    def response(self, command: CommandFrame, values: Mapping[str, Any]) -> bytes:
        """Build the response to `command` from canonical field values."""
        _, _, schema = self._by_name[command.name]
        return self._header(command.seq, FC_RESPONSE, command.frame_id, command.frame_format) + (
            self._serialize(schema, values)
        )

    def invalid_command(self, command: CommandFrame, status: t.EzspStatus) -> bytes:
        """The `invalidCommand` frame a real NCP sends for a frame id it does not handle."""
        cmd_id, _, schema = self._by_name["invalidCommand"]
        return self._header(command.seq, FC_RESPONSE, cmd_id, command.frame_format) + (
            self._serialize(schema, {"status": status})
        )

    def callback(self, seq: int, name: str, values: Mapping[str, Any]) -> bytes:
        cmd_id, _, schema = self._by_name[name]
        fmt = FrameFormat.EXTENDED if self.version >= 8 else FrameFormat.LEGACY
        return self._header(seq, FC_CALLBACK, cmd_id, fmt) + self._serialize(schema, values)

    def has_command(self, name: str) -> bool:
        return name in self._by_name

    @staticmethod
    def _header(seq: int, frame_control: int, frame_id: int, fmt: FrameFormat) -> bytes:
        if fmt is FrameFormat.LEGACY:
            return bytes([seq, frame_control, frame_id])
        return bytes([seq, frame_control, 0x01]) + frame_id.to_bytes(2, "little")

    @staticmethod
    def _serialize(schema: Any, values: Mapping[str, Any]) -> bytes:
        if not isinstance(schema, dict):  # a bellows Struct response, e.g. GetTokenDataRsp
            return bytes(schema(**values).serialize())
        out = bytearray()
        for field, field_type in schema.items():
            key = canonical(field)
            if key not in values:
                raise KeyError(f"response field {field!r} ({key}) missing")
            out += field_type(convert_status(field_type, values[key])).serialize()
        return bytes(out)


def convert_status(field_type: Any, value: Any) -> Any:
    """Turn an `sl_Status` into the EmberStatus/EzspStatus an older field carries."""
    if not isinstance(value, t.sl_Status) or field_type is t.sl_Status:
        return value
    if field_type in (t.EmberStatus, t.EzspStatus):
        legacy = _LEGACY_STATUS.get((field_type, value))
        if legacy is not None:
            return legacy
        # bellows' map leaves out a few codes that kept their name (MAC ones gained a prefix)
        for name in (value.name, f"MAC_{value.name}"):
            if name in field_type.__members__:
                return field_type[name]
        return field_type.SUCCESS if value == t.sl_Status.OK else _generic_error(field_type)
    return value


def _generic_error(field_type: Any) -> Any:
    return (
        t.EmberStatus.ERR_FATAL if field_type is t.EmberStatus else t.EzspStatus.ERROR_INVALID_CALL
    )
