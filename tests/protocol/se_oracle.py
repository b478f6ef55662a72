"""tshark as the judge of the Smart Energy codecs: frames in, dissected fields out.

`se_frame` wraps a ZCL frame in an unsecured 802.15.4 MAC + ZigBee NWK + APS data frame of the
SE profile (0x0109), so tshark dissects it without keys. `dissect` runs tshark once, PDML out,
over a whole list of frames and returns the ZCL fields of each packet with their positions.
`leaves` takes an encoded command apart the same way: every leaf field with the offset and
size of its octets in the ZCL payload, so a tshark field is matched by name *and* position.

tshark missing is a failure, never a skip: CI installs it, and without it nothing here is proved.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zigpy.types as t
from zigpy.zcl import foundation

from protocol import pcap
from protocol.ieee802154 import AddrMode, FrameType, MacFrame
from protocol.zigbee_aps import ApsFrame, ApsFrameType
from protocol.zigbee_nwk import NwkFrame, NwkFrameType

SE_PROFILE = 0x0109
PAN = 0x1A62
ZIGBEE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: MAC header (9) + NWK header (8) + APS header (8) + ZCL header (3) before the ZCL payload.
PAYLOAD_POS = 9 + 8 + 8 + 3


def require_tshark() -> str:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.fail(
            "tshark is not installed: the Smart Energy codecs are judged by it (apt-get install tshark)"
        )
    return tshark


def zcl_frame(command_id: int, server_to_client: bool, payload: bytes, tsn: int = 0x42) -> bytes:
    """A cluster-specific ZCL frame: header (direction bit per sender) and payload."""
    direction = (
        foundation.Direction.Server_to_Client
        if server_to_client
        else foundation.Direction.Client_to_Server
    )
    header = foundation.ZCLHeader.cluster(tsn, command_id, direction=direction)
    return bytes(header.serialize()) + payload


def se_frame(cluster_id: int, zcl: bytes, seq: int) -> bytes:
    """`zcl` in an APS data frame of the SE profile, in NWK and MAC data frames, FCS included."""
    aps = ApsFrame(
        ApsFrameType.DATA,
        seq & 0xFF,
        dst_endpoint=1,
        cluster=cluster_id,
        profile=SE_PROFILE,
        src_endpoint=1,
        payload=zcl,
    )
    nwk = NwkFrame(NwkFrameType.DATA, 0x0000, 0x1234, 30, seq & 0xFF, payload=aps.build())
    mac = MacFrame(
        FrameType.DATA,
        seq & 0xFF,
        AddrMode.SHORT,
        PAN,
        0x0000,
        AddrMode.SHORT,
        None,
        0x1234,
        pan_id_compression=True,
        payload=nwk.build(),
    )
    return mac.build()


@dataclass(frozen=True)
class Field:
    """One field tshark dissected: its filter name, shown value, offset in the frame, size."""

    name: str
    show: str
    pos: int
    size: int


def _environment(tmp_path: Path) -> dict[str, str]:
    # A private profile (no user preferences) and UTC for the time fields tshark shows.
    return {**os.environ, "WIRESHARK_CONFIG_DIR": str(tmp_path / "wireshark"), "TZ": "UTC"}


def dissect(tmp_path: Path, frames: Sequence[bytes]) -> list[list[Field]]:
    """tshark's ZCL fields (and malformed/expert markers) of each frame, in dissection order."""
    tshark = require_tshark()
    capture = tmp_path / "se.pcap"
    capture.write_bytes(pcap.capture((i * 1000, frame) for i, frame in enumerate(frames)))
    done = subprocess.run(
        [tshark, "-n", "-r", str(capture), "-T", "pdml"],
        capture_output=True,
        text=True,
        env=_environment(tmp_path),
        timeout=120,
        check=True,
    )
    packets = []
    for packet in ET.fromstring(done.stdout).iter("packet"):
        fields = []
        for proto in packet.iter("proto"):
            name = proto.get("name", "")
            if name.startswith("zbee_zcl") or name in ("_ws.malformed", "_ws.expert"):
                fields.append(Field(name, proto.get("showname", ""), -1, 0))
                for field in proto.iter("field"):
                    fields += [
                        Field(
                            field.get("name", ""),
                            field.get("show", ""),
                            int(field.get("pos", -1)),
                            int(field.get("size", 0)),
                        )
                    ]
        packets.append(fields)
    assert len(packets) == len(frames), done.stderr
    return packets


