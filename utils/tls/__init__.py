"""Mutual TLS for the fleet: a certificate authority, one certificate per process identity, and the credentials
every gRPC server and channel is built with (docs/trust.md).
"""

from utils.tls.credentials import FleetTls, TlsNotConfigured, peer_identity

__all__ = ["FleetTls", "TlsNotConfigured", "peer_identity"]
