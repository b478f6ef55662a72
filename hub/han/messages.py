"""Messages from the hub, the HAN's Energy Service Interface, to a device's display.

Messaging cluster (0x0703, SE 1.x annex D.5): the ESI sends DisplayMessage to a device, which
shows the text; the installation ends with 'Welcome' on the meters and the IHD (20.2.8), and the
stages of an installation can be shown the same way (20.2.5). The frame is built from our
declaration of the cluster and sent by zigpy to the device's Smart Energy endpoint; the NCP
APS-encrypts it with the device's link key, as SE asks of Messaging (`protocol.se_aps_policy`).
"""

from __future__ import annotations

import itertools

import zigpy.device
import zigpy.exceptions

from firmware.zcl.frame import cluster_command_header
from protocol.errors import TransientLinkError
from protocol.se import Messaging
from protocol.se.messaging import MessageControl
from protocol.zigbee_ids import SE_PROFILE

from .commissioning import DeviceUnavailable

__all__ = ["MESSAGE_MAX", "send_display_message"]

MESSAGE_MAX = 32
#: "Until changed" (DurationInMinutes 0xFFFF) and "now" (StartTime 0).
FOREVER_MIN, NOW = 0xFFFF, 0
_MESSAGE_IDS = itertools.count(1)


async def send_display_message(
    device: zigpy.device.Device, name: str, src_endpoint: int, text: str
) -> int:
    """Send DisplayMessage(`text`) to `device`; the message id; DeviceUnavailable if not sent."""
    if len(text) > MESSAGE_MAX:
        raise ValueError(f"a message is at most {MESSAGE_MAX} characters")
    definition = Messaging.ClientCommandDefs.display_message
    message_id = next(_MESSAGE_IDS)
    fields = definition.schema(
        message_id=message_id,
        message_control=MessageControl(0),
        start_time=NOW,
        duration_in_minutes=FOREVER_MIN,
        message=text,
    )
    tsn = device.application.get_sequence()
    header = cluster_command_header(
        tsn, definition.id, to_server=False, disable_default_response=True
    )
    endpoint = min((ep for ep in device.endpoints if ep), default=1)
    try:
        await device.request(
            SE_PROFILE,
            Messaging.cluster_id,
            src_endpoint,
            endpoint,
            tsn,
            bytes(header.serialize() + fields.serialize()),
            expect_reply=False,
        )
    except (TransientLinkError, zigpy.exceptions.ZigbeeException, TimeoutError) as exc:
        raise DeviceUnavailable(f"{name} did not take the message: {exc or 'timeout'}") from exc
    return message_id
