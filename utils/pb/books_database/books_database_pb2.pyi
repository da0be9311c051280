from utils.pb.twopc import twopc_pb2 as _twopc_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASON_UNSPECIFIED: _ClassVar[Reason]
    UNKNOWN_BOOK: _ClassVar[Reason]
    INSUFFICIENT_STOCK: _ClassVar[Reason]
    ALREADY_ABORTED: _ClassVar[Reason]
    STALE_TERM: _ClassVar[Reason]
    UNKNOWN_TRANSACTION: _ClassVar[Reason]
    CONFLICT: _ClassVar[Reason]
    MALFORMED_COMMAND: _ClassVar[Reason]
    INCARNATION_CHANGED: _ClassVar[Reason]

class Vote(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOTE_UNSPECIFIED: _ClassVar[Vote]
    VOTE_COMMIT: _ClassVar[Vote]
    VOTE_ABORT: _ClassVar[Vote]

class TransactionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSACTION_STATE_UNSPECIFIED: _ClassVar[TransactionState]
    PREPARED: _ClassVar[TransactionState]
    COMMITTED: _ClassVar[TransactionState]
    ABORTED: _ClassVar[TransactionState]
REASON_UNSPECIFIED: Reason
UNKNOWN_BOOK: Reason
INSUFFICIENT_STOCK: Reason
ALREADY_ABORTED: Reason
STALE_TERM: Reason
UNKNOWN_TRANSACTION: Reason
CONFLICT: Reason
MALFORMED_COMMAND: Reason
INCARNATION_CHANGED: Reason
VOTE_UNSPECIFIED: Vote
VOTE_COMMIT: Vote
VOTE_ABORT: Vote
TRANSACTION_STATE_UNSPECIFIED: TransactionState
PREPARED: TransactionState
COMMITTED: TransactionState
ABORTED: TransactionState

class Book(_message.Message):
    __slots__ = ("id", "title", "author", "category", "price", "stock", "reserved", "available")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    author: str
    category: str
    price: str
    stock: int
    reserved: int
    available: int
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., author: _Optional[str] = ..., category: _Optional[str] = ..., price: _Optional[str] = ..., stock: _Optional[int] = ..., reserved: _Optional[int] = ..., available: _Optional[int] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("book_id", "quantity")
    BOOK_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    book_id: str
    quantity: int
    def __init__(self, book_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class ReadStockRequest(_message.Message):
    __slots__ = ("book_id",)
    BOOK_ID_FIELD_NUMBER: _ClassVar[int]
    book_id: str
    def __init__(self, book_id: _Optional[str] = ...) -> None: ...

class ReadStockResponse(_message.Message):
    __slots__ = ("book_id", "stock", "reserved", "available")
    BOOK_ID_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    book_id: str
    stock: int
    reserved: int
    available: int
    def __init__(self, book_id: _Optional[str] = ..., stock: _Optional[int] = ..., reserved: _Optional[int] = ..., available: _Optional[int] = ...) -> None: ...

class ListBooksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListBooksResponse(_message.Message):
    __slots__ = ("books",)
    BOOKS_FIELD_NUMBER: _ClassVar[int]
    books: _containers.RepeatedCompositeFieldContainer[Book]
    def __init__(self, books: _Optional[_Iterable[_Union[Book, _Mapping]]] = ...) -> None: ...

class StockChangeRequest(_message.Message):
    __slots__ = ("book_id", "amount", "request_id")
    BOOK_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    book_id: str
    amount: int
    request_id: str
    def __init__(self, book_id: _Optional[str] = ..., amount: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class StockChangeResponse(_message.Message):
    __slots__ = ("success", "book_id", "stock", "reserved", "available", "reason")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    BOOK_ID_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    success: bool
    book_id: str
    stock: int
    reserved: int
    available: int
    reason: Reason
    def __init__(self, success: _Optional[bool] = ..., book_id: _Optional[str] = ..., stock: _Optional[int] = ..., reserved: _Optional[int] = ..., available: _Optional[int] = ..., reason: _Optional[_Union[Reason, str]] = ...) -> None: ...

class PrepareRequest(_message.Message):
    __slots__ = ("tx_id", "items", "coordinator_term", "incarnation")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    COORDINATOR_TERM_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    items: _containers.RepeatedCompositeFieldContainer[Item]
    coordinator_term: int
    incarnation: str
    def __init__(self, tx_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[Item, _Mapping]]] = ..., coordinator_term: _Optional[int] = ..., incarnation: _Optional[str] = ...) -> None: ...

class PrepareResponse(_message.Message):
    __slots__ = ("tx_id", "vote", "reservations", "reason", "detail", "state")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    VOTE_FIELD_NUMBER: _ClassVar[int]
    RESERVATIONS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    vote: Vote
    reservations: _containers.RepeatedCompositeFieldContainer[Item]
    reason: Reason
    detail: str
    state: TransactionState
    def __init__(self, tx_id: _Optional[str] = ..., vote: _Optional[_Union[Vote, str]] = ..., reservations: _Optional[_Iterable[_Union[Item, _Mapping]]] = ..., reason: _Optional[_Union[Reason, str]] = ..., detail: _Optional[str] = ..., state: _Optional[_Union[TransactionState, str]] = ...) -> None: ...

class CommitRequest(_message.Message):
    __slots__ = ("tx_id", "coordinator_term", "incarnation")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    COORDINATOR_TERM_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    coordinator_term: int
    incarnation: str
    def __init__(self, tx_id: _Optional[str] = ..., coordinator_term: _Optional[int] = ..., incarnation: _Optional[str] = ...) -> None: ...

class AbortRequest(_message.Message):
    __slots__ = ("tx_id", "coordinator_term", "incarnation")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    COORDINATOR_TERM_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    coordinator_term: int
    incarnation: str
    def __init__(self, tx_id: _Optional[str] = ..., coordinator_term: _Optional[int] = ..., incarnation: _Optional[str] = ...) -> None: ...

class TransactionOutcome(_message.Message):
    __slots__ = ("tx_id", "state")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    state: TransactionState
    def __init__(self, tx_id: _Optional[str] = ..., state: _Optional[_Union[TransactionState, str]] = ...) -> None: ...

class GetTransactionRequest(_message.Message):
    __slots__ = ("tx_id",)
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    def __init__(self, tx_id: _Optional[str] = ...) -> None: ...

class GetTransactionResponse(_message.Message):
    __slots__ = ("tx_id", "state", "items", "coordinator_term", "reason")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    COORDINATOR_TERM_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    state: TransactionState
    items: _containers.RepeatedCompositeFieldContainer[Item]
    coordinator_term: int
    reason: Reason
    def __init__(self, tx_id: _Optional[str] = ..., state: _Optional[_Union[TransactionState, str]] = ..., items: _Optional[_Iterable[_Union[Item, _Mapping]]] = ..., coordinator_term: _Optional[int] = ..., reason: _Optional[_Union[Reason, str]] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("node_id", "address", "role", "term", "leader_id", "leader_address", "commit_index", "applied_index", "log_size", "snapshot_index", "state_hash", "highest_coordinator_term", "incarnation")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    LEADER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    LOG_SIZE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_INDEX_FIELD_NUMBER: _ClassVar[int]
    STATE_HASH_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_COORDINATOR_TERM_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    address: str
    role: str
    term: int
    leader_id: str
    leader_address: str
    commit_index: int
    applied_index: int
    log_size: int
    snapshot_index: int
    state_hash: str
    highest_coordinator_term: int
    incarnation: str
    def __init__(self, node_id: _Optional[str] = ..., address: _Optional[str] = ..., role: _Optional[str] = ..., term: _Optional[int] = ..., leader_id: _Optional[str] = ..., leader_address: _Optional[str] = ..., commit_index: _Optional[int] = ..., applied_index: _Optional[int] = ..., log_size: _Optional[int] = ..., snapshot_index: _Optional[int] = ..., state_hash: _Optional[str] = ..., highest_coordinator_term: _Optional[int] = ..., incarnation: _Optional[str] = ...) -> None: ...
