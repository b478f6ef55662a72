"""Topic access rules of the rig's brokers (clause 17.2.14), as plain functions of topic names.

mosquitto applies its own ACL file; the embedded broker applies these through its plugins
(`tools.embedded_broker_access`), the way mosquitto 2 does: a grant is an MQTT topic filter
(`smartmeter/v1/hub-1/#`); a user may publish on a topic a grant matches; a subscription is
accepted if some topic could match both it and a grant (so the head-end's
`smartmeter/v1/+/status` passes), and then every message is checked again on delivery, so a
subscriber receives only topics its grants match, whatever filter it subscribed with.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["may_publish", "may_subscribe", "overlaps", "topic_matches"]


def topic_matches(name: str, grant: str) -> bool:
    """True if the topic `name` (no wildcards) matches the filter `grant` (MQTT 4.7)."""
    if "+" in name or "#" in name:
        return False
    return overlaps(name, grant)


def overlaps(first: str, second: str) -> bool:
    """True if some topic matches both filters."""
    a, b = first.split("/"), second.split("/")
    for index in range(max(len(a), len(b))):
        if index >= len(a) or index >= len(b):
            # "x/#" also matches "x" itself (MQTT 4.7.1.2); anything else is one level short.
            longer = a if len(a) > len(b) else b
            return index == len(longer) - 1 and longer[index] == "#"
        left, right = a[index], b[index]
        if "#" in (left, right):
            return True
        if left != right and "+" not in (left, right):
            return False
    return True


def may_publish(name: str, grants: Iterable[str]) -> bool:
    return any(topic_matches(name, grant) for grant in grants)


def may_subscribe(wanted: str, grants: Iterable[str]) -> bool:
    return any(overlaps(wanted, grant) for grant in grants)
