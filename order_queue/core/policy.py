"""The queue's priority policy: which waiting order goes first (docs/design.md §3), with aging so none starves.

Pure: the time an order was enqueued and the time "now" come in as arguments (seconds).

Base priority = points for quantity (capped) + points for shipping speed + points for gift wrap.
Effective priority at time t = base + aging_points_per_s · (t − enqueued_at): every waiting order
gains the same points per second, so an old order overtakes newer, more urgent ones.

Why a static key is enough: because the aging rate is the same for every order, comparing two
orders' effective priorities at any time t compares
    base₁ + r·(t − e₁)  vs  base₂ + r·(t − e₂)   ⇔   base₁ − r·e₁  vs  base₂ − r·e₂
— `t` cancels. So the order of the queue never changes with time, and `rank_key = base − r·e`
can be stored once per order and indexed (SQLite serves "highest key first" from the index, no
rescoring). Ties on the key keep arrival order (the store's sequence number breaks them).

No starvation, with a bound: a new order's key is at most base_max − r·e_new. An order X with
key base_X − r·e_X ranks above every order enqueued more than (base_max − base_X) / r seconds
after it; so X waits behind at most the orders of that window plus those ahead of it already.
That needs a bounded base priority, hence the cap on quantity points (`quantity_points_max`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Shipping(Enum):
    STANDARD = "standard"
    PRIORITY = "priority"
    EXPRESS = "express"

    @classmethod
    def parse(cls, text: str) -> Shipping:
        """Unknown or empty shipping methods rank as standard (the slowest), never as an error."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            return cls.STANDARD


@dataclass(frozen=True, slots=True)
class OrderFeatures:
    """What the policy looks at in an order."""

    quantity_total: int
    shipping: Shipping
    gift_wrapping: bool

    def __post_init__(self) -> None:
        if self.quantity_total < 0:
            raise ValueError("quantity_total must be >= 0")


@dataclass(frozen=True, slots=True)
class PriorityPolicy:
    """Weights of the policy; every bound named with its unit."""

    points_per_copy: float = 1.0
    quantity_points_max: float = 20.0  # caps the quantity bonus so the base priority is bounded
    express_points: float = 20.0
    priority_points: float = 10.0
    gift_wrap_points: float = 5.0
    aging_points_per_s: float = 1.0  # waiting 1 s is worth one copy more

    def __post_init__(self) -> None:
        if self.aging_points_per_s <= 0:
            raise ValueError("aging_points_per_s must be > 0, or orders could starve")
        for name in ("points_per_copy", "quantity_points_max", "express_points", "priority_points", "gift_wrap_points"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    def base_priority(self, features: OrderFeatures) -> float:
        quantity_points = min(self.quantity_points_max, self.points_per_copy * features.quantity_total)
        shipping_points = {
            Shipping.EXPRESS: self.express_points,
            Shipping.PRIORITY: self.priority_points,
            Shipping.STANDARD: 0.0,
        }[features.shipping]
        gift_points = self.gift_wrap_points if features.gift_wrapping else 0.0
        return quantity_points + shipping_points + gift_points

    def base_priority_max(self) -> float:
        return self.quantity_points_max + max(self.express_points, self.priority_points) + self.gift_wrap_points

    def rank_key(self, base_priority: float, enqueued_at_s: float) -> float:
        """The static sort key: higher goes first (see the module docstring for why it is static)."""
        return base_priority - self.aging_points_per_s * enqueued_at_s

    def effective_priority(self, base_priority: float, enqueued_at_s: float, now_s: float) -> float:
        assert now_s >= enqueued_at_s - 1e-6, "an order cannot be looked at before it was enqueued"
        return base_priority + self.aging_points_per_s * (now_s - enqueued_at_s)

    def overtake_window_s(self, base_priority: float) -> float:
        """Orders enqueued more than this many seconds after one with `base_priority` rank below it."""
        return (self.base_priority_max() - base_priority) / self.aging_points_per_s


@dataclass(frozen=True, slots=True)
class Ranked:
    """A waiting order as the policy orders it: by key descending, then arrival (seq) ascending."""

    order_id: str
    key: float
    seq: int


def sort_for_service(orders: list[Ranked]) -> list[Ranked]:
    """The service order of waiting orders — the same order the store's index gives."""
    return sorted(orders, key=lambda r: (-r.key, r.seq))
