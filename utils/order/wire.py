"""Converts the checkout order between the orchestrator's JSON, the proto `OrderData` and `Order`.

The JSON is already well-formed (the orchestrator checks types); missing parts become empty values,
which the validation rules then reject with a reason.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from utils.order.order import Address, CreditCard, Order, OrderItem, User
from utils.pb.common import common_pb2

INT64_MAX = 2**63 - 1
ITEMS_MAX = 1000   # a cart longer than this is refused before it reaches a service


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _quantity(value: Any) -> int:
    # Out-of-range numbers are clamped, not refused: the quantity rule (1..100) rejects them with a reason.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(-INT64_MAX, min(INT64_MAX, int(value)))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def order_from_json(body: Mapping[str, Any]) -> Order:
    """The checkout JSON of docs/design.md §7 (items by "name" or "bookId"; either spelling of terms accepted)."""
    raw_items = body.get("items") or []
    if not isinstance(raw_items, list):
        raw_items = []
    if len(raw_items) > ITEMS_MAX:
        raise ValueError(f"an order may have at most {ITEMS_MAX} items")
    items = tuple(OrderItem(book_id=_text(_mapping(i).get("bookId")), name=_text(_mapping(i).get("name")),
                            quantity=_quantity(_mapping(i).get("quantity"))) for i in raw_items)
    user, card, address = _mapping(body.get("user")), _mapping(body.get("creditCard")), _mapping(body.get("billingAddress"))
    terms = body.get("termsAndConditionsAccepted", body.get("termsAccepted", False))
    return Order(
        items=items,
        user=User(name=_text(user.get("name")), contact=_text(user.get("contact"))),
        credit_card=CreditCard(number=_text(card.get("number")), expiration_date=_text(card.get("expirationDate")),
                               cvv=_text(card.get("cvv"))),
        billing_address=Address(street=_text(address.get("street")), city=_text(address.get("city")),
                                state=_text(address.get("state")), zip=_text(address.get("zip")),
                                country=_text(address.get("country"))),
        shipping_method=_text(body.get("shippingMethod")),
        gift_wrapping=body.get("giftWrapping") is True,
        terms_accepted=terms is True,
    )


def order_to_proto(order: Order) -> common_pb2.OrderData:
    card, address = order.credit_card, order.billing_address
    return common_pb2.OrderData(
        items=[common_pb2.OrderItem(book_id=i.book_id, name=i.name, quantity=i.quantity) for i in order.items],
        user=common_pb2.User(name=order.user.name, contact=order.user.contact),
        credit_card=common_pb2.CreditCard(number=card.number, expiration_date=card.expiration_date, cvv=card.cvv),
        billing_address=common_pb2.Address(street=address.street, city=address.city, state=address.state,
                                           zip=address.zip, country=address.country),
        shipping_method=order.shipping_method,
        gift_wrapping=order.gift_wrapping,
        terms_accepted=order.terms_accepted,
    )


def order_from_proto(message: common_pb2.OrderData) -> Order:
    """A peer's order; raises ValueError when it is too long to be a cart."""
    if len(message.items) > ITEMS_MAX:
        raise ValueError(f"an order may have at most {ITEMS_MAX} items")
    card, address = message.credit_card, message.billing_address
    return Order(
        items=tuple(OrderItem(book_id=i.book_id, name=i.name, quantity=i.quantity) for i in message.items),
        user=User(name=message.user.name, contact=message.user.contact),
        credit_card=CreditCard(number=card.number, expiration_date=card.expiration_date, cvv=card.cvv),
        billing_address=Address(street=address.street, city=address.city, state=address.state, zip=address.zip,
                                country=address.country),
        shipping_method=message.shipping_method,
        gift_wrapping=message.gift_wrapping,
        terms_accepted=message.terms_accepted,
    )
