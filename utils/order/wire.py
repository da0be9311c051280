"""Converts `Order` to and from its two protos: `common_pb2.OrderData` (the validation flow) and
`order_queue_pb2.Order` (the queue and the executor). The only place an order changes form.

Called at the edges only (servicers, clients); a peer's order longer than ITEMS_MAX is refused with ValueError.
"""

from __future__ import annotations

from collections.abc import Sized

from utils.order.order import ITEMS_MAX, Address, CreditCard, Order, OrderItem, User
from utils.pb.common import common_pb2
from utils.pb.order_queue import order_queue_pb2 as queue_pb

INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1


def _clamped(value: int, bound: int) -> int:
    # Out-of-range quantities are clamped, not refused: the quantity rule (1..100) rejects them with a reason.
    return max(-bound, min(bound, value))


def _check_length(items: Sized) -> None:
    if len(items) > ITEMS_MAX:
        raise ValueError(f"an order may have at most {ITEMS_MAX} items")


# --- the validation flow's OrderData -----------------------------------------------------------------


def order_to_proto(order: Order) -> common_pb2.OrderData:
    _check_length(order.items)
    card, address = order.credit_card, order.billing_address
    return common_pb2.OrderData(
        items=[
            common_pb2.OrderItem(
                book_id=i.asked_id,
                name=i.asked_title,
                quantity=_clamped(i.quantity, INT64_MAX),
                catalog_id=i.book_id,
                title=i.title,
                unit_price_cents=i.unit_price_cents,
            )
            for i in order.items
        ],
        user=common_pb2.User(name=order.user.name, contact=order.user.contact),
        credit_card=common_pb2.CreditCard(number=card.number, expiration_date=card.expiration_date, cvv=card.cvv),
        billing_address=common_pb2.Address(
            street=address.street, city=address.city, state=address.state, zip=address.zip, country=address.country
        ),
        shipping_method=order.shipping_method,
        gift_wrapping=order.gift_wrapping,
        terms_accepted=order.terms_accepted,
    )


def order_from_proto(message: common_pb2.OrderData, order_id: str = "") -> Order:
    """A peer's order; raises ValueError when it is too long to be a cart."""
    _check_length(message.items)
    card, address = message.credit_card, message.billing_address
    return Order(
        order_id=order_id,
        items=tuple(
            OrderItem(i.quantity, i.catalog_id, i.title, i.unit_price_cents, i.book_id, i.name) for i in message.items
        ),
        user=User(name=message.user.name, contact=message.user.contact),
        credit_card=CreditCard(number=card.number, expiration_date=card.expiration_date, cvv=card.cvv),
        billing_address=Address(
            street=address.street, city=address.city, state=address.state, zip=address.zip, country=address.country
        ),
        shipping_method=message.shipping_method,
        gift_wrapping=message.gift_wrapping,
        terms_accepted=message.terms_accepted,
    )


# --- the queue's Order: never a card number or CVV ------------------------------------------------------


def order_to_queue_proto(order: Order) -> queue_pb.Order:
    """The queue's form: the card's last four and token only (the proto has no field for more)."""
    _check_length(order.items)
    return queue_pb.Order(
        order_id=order.order_id,
        # An unknown book keeps the name the shopper gave, so a rejected order's record still shows it.
        items=[
            queue_pb.OrderItem(
                book_id=i.book_id or i.asked_id,
                title=i.title or i.asked_title,
                quantity=_clamped(i.quantity, INT32_MAX),
                unit_price_cents=i.unit_price_cents,
            )
            for i in order.items
        ],
        user_name=order.user.name,
        user_contact=order.user.contact,
        shipping_method=order.shipping_method,
        gift_wrapping=order.gift_wrapping,
        billing_country=order.billing_address.country,
        payment_token=order.payment_token,
        card_last4=order.credit_card.last4,
        correlation_id=order.correlation_id,
    )


def order_from_queue_proto(message: queue_pb.Order) -> Order:
    """A queued order; raises ValueError when it is too long to be a cart."""
    _check_length(message.items)
    return Order(
        order_id=message.order_id,
        items=tuple(
            OrderItem(i.quantity, i.book_id, i.title, i.unit_price_cents, asked_id=i.book_id) for i in message.items
        ),
        user=User(name=message.user_name, contact=message.user_contact),
        credit_card=CreditCard(last4=message.card_last4),
        billing_address=Address(country=message.billing_country),
        shipping_method=message.shipping_method,
        gift_wrapping=message.gift_wrapping,
        payment_token=message.payment_token,
        correlation_id=message.correlation_id,
    )
