"""Every test process presents the harness's fleet certificates (testing/pki.py): services and clients built in a
test run over mutual TLS, as in the fleet.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testing.pki import harness_trust
from utils.rpc.trust import install_trust


@pytest.fixture(autouse=True, scope="session")
def fleet_trust() -> Iterator[None]:
    install_trust(harness_trust())
    yield
    install_trust(None)
