"""The process's trust settings, installed once by main() (or the test harness): its TLS material, the replica
groups that give identities their roles, and where its plaintext health-only port goes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from utils.rpc.core.authz import RULES, Policy, Role, Roster
from utils.settings import FleetSettings, RuntimeSettings
from utils.tls import FleetTls, TlsNotConfigured

HEALTH_PORT_OFFSET = 2000  # the health-only port is the API port + this, unless HEALTH_PORT says otherwise


@dataclass(frozen=True, slots=True)
class Trust:
    tls: FleetTls
    roster: Roster
    # HEALTH_PORT: 0 = the API port + HEALTH_PORT_OFFSET; None = any free port (test servers on port 0).
    health_port: int | None = 0
    extra_rules: Mapping[str, frozenset[Role]] = field(default_factory=dict)  # a test server's own methods

    @property
    def policy(self) -> Policy:
        return Policy(self.roster, {**RULES, **self.extra_rules}) if self.extra_rules else Policy(self.roster)

    def as_identity(self, identity: str) -> Trust:
        return Trust(self.tls.as_identity(identity), self.roster, self.health_port, self.extra_rules)


def roster_from(fleet: FleetSettings) -> Roster:
    return Roster(executors=frozenset(fleet.executor_peers()), books=frozenset(fleet.database_peers()))


def trust_from(runtime: RuntimeSettings, fleet: FleetSettings, service_identity: str) -> Trust:
    """TLS_IDENTITY, else NODE_ID for a replica, else the service's own identity."""
    if not runtime.tls_dir:
        raise TlsNotConfigured("TLS_DIR is not set: every service API is mutual TLS (docs/trust.md)")
    identity = runtime.tls_identity or runtime.node_id or service_identity
    return Trust(FleetTls(Path(runtime.tls_dir), identity), roster_from(fleet), runtime.health_port)


_installed: Trust | None = None
_lock = threading.Lock()


def install_trust(trust: Trust | None) -> None:
    global _installed
    with _lock:
        _installed = trust


def installed_trust_or_none() -> Trust | None:
    return _installed


def installed_trust() -> Trust:
    if _installed is None:
        raise TlsNotConfigured("no trust settings installed: main() calls install_trust (docs/trust.md)")
    return _installed


def health_address(api_address: str, offset: int = HEALTH_PORT_OFFSET) -> str:
    """A peer's health-only address when it runs with the default HEALTH_PORT (its API port + 2000)."""
    host, _, port = api_address.rpartition(":")
    return f"{host}:{int(port) + offset}"
