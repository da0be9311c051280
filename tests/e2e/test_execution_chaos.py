"""Chaos: SIGKILL every order executor and every books-database replica at random moments while checkouts
run, restart them all, and check I1–I5 for every order id the gateway returned.

The seed is printed; CHAOS_SEED=<seed> replays the same kill schedule.
"""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from testing.fleet_env import FLEET_ENV, FULL
from testing.local_fleet import Shop, running_fleet
from tests.e2e.execution import DATABASES, EXECUTORS, book

pytestmark = [pytest.mark.fleet, pytest.mark.timeout(240)]
CHECKOUTS = 20


def test_sigkill_every_executor_and_database_replica_while_checkouts_run(tmp_path: Path) -> None:
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(2**32))
    print(f"CHAOS_SEED={seed}")
    rng = random.Random(seed)
    with running_fleet(tmp_path, only=FULL, extra_env=FLEET_ENV) as rf:
        shop = Shop(rf)
        shop.executor_leader()
        scarce_id, scarce_title, scarce_stock = book(26)  # 8 copies: about 20 asked, so some must abort
        plenty_id, plenty_title, plenty_stock = book(21)
        before = {scarce_id: scarce_stock, plenty_id: plenty_stock}
        plan = [
            (rng.choice([scarce_title, plenty_title]), rng.randint(1, 3), rng.uniform(0, 1.5)) for _ in range(CHECKOUTS)
        ]

        def place(title: str, quantity: int, delay_s: float) -> str | None:
            time.sleep(delay_s)
            try:
                return shop.checkout(title, quantity)
            except AssertionError:  # a checkout the gateway refused (e.g. 503) placed no order
                return None

        victims = [*EXECUTORS, *DATABASES]
        rng.shuffle(victims)
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(place, *step) for step in plan]
            for name in victims:
                time.sleep(rng.uniform(0.0, 0.3))
                rf.fleet.kill(name)
            time.sleep(rng.uniform(0.2, 1.0))
            for name in victims:
                rf.fleet.start(name)
            order_ids = [oid for oid in (f.result() for f in futures) if oid is not None]
        healed = time.monotonic()
        assert len(order_ids) >= CHECKOUTS // 2, "the gateway kept taking orders"
        orders = shop.check_invariants(order_ids, before, timeout_s=60)
        print(
            f"{len(order_ids)} orders final {time.monotonic() - healed:.1f} s after the restart: "
            f"{sum(o['state'] == 'COMMITTED' for o in orders.values())} committed"
        )
        shop.close()
