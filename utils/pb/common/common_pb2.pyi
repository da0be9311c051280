from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Delivery(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_UNSPECIFIED: _ClassVar[Delivery]
    DELIVERY_RUN: _ClassVar[Delivery]
    DELIVERY_HELD: _ClassVar[Delivery]
    DELIVERY_DUPLICATE: _ClassVar[Delivery]
    DELIVERY_STOPPED: _ClassVar[Delivery]

class ClearOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLEAR_OUTCOME_UNSPECIFIED: _ClassVar[ClearOutcome]
    CLEAR_OUTCOME_CLEARED: _ClassVar[ClearOutcome]
    CLEAR_OUTCOME_CONFLICT: _ClassVar[ClearOutcome]
    CLEAR_OUTCOME_UNKNOWN_ORDER: _ClassVar[ClearOutcome]
DELIVERY_UNSPECIFIED: Delivery
DELIVERY_RUN: Delivery
DELIVERY_HELD: Delivery
DELIVERY_DUPLICATE: Delivery
DELIVERY_STOPPED: Delivery
CLEAR_OUTCOME_UNSPECIFIED: ClearOutcome
CLEAR_OUTCOME_CLEARED: ClearOutcome
CLEAR_OUTCOME_CONFLICT: ClearOutcome
CLEAR_OUTCOME_UNKNOWN_ORDER: ClearOutcome

class VectorClock(_message.Message):
    __slots__ = ("counters",)
    class CountersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    counters: _containers.ScalarMap[str, int]
    def __init__(self, counters: _Optional[_Mapping[str, int]] = ...) -> None: ...

class OrderItem(_message.Message):
    __slots__ = ("book_id", "name", "quantity", "catalog_id", "title", "unit_price_cents")
    BOOK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    CATALOG_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_CENTS_FIELD_NUMBER: _ClassVar[int]
    book_id: str
    name: str
    quantity: int
    catalog_id: str
    title: str
    unit_price_cents: int
    def __init__(self, book_id: _Optional[str] = ..., name: _Optional[str] = ..., quantity: _Optional[int] = ..., catalog_id: _Optional[str] = ..., title: _Optional[str] = ..., unit_price_cents: _Optional[int] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("name", "contact")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    name: str
    contact: str
    def __init__(self, name: _Optional[str] = ..., contact: _Optional[str] = ...) -> None: ...

class CreditCard(_message.Message):
    __slots__ = ("number", "expiration_date", "cvv")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_DATE_FIELD_NUMBER: _ClassVar[int]
    CVV_FIELD_NUMBER: _ClassVar[int]
    number: str
    expiration_date: str
    cvv: str
    def __init__(self, number: _Optional[str] = ..., expiration_date: _Optional[str] = ..., cvv: _Optional[str] = ...) -> None: ...

class Address(_message.Message):
    __slots__ = ("street", "city", "state", "zip", "country")
    STREET_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ZIP_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    street: str
    city: str
    state: str
    zip: str
    country: str
    def __init__(self, street: _Optional[str] = ..., city: _Optional[str] = ..., state: _Optional[str] = ..., zip: _Optional[str] = ..., country: _Optional[str] = ...) -> None: ...

class OrderData(_message.Message):
    __slots__ = ("items", "user", "credit_card", "billing_address", "shipping_method", "gift_wrapping", "terms_accepted")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CREDIT_CARD_FIELD_NUMBER: _ClassVar[int]
    BILLING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_METHOD_FIELD_NUMBER: _ClassVar[int]
    GIFT_WRAPPING_FIELD_NUMBER: _ClassVar[int]
    TERMS_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[OrderItem]
    user: User
    credit_card: CreditCard
    billing_address: Address
    shipping_method: str
    gift_wrapping: bool
    terms_accepted: bool
    def __init__(self, items: _Optional[_Iterable[_Union[OrderItem, _Mapping]]] = ..., user: _Optional[_Union[User, _Mapping]] = ..., credit_card: _Optional[_Union[CreditCard, _Mapping]] = ..., billing_address: _Optional[_Union[Address, _Mapping]] = ..., shipping_method: _Optional[str] = ..., gift_wrapping: _Optional[bool] = ..., terms_accepted: _Optional[bool] = ...) -> None: ...

class InitOrderRequest(_message.Message):
    __slots__ = ("order_id", "order", "budget_ms")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    BUDGET_MS_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    order: OrderData
    budget_ms: int
    def __init__(self, order_id: _Optional[str] = ..., order: _Optional[_Union[OrderData, _Mapping]] = ..., budget_ms: _Optional[int] = ...) -> None: ...

class InitOrderResponse(_message.Message):
    __slots__ = ("clock", "record")
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    clock: VectorClock
    record: FlowEventRecord
    def __init__(self, clock: _Optional[_Union[VectorClock, _Mapping]] = ..., record: _Optional[_Union[FlowEventRecord, _Mapping]] = ...) -> None: ...

class EventRequest(_message.Message):
    __slots__ = ("order_id", "clock", "budget_ms", "trace")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    BUDGET_MS_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    clock: VectorClock
    budget_ms: int
    trace: _containers.RepeatedCompositeFieldContainer[FlowEventRecord]
    def __init__(self, order_id: _Optional[str] = ..., clock: _Optional[_Union[VectorClock, _Mapping]] = ..., budget_ms: _Optional[int] = ..., trace: _Optional[_Iterable[_Union[FlowEventRecord, _Mapping]]] = ...) -> None: ...

class FlowEventRecord(_message.Message):
    __slots__ = ("service", "event", "clock", "at_s", "held", "arrived_at_s", "ran_at_s", "passed", "reasons")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    AT_S_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    ARRIVED_AT_S_FIELD_NUMBER: _ClassVar[int]
    RAN_AT_S_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    service: str
    event: str
    clock: VectorClock
    at_s: float
    held: bool
    arrived_at_s: float
    ran_at_s: float
    passed: bool
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, service: _Optional[str] = ..., event: _Optional[str] = ..., clock: _Optional[_Union[VectorClock, _Mapping]] = ..., at_s: _Optional[float] = ..., held: _Optional[bool] = ..., arrived_at_s: _Optional[float] = ..., ran_at_s: _Optional[float] = ..., passed: _Optional[bool] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class EventAck(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: Delivery
    def __init__(self, delivery: _Optional[_Union[Delivery, str]] = ...) -> None: ...

class ClearOrderRequest(_message.Message):
    __slots__ = ("order_id", "final_clock", "correlation_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    FINAL_CLOCK_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    final_clock: VectorClock
    correlation_id: str
    def __init__(self, order_id: _Optional[str] = ..., final_clock: _Optional[_Union[VectorClock, _Mapping]] = ..., correlation_id: _Optional[str] = ...) -> None: ...

class ClearOrdersRequest(_message.Message):
    __slots__ = ("orders",)
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[ClearOrderRequest]
    def __init__(self, orders: _Optional[_Iterable[_Union[ClearOrderRequest, _Mapping]]] = ...) -> None: ...

class ClearOrderResult(_message.Message):
    __slots__ = ("order_id", "outcome", "clock")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    outcome: ClearOutcome
    clock: VectorClock
    def __init__(self, order_id: _Optional[str] = ..., outcome: _Optional[_Union[ClearOutcome, str]] = ..., clock: _Optional[_Union[VectorClock, _Mapping]] = ...) -> None: ...

class ClearOrdersResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ClearOrderResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ClearOrderResult, _Mapping]]] = ...) -> None: ...

class SuggestedBook(_message.Message):
    __slots__ = ("book_id", "title", "author")
    BOOK_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    book_id: str
    title: str
    author: str
    def __init__(self, book_id: _Optional[str] = ..., title: _Optional[str] = ..., author: _Optional[str] = ...) -> None: ...
