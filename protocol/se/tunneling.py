"""The Tunneling cluster (0x0704; ZigBee SE 1.4 annex D.6): a byte pipe for another protocol.

The client opens a tunnel to the server for a protocol (DLMS/COSEM, GB-HRGP, ...); both ends
then send TransferData, with ReadyData/AckTransferData for flow control. TransferData's data runs
to the end of the ZCL frame: it carries no length of its own.
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl import Cluster
from zigpy.zcl.foundation import BaseCommandDefs, CommandSchema

from .types import RemainingOctets
from .zcl_defs import READ_WRITE, GlobalAttributes, as_cluster_id, attribute, command


class TunnelProtocolId(t.enum8):
    """ProtocolID of a tunnel (200-254 are manufacturer defined)."""

    DlmsCosem = 0x00
    Iec61107 = 0x01
    AnsiC12 = 0x02
    MBus = 0x03
    Sml = 0x04
    ClimateTalk = 0x05
    GbHrgp = 0x06
    Test = 0xC7


class TunnelStatus(t.enum8):
    """TunnelStatus of RequestTunnelResponse."""

    Success = 0x00
    Busy = 0x01
    NoMoreTunnelIds = 0x02
    ProtocolNotSupported = 0x03
    FlowControlNotSupported = 0x04


class TransferDataStatus(t.enum8):
    """TransferDataStatus of TransferDataError."""

    NoSuchTunnel = 0x00
    WrongDevice = 0x01
    DataOverflow = 0x02


class TunnelProtocol(t.Struct):
    """One entry of SupportedTunnelProtocolsResponse's protocol list."""

    manufacturer_code: t.uint16_t
    protocol_id: TunnelProtocolId


class RequestTunnel(CommandSchema):
    """RequestTunnel."""

    protocol_id: TunnelProtocolId
    manufacturer_code: t.uint16_t
    flow_control_support: t.Bool
    maximum_incoming_transfer_size: t.uint16_t


class CloseTunnel(CommandSchema):
    """CloseTunnel."""

    tunnel_id: t.uint16_t


class TransferData(CommandSchema):
    """TransferData (client to server)."""

    tunnel_id: t.uint16_t
    data: RemainingOctets


class TransferDataError(CommandSchema):
    """TransferDataError (client to server)."""

    tunnel_id: t.uint16_t
    transfer_data_status: TransferDataStatus


class AckTransferData(CommandSchema):
    """AckTransferData (client to server): octets the receiver can still take."""

    tunnel_id: t.uint16_t
    number_of_bytes_left: t.uint16_t


class ReadyData(CommandSchema):
    """ReadyData (client to server): the receiver has room again."""

    tunnel_id: t.uint16_t
    number_of_octets_left: t.uint16_t


class GetSupportedTunnelProtocols(CommandSchema):
    """GetSupportedTunnelProtocols, from the ProtocolOffset-th protocol."""

    protocol_offset: t.uint8_t


class RequestTunnelResponse(CommandSchema):
    """RequestTunnelResponse."""

    tunnel_id: t.uint16_t
    tunnel_status: TunnelStatus
    maximum_incoming_transfer_size: t.uint16_t


class TransferDataFromServer(TransferData):
    """TransferData (server to client)."""


class TransferDataErrorFromServer(TransferDataError):
    """TransferDataError (server to client)."""


class AckTransferDataFromServer(AckTransferData):
    """AckTransferData (server to client)."""


class ReadyDataFromServer(ReadyData):
    """ReadyData (server to client)."""


class SupportedTunnelProtocolsResponse(CommandSchema):
    """SupportedTunnelProtocolsResponse: ProtocolListComplete, ProtocolCount, then the list."""

    protocol_list_complete: t.Bool
    protocols: t.LVList[TunnelProtocol, t.uint8_t]


class TunnelClosureNotification(CommandSchema):
    """TunnelClosureNotification: the server closed the tunnel (CloseTunnelTimeout expired)."""

    tunnel_id: t.uint16_t


class Tunneling(Cluster):
    """Tunneling (0x0704)."""

    cluster_id = as_cluster_id(0x0704)
    ep_attribute = "smartenergy_tunneling"

    class AttributeDefs(GlobalAttributes):
        close_tunnel_timeout: Final = attribute(0x0000, t.uint16_t, READ_WRITE, mandatory=True)

    class ServerCommandDefs(BaseCommandDefs):
        request_tunnel: Final = command(0x00, RequestTunnel)
        close_tunnel: Final = command(0x01, CloseTunnel)
        transfer_data: Final = command(0x02, TransferData)
        transfer_data_error: Final = command(0x03, TransferDataError)
        ack_transfer_data: Final = command(0x04, AckTransferData)
        ready_data: Final = command(0x05, ReadyData)
        get_supported_tunnel_protocols: Final = command(0x06, GetSupportedTunnelProtocols)

    class ClientCommandDefs(BaseCommandDefs):
        request_tunnel_response: Final = command(0x00, RequestTunnelResponse)
        transfer_data_from_server: Final = command(0x01, TransferDataFromServer)
        transfer_data_error_from_server: Final = command(0x02, TransferDataErrorFromServer)
        ack_transfer_data_from_server: Final = command(0x03, AckTransferDataFromServer)
        ready_data_from_server: Final = command(0x04, ReadyDataFromServer)
        supported_tunnel_protocols_response: Final = command(0x05, SupportedTunnelProtocolsResponse)
        tunnel_closure_notification: Final = command(0x06, TunnelClosureNotification)
