"""The HTTP request bodies as pydantic models: types are checked here (wrong type → 400 naming the field),
validity (a real book, a good card) is the validation flow's job (→ 200 "Order Rejected").

Missing fields are allowed and become empty values, so the flow can reject them with the course's words.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, model_validator

from orchestrator.problems import Problem
from utils.catalog import Catalog
from utils.order.order import ITEMS_MAX, Address, Order, resolve_item
from utils.order.order import CreditCard as OrderCard
from utils.order.order import User as OrderUser

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1  # the wire's int32: beyond it a number is malformed, not just invalid

M = TypeVar("M", bound=BaseModel)


# String fields by what they hold: longer → 400 naming the field, before any work (so no stored or echoed reason
# carries more of what the shopper sent than these bounds).
Name = Annotated[StrictStr, Field(max_length=200)]  # a person's name, a book's title, a street
Short = Annotated[StrictStr, Field(max_length=100)]  # a city, a state, a country
Code = Annotated[StrictStr, Field(max_length=32)]  # a zip code, a shipping method
BookId = Annotated[StrictStr, Field(max_length=64)]
Contact = Annotated[StrictStr, Field(max_length=254)]  # the longest e-mail address (RFC 5321)
CardNumber = Annotated[StrictStr, Field(max_length=32)]  # 19 digits at most, with room for spaces or dashes
CardShort = Annotated[StrictStr, Field(max_length=16)]  # an expiry date, a CVV
Quantity = Annotated[StrictInt, Field(ge=INT32_MIN, le=INT32_MAX)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class CheckoutItem(_Body):
    name: Name | None = None
    bookId: BookId | None = None
    quantity: Quantity  # 1..100 is the validation flow's rule (→ "Order Rejected"); outside int32 → 400 here

    @model_validator(mode="after")
    def _names_a_book(self) -> CheckoutItem:
        if not (self.name or self.bookId):
            raise ValueError("an item names its book by 'name' or 'bookId'")
        return self


class User(_Body):
    name: Name | None = None
    contact: Contact | None = None


class CreditCard(_Body):
    number: CardNumber | None = None
    expirationDate: CardShort | None = None
    cvv: CardShort | None = None


class BillingAddress(_Body):
    street: Name | None = None
    city: Short | None = None
    state: Short | None = None
    zip: Code | None = None
    country: Short | None = None


class CheckoutRequest(_Body):
    items: Annotated[list[CheckoutItem], Field(max_length=ITEMS_MAX)] | None = None
    user: User | None = None
    creditCard: CreditCard | None = None
    billingAddress: BillingAddress | None = None
    shippingMethod: Code | None = None
    giftWrapping: StrictBool | None = None
    termsAndConditionsAccepted: StrictBool | None = None
    termsAccepted: StrictBool | None = None  # the course frontend's spelling

    def terms_accepted(self) -> bool:
        if self.termsAndConditionsAccepted is not None:
            return self.termsAndConditionsAccepted
        return bool(self.termsAccepted)

    def to_order(self, order_id: str, catalog: Catalog) -> Order:
        """The domain order: missing text is "", each item resolved against the catalog here, once."""
        user, card, address = (
            self.user or User(),
            self.creditCard or CreditCard(),
            self.billingAddress or BillingAddress(),
        )
        return Order(
            order_id=order_id,
            items=tuple(
                resolve_item(catalog, item.bookId or "", item.name or "", item.quantity) for item in self.items or []
            ),
            user=OrderUser(name=user.name or "", contact=user.contact or ""),
            credit_card=OrderCard(
                number=card.number or "", expiration_date=card.expirationDate or "", cvv=card.cvv or ""
            ),
            billing_address=Address(
                street=address.street or "",
                city=address.city or "",
                state=address.state or "",
                zip=address.zip or "",
                country=address.country or "",
            ),
            shipping_method=self.shippingMethod or "standard",
            gift_wrapping=bool(self.giftWrapping),
            terms_accepted=self.terms_accepted(),
        )


class StockIncrementRequest(_Body):
    book_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    amount: Annotated[StrictInt, Field(ge=1, le=1_000_000)]


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, whatever the Content-Type header says (the course frontend sends none)."""
    if not raw.strip():
        raise invalid_request("the request body is empty: send a JSON object")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise invalid_request(f"the request body is not valid JSON ({_short(error)})") from None
    if not isinstance(value, dict):
        raise invalid_request(f"the request body must be a JSON object, not {_json_type(value)}")
    return value


def parse_model(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = [
            {"field": field_path(e["loc"]), "message": e["msg"].removeprefix("Value error, ")}
            for e in error.errors(include_input=False)
        ]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        raise invalid_request(detail, fields) from None


def invalid_request(detail: str, fields: list[dict[str, str]] | None = None) -> Problem:
    extra = {"errors": fields} if fields else None
    return Problem(400, "INVALID_REQUEST", "Invalid request", detail, extra=extra)


def field_path(loc: tuple[int | str, ...]) -> str:
    """('items', 0, 'quantity') → 'items[0].quantity'; the frontend shows the message at that field."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _short(error: Exception) -> str:
    return "nested too deeply" if isinstance(error, RecursionError) else str(error).split(":")[0]


def _json_type(value: object) -> str:
    return {
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), "something else")
