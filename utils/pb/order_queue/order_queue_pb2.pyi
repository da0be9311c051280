from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATE_UNSPECIFIED: _ClassVar[OrderState]
    QUEUED: _ClassVar[OrderState]
    LEASED: _ClassVar[OrderState]
    EXECUTING: _ClassVar[OrderState]
    COMMITTED: _ClassVar[OrderState]
    ABORTED: _ClassVar[OrderState]
    REJECTED: _ClassVar[OrderState]
ORDER_STATE_UNSPECIFIED: OrderState
QUEUED: OrderState
LEASED: OrderState
EXECUTING: OrderState
COMMITTED: OrderState
ABORTED: OrderState
REJECTED: OrderState

class OrderItem(_message.Message):
    __slots__ = ("book_id", "title", "quantity", "unit_price_cents")
    BOOK_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_CENTS_FIELD_NUMBER: _ClassVar[int]
    book_id: str
    title: str
    quantity: int
    unit_price_cents: int
    def __init__(self, book_id: _Optional[str] = ..., title: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price_cents: _Optional[int] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("order_id", "items", "user_name", "user_contact", "shipping_method", "gift_wrapping", "billing_country", "payment_token", "card_last4", "enqueued_at", "priority", "correlation_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    USER_NAME_FIELD_NUMBER: _ClassVar[int]
    USER_CONTACT_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_METHOD_FIELD_NUMBER: _ClassVar[int]
    GIFT_WRAPPING_FIELD_NUMBER: _ClassVar[int]
    BILLING_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CARD_LAST4_FIELD_NUMBER: _ClassVar[int]
    ENQUEUED_AT_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    items: _containers.RepeatedCompositeFieldContainer[OrderItem]
    user_name: str
    user_contact: str
    shipping_method: str
    gift_wrapping: bool
    billing_country: str
    payment_token: str
    card_last4: str
    enqueued_at: float
    priority: float
    correlation_id: str
    def __init__(self, order_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[OrderItem, _Mapping]]] = ..., user_name: _Optional[str] = ..., user_contact: _Optional[str] = ..., shipping_method: _Optional[str] = ..., gift_wrapping: _Optional[bool] = ..., billing_country: _Optional[str] = ..., payment_token: _Optional[str] = ..., card_last4: _Optional[str] = ..., enqueued_at: _Optional[float] = ..., priority: _Optional[float] = ..., correlation_id: _Optional[str] = ...) -> None: ...

class EnqueueRequest(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class EnqueueReply(_message.Message):
    __slots__ = ("order", "created", "depth")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    order: Order
    created: bool
    depth: int
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., created: _Optional[bool] = ..., depth: _Optional[int] = ...) -> None: ...

class LeaseReply(_message.Message):
    __slots__ = ("order", "lease_id", "lease_expires_at")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    order: Order
    lease_id: str
    lease_expires_at: float
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., lease_id: _Optional[str] = ..., lease_expires_at: _Optional[float] = ...) -> None: ...

class AckRequest(_message.Message):
    __slots__ = ("order_id", "lease_id", "outcome", "reason", "total")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    lease_id: str
    outcome: OrderState
    reason: str
    total: str
    def __init__(self, order_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., outcome: _Optional[_Union[OrderState, str]] = ..., reason: _Optional[str] = ..., total: _Optional[str] = ...) -> None: ...

class NackRequest(_message.Message):
    __slots__ = ("order_id", "lease_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    lease_id: str
    def __init__(self, order_id: _Optional[str] = ..., lease_id: _Optional[str] = ...) -> None: ...

class NackReply(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: OrderState
    def __init__(self, state: _Optional[_Union[OrderState, str]] = ...) -> None: ...

class RecordRejectedRequest(_message.Message):
    __slots__ = ("order", "reason")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order: Order
    reason: str
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class RecordRejectedReply(_message.Message):
    __slots__ = ("created",)
    CREATED_FIELD_NUMBER: _ClassVar[int]
    created: bool
    def __init__(self, created: _Optional[bool] = ...) -> None: ...

class SetStateRequest(_message.Message):
    __slots__ = ("order_id", "state", "reason", "lease_id", "total")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    state: OrderState
    reason: str
    lease_id: str
    total: str
    def __init__(self, order_id: _Optional[str] = ..., state: _Optional[_Union[OrderState, str]] = ..., reason: _Optional[str] = ..., lease_id: _Optional[str] = ..., total: _Optional[str] = ...) -> None: ...

class SetStateReply(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: OrderState
    def __init__(self, state: _Optional[_Union[OrderState, str]] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class OrderRecord(_message.Message):
    __slots__ = ("order", "state", "reason", "total", "updated_at", "attempts")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    order: Order
    state: OrderState
    reason: str
    total: str
    updated_at: float
    attempts: int
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., state: _Optional[_Union[OrderState, str]] = ..., reason: _Optional[str] = ..., total: _Optional[str] = ..., updated_at: _Optional[float] = ..., attempts: _Optional[int] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatsReply(_message.Message):
    __slots__ = ("depth", "leased", "depth_max")
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    LEASED_FIELD_NUMBER: _ClassVar[int]
    DEPTH_MAX_FIELD_NUMBER: _ClassVar[int]
    depth: int
    leased: int
    depth_max: int
    def __init__(self, depth: _Optional[int] = ..., leased: _Optional[int] = ..., depth_max: _Optional[int] = ...) -> None: ...

class LeaseBatchRequest(_message.Message):
    __slots__ = ("worker_id", "lease_s", "count_max", "wait_s")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_S_FIELD_NUMBER: _ClassVar[int]
    COUNT_MAX_FIELD_NUMBER: _ClassVar[int]
    WAIT_S_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    lease_s: float
    count_max: int
    wait_s: float
    def __init__(self, worker_id: _Optional[str] = ..., lease_s: _Optional[float] = ..., count_max: _Optional[int] = ..., wait_s: _Optional[float] = ...) -> None: ...

class LeaseBatchReply(_message.Message):
    __slots__ = ("leases",)
    LEASES_FIELD_NUMBER: _ClassVar[int]
    leases: _containers.RepeatedCompositeFieldContainer[LeaseReply]
    def __init__(self, leases: _Optional[_Iterable[_Union[LeaseReply, _Mapping]]] = ...) -> None: ...

class AckBatchRequest(_message.Message):
    __slots__ = ("acks",)
    ACKS_FIELD_NUMBER: _ClassVar[int]
    acks: _containers.RepeatedCompositeFieldContainer[AckRequest]
    def __init__(self, acks: _Optional[_Iterable[_Union[AckRequest, _Mapping]]] = ...) -> None: ...

class AckResult(_message.Message):
    __slots__ = ("state", "code", "detail")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    state: OrderState
    code: int
    detail: str
    def __init__(self, state: _Optional[_Union[OrderState, str]] = ..., code: _Optional[int] = ..., detail: _Optional[str] = ...) -> None: ...

class AckBatchReply(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AckResult]
    def __init__(self, results: _Optional[_Iterable[_Union[AckResult, _Mapping]]] = ...) -> None: ...
