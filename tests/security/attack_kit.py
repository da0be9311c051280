"""What the attack tests share: one attack (a method, a request, the identities that must be refused), the ways a
caller without the right certificate reaches a port, and the status each attempt ends with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message

from testing.local_fleet import RunningFleet
from utils.rpc.client import open_channel
from utils.tls import FleetTls
from utils.tls.pki import CA_CERT

STRANGER = "stranger"  # a valid certificate of the fleet's CA that no rule names
HUGE_TERM = 10**9
RAW: dict[str, Callable[[Any], Any]] = {
    "request_serializer": lambda m: m.SerializeToString(),
    "response_deserializer": lambda b: b,
}
PLAINTEXT, NO_CERTIFICATE = "plaintext", "no client certificate"


@dataclass(frozen=True, slots=True)
class Attack:
    target: str  # the server's identity (a process name)
    method: str  # full method name
    request: Message
    wrong: tuple[str, ...]  # plausible callers the table refuses (besides the stranger)
    address_key: str = ""  # FleetSettings attribute of its address when not `<target>_addr` or a replica's


def address_of(rf: RunningFleet, attack: Attack) -> str:
    settings = rf.settings
    if attack.address_key:
        return str(getattr(settings, attack.address_key))
    peers = {**settings.executor_peers(), **settings.database_peers()}
    return peers.get(attack.target) or str(getattr(settings, f"{attack.target}_addr"))


def code_of(channel: grpc.Channel, attack: Attack, connect_attempts: int = 1) -> grpc.StatusCode:
    """The status the attack's call ends with. With a valid certificate the handshake cannot be refused, so an
    UNAVAILABLE there is a connection that did not come up in time (seen on a loaded machine): `connect_attempts`
    tries again, on the same channel, before taking it as the answer."""
    code = grpc.StatusCode.OK
    for _ in range(connect_attempts):
        try:
            channel.unary_unary(attack.method, **RAW)(attack.request, timeout=5)
            return grpc.StatusCode.OK
        except grpc.RpcError as error:
            code = error.code()
        if code is not grpc.StatusCode.UNAVAILABLE:
            return code
    return code


def attempts(rf: RunningFleet, attack: Attack) -> Iterator[tuple[str, grpc.StatusCode]]:
    """Each way of calling the attack without the right certificate, by who tried, with the status it ended with."""
    tls_dir: Path = rf.tls().tls_dir
    address = address_of(rf, attack)
    ca = (tls_dir / CA_CERT).read_bytes()
    override = [("grpc.ssl_target_name_override", attack.target)]
    plaintext = grpc.insecure_channel(address)
    no_cert = grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=ca), options=override)
    for kind, channel in ((PLAINTEXT, plaintext), (NO_CERTIFICATE, no_cert)):
        with channel:
            yield kind, code_of(channel, attack)
    for identity in (STRANGER, *attack.wrong):
        with open_channel(address, attack.target, retries=False, tls=FleetTls(tls_dir, identity)) as channel:
            yield identity, code_of(channel, attack, connect_attempts=3)


def expected_code(who: str) -> grpc.StatusCode:
    """No certificate: the TLS handshake fails (UNAVAILABLE); a valid certificate of a wrong identity is refused."""
    return grpc.StatusCode.UNAVAILABLE if who in (PLAINTEXT, NO_CERTIFICATE) else grpc.StatusCode.PERMISSION_DENIED


def unexpected_codes(rf: RunningFleet, attacks: list[Attack]) -> dict[tuple[str, str], grpc.StatusCode]:
    """Every attempt of every attack whose status is not the refusal expected of it (empty: all refused)."""
    return {
        (attack.method, who): code
        for attack in attacks
        for who, code in attempts(rf, attack)
        if code is not expected_code(who)
    }
