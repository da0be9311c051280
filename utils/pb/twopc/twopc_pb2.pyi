from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TxState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TX_STATE_NONE: _ClassVar[TxState]
    TX_STATE_PREPARED: _ClassVar[TxState]
    TX_STATE_COMMITTED: _ClassVar[TxState]
    TX_STATE_ABORTED: _ClassVar[TxState]
TX_STATE_NONE: TxState
TX_STATE_PREPARED: TxState
TX_STATE_COMMITTED: TxState
TX_STATE_ABORTED: TxState

class Fence(_message.Message):
    __slots__ = ("incarnation", "newest_term")
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    NEWEST_TERM_FIELD_NUMBER: _ClassVar[int]
    incarnation: str
    newest_term: int
    def __init__(self, incarnation: _Optional[str] = ..., newest_term: _Optional[int] = ...) -> None: ...

class GetFenceRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TxStateRecord(_message.Message):
    __slots__ = ("tx_id", "state", "coordinator_term")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    COORDINATOR_TERM_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    state: TxState
    coordinator_term: int
    def __init__(self, tx_id: _Optional[str] = ..., state: _Optional[_Union[TxState, str]] = ..., coordinator_term: _Optional[int] = ...) -> None: ...

class OperatorListInDoubtRequest(_message.Message):
    __slots__ = ("tx_ids", "limit")
    TX_IDS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    tx_ids: _containers.RepeatedScalarFieldContainer[str]
    limit: int
    def __init__(self, tx_ids: _Optional[_Iterable[str]] = ..., limit: _Optional[int] = ...) -> None: ...

class OperatorListInDoubtReply(_message.Message):
    __slots__ = ("in_doubt", "asked", "fence", "truncated")
    IN_DOUBT_FIELD_NUMBER: _ClassVar[int]
    ASKED_FIELD_NUMBER: _ClassVar[int]
    FENCE_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    in_doubt: _containers.RepeatedCompositeFieldContainer[TxStateRecord]
    asked: _containers.RepeatedCompositeFieldContainer[TxStateRecord]
    fence: Fence
    truncated: bool
    def __init__(self, in_doubt: _Optional[_Iterable[_Union[TxStateRecord, _Mapping]]] = ..., asked: _Optional[_Iterable[_Union[TxStateRecord, _Mapping]]] = ..., fence: _Optional[_Union[Fence, _Mapping]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class OperatorResolveRequest(_message.Message):
    __slots__ = ("tx_id", "commit")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    commit: bool
    def __init__(self, tx_id: _Optional[str] = ..., commit: _Optional[bool] = ...) -> None: ...

class OperatorResolveReply(_message.Message):
    __slots__ = ("state", "changed")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    state: TxState
    changed: bool
    def __init__(self, state: _Optional[_Union[TxState, str]] = ..., changed: _Optional[bool] = ...) -> None: ...

class OperatorAdoptIncarnationRequest(_message.Message):
    __slots__ = ("incarnation", "coordinator_term")
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    COORDINATOR_TERM_FIELD_NUMBER: _ClassVar[int]
    incarnation: str
    coordinator_term: int
    def __init__(self, incarnation: _Optional[str] = ..., coordinator_term: _Optional[int] = ...) -> None: ...

class OperatorAdoptIncarnationReply(_message.Message):
    __slots__ = ("before", "after")
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    before: Fence
    after: Fence
    def __init__(self, before: _Optional[_Union[Fence, _Mapping]] = ..., after: _Optional[_Union[Fence, _Mapping]] = ...) -> None: ...
