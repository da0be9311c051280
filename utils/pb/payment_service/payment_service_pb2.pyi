from utils.pb.twopc import twopc_pb2 as _twopc_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Vote(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOTE_UNSPECIFIED: _ClassVar[Vote]
    VOTE_COMMIT: _ClassVar[Vote]
    VOTE_ABORT: _ClassVar[Vote]

class PaymentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_STATE_NONE: _ClassVar[PaymentState]
    PAYMENT_STATE_PREPARED: _ClassVar[PaymentState]
    PAYMENT_STATE_CAPTURED: _ClassVar[PaymentState]
    PAYMENT_STATE_VOIDED: _ClassVar[PaymentState]
VOTE_UNSPECIFIED: Vote
VOTE_COMMIT: Vote
VOTE_ABORT: Vote
PAYMENT_STATE_NONE: PaymentState
PAYMENT_STATE_PREPARED: PaymentState
PAYMENT_STATE_CAPTURED: PaymentState
PAYMENT_STATE_VOIDED: PaymentState

class TokenizeRequest(_message.Message):
    __slots__ = ("card_number", "expiration_date", "order_id", "amount_cents_max")
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_DATE_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_MAX_FIELD_NUMBER: _ClassVar[int]
    card_number: str
    expiration_date: str
    order_id: str
    amount_cents_max: int
    def __init__(self, card_number: _Optional[str] = ..., expiration_date: _Optional[str] = ..., order_id: _Optional[str] = ..., amount_cents_max: _Optional[int] = ...) -> None: ...

class TokenizeReply(_message.Message):
    __slots__ = ("token", "card_last4")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CARD_LAST4_FIELD_NUMBER: _ClassVar[int]
    token: str
    card_last4: str
    def __init__(self, token: _Optional[str] = ..., card_last4: _Optional[str] = ...) -> None: ...

class PrepareRequest(_message.Message):
    __slots__ = ("tx_id", "token", "amount_cents", "coordinator_term", "incarnation")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    COORDINATOR_TERM_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    token: str
    amount_cents: int
    coordinator_term: int
    incarnation: str
    def __init__(self, tx_id: _Optional[str] = ..., token: _Optional[str] = ..., amount_cents: _Optional[int] = ..., coordinator_term: _Optional[int] = ..., incarnation: _Optional[str] = ...) -> None: ...

class PrepareReply(_message.Message):
    __slots__ = ("vote", "reason", "state")
    VOTE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    vote: Vote
    reason: str
    state: PaymentState
    def __init__(self, vote: _Optional[_Union[Vote, str]] = ..., reason: _Optional[str] = ..., state: _Optional[_Union[PaymentState, str]] = ...) -> None: ...

class DecisionRequest(_message.Message):
    __slots__ = ("tx_id", "coordinator_term", "incarnation")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    COORDINATOR_TERM_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    coordinator_term: int
    incarnation: str
    def __init__(self, tx_id: _Optional[str] = ..., coordinator_term: _Optional[int] = ..., incarnation: _Optional[str] = ...) -> None: ...

class DecisionReply(_message.Message):
    __slots__ = ("state", "changed")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    state: PaymentState
    changed: bool
    def __init__(self, state: _Optional[_Union[PaymentState, str]] = ..., changed: _Optional[bool] = ...) -> None: ...

class GetPaymentRequest(_message.Message):
    __slots__ = ("tx_id",)
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    def __init__(self, tx_id: _Optional[str] = ...) -> None: ...

class Payment(_message.Message):
    __slots__ = ("tx_id", "state", "amount_cents", "card_last4", "reason", "coordinator_term", "updated_at")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    CARD_LAST4_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    COORDINATOR_TERM_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    state: PaymentState
    amount_cents: int
    card_last4: str
    reason: str
    coordinator_term: int
    updated_at: float
    def __init__(self, tx_id: _Optional[str] = ..., state: _Optional[_Union[PaymentState, str]] = ..., amount_cents: _Optional[int] = ..., card_last4: _Optional[str] = ..., reason: _Optional[str] = ..., coordinator_term: _Optional[int] = ..., updated_at: _Optional[float] = ...) -> None: ...
