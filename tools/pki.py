"""The rig's own certificate authority for the WAN broker (clause 17.2.14), made with `cryptography`.

On first start the launcher calls `ensure_pki`: it creates a CA, a server certificate for the
broker and one client certificate per identity (each hub by its WAN id, the head-end), all on
P-256. Private keys are written 0600 under the run directory; existing files are kept, so a
restarted rig reuses them (a new hub added to the rig gets its certificate signed by the same
CA). The broker takes the client certificate's common name as the MQTT user name (mosquitto's
`use_identity_as_username`, our embedded broker the same) and its ACL gives each name its topics.

The layout of the folder is `firmware.rig.PkiPaths`'s, which the hub's wiring reads too.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from firmware.rig import PkiPaths, TlsFiles
from protocol.errors import ConfigError

__all__ = ["BROKER_IDENTITY", "common_name", "ensure_pki"]

BROKER_IDENTITY = "broker"
_VALID_DAYS = 3650
_ORG = "smartmeter emulator rig"


def _now() -> datetime.datetime:
    # Certificates are dated by the host's clock, not a rig's simulated one: TLS peers check
    # validity against their own system clock.
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write a private key readable by its owner only (0600 from the first byte)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_suffix(".key.tmp")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(tmp, path)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".crt.tmp")
    tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, path)


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _create_ca(pki: PkiPaths) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    start = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{_ORG} CA"))
        .issuer_name(_name(f"{_ORG} CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(pki.ca_key, key)
    _write_cert(pki.ca_cert, cert)
    return key, cert


def _load_ca(pki: PkiPaths) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    try:
        key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), None)
        cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{pki.root}: the rig's CA cannot be read: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{pki.ca_key}: not an elliptic-curve key")
    return key, cert


def _issue(
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
    common: str,
    *,
    server_names: tuple[str, ...] = (),
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    start = _now()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_names else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(n) for n in server_names]), critical=False
        )
    return key, builder.sign(ca_key, hashes.SHA256())


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def common_name(cert_path: Path) -> str:
    """The common name of the certificate at `cert_path` (what the broker takes as user name)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def _missing(files: TlsFiles) -> bool:
    return not (files.cert.exists() and files.key.exists())


def ensure_pki(
    root: Path, broker_hosts: tuple[str, ...] | None, identities: tuple[str, ...]
) -> PkiPaths:
    """The rig's PKI under `root`, creating whatever is missing and keeping what exists.

    `broker_hosts` go in the broker certificate's subject alternative names (with localhost
    and 127.0.0.1, so that clients on the rig's machine verify it by either name; None: no
    broker certificate, the broker is someone else's);
    `identities` are the clients' common names, hence their MQTT user names. A folder that
    holds another CA's certificates without its key is fine as long as nothing is missing
    (an external broker's); ConfigError if something is and cannot be signed.
    """
    pki = PkiPaths(Path(root))
    pki.root.mkdir(parents=True, exist_ok=True)
    wanted = [] if broker_hosts is None else [(pki.broker, BROKER_IDENTITY)]
    wanted += [(pki.client(identity), identity) for identity in identities]
    missing = [(files, name) for files, name in wanted if _missing(files)]
    if pki.ca_cert.exists() and not missing:
        return pki
    if pki.ca_cert.exists() and not pki.ca_key.exists():
        names = ", ".join(str(files.cert) for files, _ in missing)
        raise ConfigError(f"{pki.root}: no CA key to sign what is missing: {names}")
    os.chmod(pki.root, 0o700)
    ca = _load_ca(pki) if pki.ca_cert.exists() else _create_ca(pki)
    for files, name in missing:
        servers: tuple[str, ...] = ()
        if name == BROKER_IDENTITY and broker_hosts is not None:
            servers = tuple(dict.fromkeys((*broker_hosts, "localhost", "127.0.0.1", "::1")))
        key, cert = _issue(ca, name, server_names=servers)
        _write_key(files.key, key)
        _write_cert(files.cert, cert)
    return pki
