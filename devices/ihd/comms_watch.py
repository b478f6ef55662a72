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

__all__ = ["contact_watch"]


def contact_watch(
    rules: CommsLossRules, links: Iterable[MeterLink], now_s: float
) -> tuple[str, float | None]:
    """What the IHD shows of its own accord at `now_s` (clock-monotonic; "" for nothing), and
    the clock seconds from `now_s` until that changes if no link changes meanwhile: None once
    the message shows, or when only a change of a link (lost, heard again, found) can bring it.

    Both come from one float, `due`: computed twice over (the quiet period against the
    period, and the deadline against now) they disagree by a rounding at the very instant
    the period runs out, and the watch then sleeps on a link change instead of its timer. It
    is counted to the deadline, not from the last hearing: a clock moved by `due` lands on
    the deadline exactly, where `now - heard` may fall an ulp short of the period for ever.
    """
    links = list(links)
    if not links or not all(link.lost for link in links):
        return "", None
    heard = [link.heard_s for link in links if link.heard_s is not None]
    if not heard:
        return "", None
    due = max(heard) + rules.ihd_contact_after_s - now_s
    if due > 0:
        return "", due
    return rules.contact_message, None
