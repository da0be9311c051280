"""The fleet's certificate authority and leaf certificates (EC P-256, made with `cryptography`).

Idempotent: the CA is made once in its own folder, whose key never leaves it; a leaf is issued only when missing.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
CA_VALID_DAYS = 3650
LEAF_VALID_DAYS = 825
# An identity is a DNS name label or a few joined by dots: what a SAN may carry, and a safe file name.
IDENTITY_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?)*$")
FOLDER_MODE = 0o700
KEY_MODE = 0o600
CERT_MODE = 0o600  # public, yet owner-only like everything in the data folder (nothing there is for others)


def check_identity(identity: str) -> str:
    if not IDENTITY_PATTERN.fullmatch(identity) or len(identity) > 253:
        raise ValueError(f"identity {identity!r} is not a DNS name (lower-case letters, digits, '-', '_', '.')")
    return identity


@dataclass(frozen=True, slots=True)
class Issued:
    ca_created: bool
    issued: tuple[str, ...]  # identities whose certificates were made now (the others existed already)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _private_folder(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(FOLDER_MODE)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Writes through a temporary file created with its final mode, so a key is never readable by others."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ensure_ca(ca_dir: Path) -> bool:
    """Makes the CA in `ca_dir` when it has none. Returns True when it was made now."""
    _private_folder(ca_dir)
    if (ca_dir / CA_CERT).exists() and (ca_dir / CA_KEY).exists():
        return False
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bookstore fleet CA")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_VALID_DAYS))
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
    _write(ca_dir / CA_KEY, _key_pem(key), KEY_MODE)
    _write(ca_dir / CA_CERT, cert.public_bytes(serialization.Encoding.PEM), CERT_MODE)
    return True


def _load_ca(ca_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate((ca_dir / CA_CERT).read_bytes())
    key = serialization.load_pem_private_key((ca_dir / CA_KEY).read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca_dir / CA_KEY}: not an EC key")
    return cert, key


def leaf_certificate(
    identity: str, key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    """A certificate naming `identity` as its one DNS SAN, good for both ends of a mutual TLS connection."""
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=LEAF_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(identity)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def issue(ca_dir: Path, out_dir: Path, identities: list[str]) -> Issued:
    """Makes the CA if missing, copies ca.crt into `out_dir`, and issues every missing `<identity>.crt/.key`."""
    for identity in identities:
        check_identity(identity)
    ca_created = ensure_ca(ca_dir)
    ca_cert, ca_key = _load_ca(ca_dir)
    _private_folder(out_dir)
    if out_dir.resolve() != ca_dir.resolve():
        shutil.copyfile(ca_dir / CA_CERT, out_dir / CA_CERT)
        (out_dir / CA_CERT).chmod(CERT_MODE)
    made = []
    for identity in identities:
        cert_path, key_path = out_dir / f"{identity}.crt", out_dir / f"{identity}.key"
        if cert_path.exists() and key_path.exists() and not ca_created:
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        _write(key_path, _key_pem(key), KEY_MODE)
        _write(
            cert_path,
            leaf_certificate(identity, key, ca_cert, ca_key).public_bytes(serialization.Encoding.PEM),
            CERT_MODE,
        )
        made.append(identity)
    return Issued(ca_created, tuple(made))