@dataclass(frozen=True)
class FieldType:
    """What `tshark -G fields` says of a field: FT_ type, display base and bit mask."""

    ftype: str
    base: str
    mask: int


def field_types(tmp_path: Path) -> dict[str, FieldType]:
    done = subprocess.run(
        [require_tshark(), "-G", "fields"],
        capture_output=True,
        text=True,
        env=_environment(tmp_path),
        check=True,
    )
    types = {}
    for line in done.stdout.splitlines():
        cols = line.split("\t")
        if cols[0] == "F" and len(cols) >= 7:
            types[cols[2]] = FieldType(
                cols[3], cols[5], int(cols[6], 16) if cols[6].startswith("0x") else 0
            )
    return types


@dataclass(frozen=True)
class Leaf:
    """A leaf field of an encoded command: dotted path, value, and where its octets are."""

    path: str
    value: Any
    offset: int
    size: int


def leaves(struct: t.Struct, base: int = 0, prefix: str = "") -> Iterator[Leaf]:
    """Every leaf of `struct` as it serialises; list items share their list's path, an
    LVList adds a `<path>.count` leaf, and a bit-field struct adds one leaf per sub-field."""
    offset = base
    for field, value in struct.assigned_fields(strict=True):
        if value is None:
            continue
        path = prefix + field.name
        if isinstance(value, t.Struct) and not isinstance(value, int):
            yield from leaves(value, offset, path + ".")
            offset += len(value.serialize())
            continue
        if isinstance(value, t.LVList | t.List):
            if isinstance(value, t.LVList):
                count = value._length_type(len(value)).serialize()
                yield Leaf(path + ".count", len(value), offset, len(count))
                offset += len(count)
            for item in value:
                item = field.type._item_type(item)
                if isinstance(item, t.Struct) and not isinstance(item, int):
                    start = offset
                    yield from leaves(item, offset, path + ".")
                    offset = start + len(item.serialize())
                else:
                    size = len(item.serialize())
                    yield Leaf(path, item, offset, size)
                    offset += size
            continue
        size = len(value.serialize())
        yield Leaf(path, value, offset, size)
        if isinstance(value, t.Struct):  # a bit-field struct: an int made of sub-fields
            for sub in value.fields:
                yield Leaf(f"{path}.{sub.name}", getattr(value, sub.name), offset, size)
        offset += size


def parse_show(show: str, kind: FieldType) -> Any:
    """The value tshark shows, as a Python value of the field's FT_ type."""
    if kind.ftype == "FT_ABSOLUTE_TIME":
        text = show.removesuffix(" UTC")
        stamp = text.partition(".")[0]  # UTCTime has whole seconds
        return datetime.strptime(" ".join(stamp.split()), "%b %d, %Y %H:%M:%S").replace(tzinfo=UTC)
    if kind.ftype in ("FT_BYTES", "FT_UINT_BYTES"):
        return bytes.fromhex(show.replace(":", ""))
    if kind.ftype in ("FT_STRING", "FT_UINT_STRING", "FT_STRINGZ"):
        return show
    if kind.ftype == "FT_BOOLEAN":
        return int(show in ("1", "True", "true"))
    return int(show, 16) if show.startswith("0x") else int(show)


def expected(value: Any, kind: FieldType) -> Any:
    """Our value as tshark should show it for a field of type `kind`."""
    if kind.ftype == "FT_ABSOLUTE_TIME":
        return ZIGBEE_EPOCH + timedelta(seconds=int(value))
    if kind.ftype in ("FT_BYTES", "FT_UINT_BYTES"):
        return bytes(value)
    if kind.ftype in ("FT_STRING", "FT_UINT_STRING", "FT_STRINGZ"):
        # tshark 4.0 decodes ZCL strings as ASCII: each octet of a non-ASCII character shows
        # as U+FFFD (the SE Message is UTF-8, so a "£" shows as two replacement characters).
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
        return "".join(c if ord(c) < 0x80 else "\ufffd" * len(c.encode()) for c in text)
    return int(value)
