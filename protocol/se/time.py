"""The Time cluster (0x000A; ZCL 3.12), as the Smart Energy profile uses it.

zigpy 2.4's definition is complete and right for SE: Time and LastSetTime/ValidUntilTime are
UTCTime (0xE2, seconds since 2000-01-01 UTC), TimeStatus a map8 (Master, Synchronized,
MasterZoneDst, Superseding), TimeZone and DstShift int32 seconds, DstStart/DstEnd uint32 UTC
seconds, StandardTime and LocalTime uint32 seconds. The cluster has no commands. It is
re-exported here so every SE cluster is imported from `protocol.se`.
"""

from __future__ import annotations

from zigpy.zcl.clusters.general import Time, TimeStatus

__all__ = ["Time", "TimeStatus"]
