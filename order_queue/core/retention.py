"""How long the queue keeps personal data (a buyer's name, contact and billing address): docs/operations.md.

Pure: which orders are due (enqueued longer ago than the retention setting) and what an order keeps afterwards
(everything GET /orders and the executor need: items, total, state, the token and the card's last four).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from utils.order.order import Address, Order, User

DAY_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Retention:
    personal_data_s: float = 7 * DAY_S  # ORDER_QUEUE_PERSONAL_DATA_RETENTION_S
    scan_every_s: float = 60.0  # how often the purge runs; an order is kept at most this much longer
    batch_max: int = 500  # orders redacted per scan (the rest next scan)

    def __post_init__(self) -> None:
        if self.personal_data_s <= 0 or self.scan_every_s <= 0 or self.batch_max < 1:
            raise ValueError("retention, scan interval and batch must be positive")

    def cutoff(self, now: float) -> float:
        """Orders enqueued before this instant have outlived the retention: their personal data goes."""
        return now - self.personal_data_s


def redact(order: Order) -> Order:
    """The order without personal data. The executor never needs it (it prices items and charges the token), and
    by the time an order is this old its validation is long over."""
    return replace(order, user=User(), billing_address=Address())


def has_personal_data(order: Order) -> bool:
    return order.user != User() or order.billing_address != Address()
