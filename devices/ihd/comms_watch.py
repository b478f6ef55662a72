"""The IHD's own half of clause 12.7.3: whichever link is lost, the consumer is told to contact
the service centre once the loss has lasted the configured period.

The hub tells the IHD of a lost WAN or of a meter it cannot reach (`hub.loss_of_comms`), but it
cannot tell an IHD that has lost the HAN itself (out of range, the hub down). So the IHD watches
its own links to the meters: when every meter it reads has been lost (not answering its polls)
for `ihd_contact_after_s` of its clock, it shows the contact message on its own, and takes it
away when a meter answers again.
"""

from __future__ import annotations

from collections.abc import Iterable

from firmware.rig import CommsLossRules

from .meter_view import MeterLink

__all__ = ["local_message", "next_change_s"]


def local_message(rules: CommsLossRules, links: Iterable[MeterLink], now_s: float) -> str:
    """What the IHD shows of its own accord now (`now_s` clock-monotonic), "" for nothing."""
    links = list(links)
    if not links or not all(link.lost for link in links):
        return ""
    heard = [link.heard_s for link in links if link.heard_s is not None]
    if not heard or now_s - max(heard) < rules.ihd_contact_after_s:
        return ""
    return rules.contact_message


def next_change_s(rules: CommsLossRules, links: Iterable[MeterLink], now_s: float) -> float | None:
    """Clock seconds from `now_s` until `local_message` changes if no link changes meanwhile;
    None when only a change of a link (lost, heard again, found) can change it."""
    links = list(links)
    if not links or not all(link.lost for link in links):
        return None
    heard = [link.heard_s for link in links if link.heard_s is not None]
    if not heard:
        return None
    due = max(heard) + rules.ihd_contact_after_s - now_s
    return due if due > 0 else None
