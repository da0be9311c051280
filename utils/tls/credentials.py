"""A process's TLS material (TLS_DIR, TLS_IDENTITY) turned into gRPC server and channel credentials.

Servers require a client certificate; a channel checks that the server's certificate names the identity it means
to reach (target name override), so addresses can be IPs or any DNS name. The caller's identity is the SAN.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import grpc

from utils.tls.pki import CA_CERT, check_identity


class TlsNotConfigured(RuntimeError):
    """No TLS material was installed for this process: there is no plaintext fallback for a service API."""


@functools.lru_cache(maxsize=256)
def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TlsNotConfigured(f"{path} is missing: issue it with `python -m utils.tls issue ...`") from None


@dataclass(frozen=True, slots=True)
class FleetTls:
    """`tls_dir` holds ca.crt and `<identity>.crt/.key`; `identity` is the one this process presents."""

    tls_dir: Path
    identity: str

    def __post_init__(self) -> None:
        check_identity(self.identity)

    def as_identity(self, identity: str) -> FleetTls:
        """The same folder presenting another identity (the harness and the operator tools hold several)."""
        return FleetTls(self.tls_dir, identity)

    def _material(self) -> tuple[bytes, bytes, bytes]:
        return (
            _read(self.tls_dir / CA_CERT),
            _read(self.tls_dir / f"{self.identity}.key"),
            _read(self.tls_dir / f"{self.identity}.crt"),
        )

    def server_credentials(self) -> grpc.ServerCredentials:
        ca, key, cert = self._material()
        return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=True)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        ca, key, cert = self._material()
        return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)

    def secure_channel(
        self, target: str, peer: str, options: list[tuple[str, str | int]] | None = None
    ) -> grpc.Channel:
        """A channel to `target` that accepts only a server presenting `peer`'s certificate."""
        check_identity(peer)
        opts: list[tuple[str, str | int]] = [*(options or []), ("grpc.ssl_target_name_override", peer)]
        return grpc.secure_channel(target, self.channel_credentials(), options=opts)


def peer_identity(context: grpc.ServicerContext) -> str | None:
    """The caller's identity: the one SAN of its verified certificate, or None (no certificate, or ambiguous)."""
    identities = list(context.peer_identities() or ())
    if len(identities) != 1:
        return None
    raw: bytes | str = identities[0]
    return raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
