"""Topic access rules of the rig's brokers (clause 17.2.14), as plain functions of topic names.

mosquitto applies its own ACL file; the embedded broker applies these through its plugins
(`tools.embedded_broker_access`). A grant is an MQTT topic filter (`smartmeter/v1/hub-1/#`):
a user may publish on a topic the filter matches, and subscribe to a filter that asks for no
more than the grant covers (`smartmeter/v1/+/cmd` is not within `smartmeter/v1/hub-1/#`).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["may_publish", "may_subscribe", "topic_matches", "within"]


def topic_matches(name: str, grant: str) -> bool:
    """True if the topic `name` (no wildcards) matches the filter `grant` (MQTT 4.7)."""
    if "+" in name or "#" in name:
        return False
    return within(name, grant)


def within(wanted: str, grant: str) -> bool:
    """True if every topic the filter `wanted` matches is matched by the filter `grant`."""
    asked, allowed = wanted.split("/"), grant.split("/")
    for index, level in enumerate(allowed):
        if level == "#":
            return True
        if index >= len(asked):
            return False
        if asked[index] == "#":
            return False  # asks for every level below; the grant stops short of that
        if level == "+":
            continue
        if asked[index] != level:  # a literal grant covers only that literal, not "+"
            return False
    return len(asked) == len(allowed)


def may_publish(name: str, grants: Iterable[str]) -> bool:
    return any(topic_matches(name, grant) for grant in grants)


def may_subscribe(wanted: str, grants: Iterable[str]) -> bool:
    return any(within(wanted, grant) for grant in grants)
