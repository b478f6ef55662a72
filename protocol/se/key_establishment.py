"""The Key Establishment cluster (0x0800; ZigBee SE 1.4 annex C.3): certificate-based key
establishment (CBKE), by which two devices agree a link key.

Both ends are client and server at once: the initiator sends the requests (client to server),
the responder the responses. The identity field is the sender's implicit certificate (48 octets
for suite 1, sect163k1; 74 for suite 2, sect283k1), the ephemeral data its ephemeral public key
(22 or 37 octets), so their lengths follow the suite and both run to the end of the frame. The
cluster travels under the network key only: it is how the link key comes to exist.
"""

from __future__ import annotations

from typing import ClassVar, Final

import zigpy.types as t
from zigpy.zcl import Cluster
from zigpy.zcl.foundation import BaseCommandDefs, CommandSchema

from .types import FixedOctets, RemainingOctets
from .zcl_defs import GlobalAttributes, as_cluster_id, attribute, command


class KeyEstablishmentSuite(t.bitmap16):
    """KeyEstablishmentSuite: the CBKE suites a device supports or asks for."""

    Crypto163k1 = 0x0001
    Crypto283k1 = 0x0002


class TerminateStatus(t.enum8):
    """StatusCode of TerminateKeyEstablishment."""

    UnknownIssuer = 0x01
    BadKeyConfirm = 0x02
    BadMessage = 0x03
    NoResources = 0x04
    UnsupportedSuite = 0x05
    InvalidCertificate = 0x06


class KeyConfirmationMac(FixedOctets):
    """SecureMessageAuthenticationCode (MACU from the initiator, MACV from the responder)."""

    length: ClassVar[int] = 16


class PublicKeyReconstructionData(FixedOctets):
    """A suite-1 certificate's public key reconstruction data (a compressed sect163k1 point)."""

    length: ClassVar[int] = 22


class CertificateIssuer(FixedOctets):
    """The issuer (certificate authority) id of a suite-1 certificate."""

    length: ClassVar[int] = 8


class ProfileAttributeData(FixedOctets):
    """The profile attribute data of a suite-1 certificate."""

    length: ClassVar[int] = 10


class ImplicitCertificate163k1(t.Struct):
    """The 48-octet suite-1 certificate the identity field carries for KeyEstablishmentSuite
    0x0001 (decode `identity` with it)."""

    public_key_reconstruction_data: PublicKeyReconstructionData
    subject: t.EUI64
    issuer: CertificateIssuer
    profile_attribute_data: ProfileAttributeData


class InitiateKeyEstablishmentRequest(CommandSchema):
    """InitiateKeyEstablishmentRequest: the initiator's suite, timings and certificate."""

    key_establishment_suite: KeyEstablishmentSuite
    ephemeral_data_generate_time: t.uint8_t
    confirm_key_generate_time: t.uint8_t
    identity: RemainingOctets


class EphemeralDataRequest(CommandSchema):
    """EphemeralDataRequest: the initiator's ephemeral public key (QEU)."""

    ephemeral_data: RemainingOctets


class ConfirmKeyDataRequest(CommandSchema):
    """ConfirmKeyDataRequest: the initiator's key confirmation (MACU)."""

    secure_message_authentication_code: KeyConfirmationMac


class TerminateKeyEstablishment(CommandSchema):
    """TerminateKeyEstablishment (either side): why, and how long to wait before retrying."""

    status_code: TerminateStatus
    wait_time: t.uint8_t
    key_establishment_suite: KeyEstablishmentSuite


class InitiateKeyEstablishmentResponse(CommandSchema):
    """InitiateKeyEstablishmentResponse: the suite chosen, timings and the responder's
    certificate."""

    requested_key_establishment_suite: KeyEstablishmentSuite
    ephemeral_data_generate_time: t.uint8_t
    confirm_key_generate_time: t.uint8_t
    identity: RemainingOctets


class EphemeralDataResponse(CommandSchema):
    """EphemeralDataResponse: the responder's ephemeral public key (QEV)."""

    ephemeral_data: RemainingOctets


class ConfirmKeyDataResponse(CommandSchema):
    """ConfirmKeyDataResponse: the responder's key confirmation (MACV)."""

    secure_message_authentication_code: KeyConfirmationMac


class TerminateKeyEstablishmentFromServer(TerminateKeyEstablishment):
    """TerminateKeyEstablishment sent by the responder."""


class KeyEstablishment(Cluster):
    """Key Establishment (0x0800)."""

    cluster_id = as_cluster_id(0x0800)
    ep_attribute = "smartenergy_key_establishment"

    class AttributeDefs(GlobalAttributes):
        # KeyEstablishmentSuite: the same id on server and client side
        key_establishment_suite: Final = attribute(0x0000, KeyEstablishmentSuite, mandatory=True)

    class ServerCommandDefs(BaseCommandDefs):
        initiate_key_establishment_request: Final = command(0x00, InitiateKeyEstablishmentRequest)
        ephemeral_data_request: Final = command(0x01, EphemeralDataRequest)
        confirm_key_data_request: Final = command(0x02, ConfirmKeyDataRequest)
        terminate_key_establishment: Final = command(0x03, TerminateKeyEstablishment)

    class ClientCommandDefs(BaseCommandDefs):
        initiate_key_establishment_response: Final = command(0x00, InitiateKeyEstablishmentResponse)
        ephemeral_data_response: Final = command(0x01, EphemeralDataResponse)
        confirm_key_data_response: Final = command(0x02, ConfirmKeyDataResponse)
        terminate_key_establishment_from_server: Final = command(
            0x03, TerminateKeyEstablishmentFromServer
        )
