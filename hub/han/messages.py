"""Commands from the hub, the HAN's Energy Service Interface, to a device.

- Messaging (0x0703, SE 1.x annex D.5): DisplayMessage, whose text the device shows; the
  installation ends with 'Welcome' on the meters and the IHD (20.2.8).
- Device Management (0x0708, annex D.10): RequestNewPasswordResponse, the meter's new
  service-menu password, the way a head-end resets a meter's local-access password remotely
  (17.2.21.b.2); the meter keeps only its salted verifier.

Frames are built from our declarations of the clusters and sent by zigpy to the device's Smart
Energy endpoint; the NCP APS-encrypts both with the device's link key, as SE asks of these
clusters (`protocol.se_aps_policy`), so neither crosses the HAN in clear (17.2.20).
"""

from __future__ import annotations

import itertools
from typing import Any

import zigpy.device
import zigpy.exceptions

from firmware.zcl.frame import cluster_command_header
from protocol.errors import TransientLinkError
from protocol.se import DeviceManagement, Messaging
from protocol.se.device_management import PasswordType
from protocol.se.messaging import MessageControl
from protocol.zigbee_ids import SE_PROFILE

from .commissioning import DeviceUnavailable

__all__ = ["MESSAGE_MAX", "issuer_id", "send_display_message", "send_new_password"]

MESSAGE_MAX = 32
#: "Until changed" (DurationInMinutes 0xFFFF) and "now" (StartTime 0).
FOREVER_MIN, NOW = 0xFFFF, 0
_MESSAGE_IDS = itertools.count(1)


def issuer_id(request_id: str | None) -> int:
    """The Issuer Event ID / Message ID of a request: derived from the WAN request id, so a
    command carried again after a crash reaches the device with the same id and the device,
    which remembers it, does not do it twice (19.1.6); a fresh one for the hub's own."""
    if request_id is None:
        return next(_MESSAGE_IDS)
    return int(request_id.replace("-", "")[:8], 16) or 1


async def send_display_message(
    device: zigpy.device.Device,
    name: str,
    src_endpoint: int,
    text: str,
    request_id: str | None = None,
) -> int:
    """Send DisplayMessage(`text`) to `device`; the message id; DeviceUnavailable if not sent."""
    if len(text) > MESSAGE_MAX:
        raise ValueError(f"a message is at most {MESSAGE_MAX} characters")
    message_id = issuer_id(request_id)
    definition = Messaging.ClientCommandDefs.display_message
    fields = definition.schema(
        message_id=message_id,
        message_control=MessageControl(0),
        start_time=NOW,
        duration_in_minutes=FOREVER_MIN,
        message=text,
    )
    await _send(device, name, src_endpoint, Messaging.cluster_id, definition.id, fields)
    return message_id


async def send_new_password(
    device: zigpy.device.Device,
    name: str,
    src_endpoint: int,
    password: str,
    request_id: str | None = None,
) -> int:
    """Send RequestNewPasswordResponse with the meter's new service password; its event id."""
    event_id = issuer_id(request_id)
    definition = DeviceManagement.ClientCommandDefs.request_new_password_response
    fields = definition.schema(
        issuer_event_id=event_id,
        implementation_date_time=NOW,
        duration_in_minutes=0,
        password_type=PasswordType.ServiceMenu,
        password=password.encode("ascii"),
    )
    await _send(device, name, src_endpoint, DeviceManagement.cluster_id, definition.id, fields)
    return event_id


async def _send(
    device: zigpy.device.Device,
    name: str,
    src_endpoint: int,
    cluster_id: int,
    command_id: int,
    fields: Any,
) -> None:
    tsn = device.application.get_sequence()
    header = cluster_command_header(tsn, command_id, to_server=False, disable_default_response=True)
    endpoint = min((ep for ep in device.endpoints if ep), default=1)
    try:
        await device.request(
            SE_PROFILE,
            cluster_id,
            src_endpoint,
            endpoint,
            tsn,
            bytes(header.serialize() + fields.serialize()),
            expect_reply=False,
        )
    except (TransientLinkError, zigpy.exceptions.ZigbeeException, TimeoutError) as exc:
        raise DeviceUnavailable(f"{name} did not take the command: {exc or 'timeout'}") from exc
