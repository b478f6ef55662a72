"""Classic libpcap capture files, as bytes: a global header, then one record per frame.

Pure functions; the caller owns the file and the clock (timestamps are passed in, in
microseconds since the Unix epoch). Captures of the emulated air use
`LINKTYPE_IEEE802_15_4_WITHFCS` (195): each record is a whole MAC frame with its 2-octet FCS,
which Wireshark checks (preference wpan.fcs_format, ITU-T CRC-16 by default) before dissecting
the ZigBee layers. Format: https://www.tcpdump.org/manpages/pcap-savefile.5.html
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

LINKTYPE_IEEE802_15_4_WITHFCS = 195
PCAP_MAGIC = 0xA1B2C3D4  # microsecond timestamps, written in our (little-endian) byte order
SNAPLEN = 65535

_GLOBAL_HEADER = struct.Struct("<IHHiIII")
_RECORD_HEADER = struct.Struct("<IIII")


def global_header(linktype: int = LINKTYPE_IEEE802_15_4_WITHFCS, snaplen: int = SNAPLEN) -> bytes:
    """The 24-octet file header: magic, version 2.4, UTC offset 0, accuracy 0, snaplen, link type."""
    return _GLOBAL_HEADER.pack(PCAP_MAGIC, 2, 4, 0, 0, snaplen, linktype)


def record(frame: bytes, timestamp_us: int, snaplen: int = SNAPLEN) -> bytes:
    """One packet record: seconds, microseconds, captured length, original length, then data."""
    seconds, micros = divmod(timestamp_us, 1_000_000)
    captured = bytes(frame[:snaplen])
    return _RECORD_HEADER.pack(seconds, micros, len(captured), len(frame)) + captured


def capture(
    frames: Iterable[tuple[int, bytes]], linktype: int = LINKTYPE_IEEE802_15_4_WITHFCS
) -> bytes:
    """A whole capture file from (timestamp in microseconds, frame) pairs."""
    return global_header(linktype) + b"".join(record(frame, ts) for ts, frame in frames)
