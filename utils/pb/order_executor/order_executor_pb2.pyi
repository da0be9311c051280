from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNKNOWN: _ClassVar[Decision]
    DECISION_COMMIT: _ClassVar[Decision]
    DECISION_ABORT: _ClassVar[Decision]
DECISION_UNKNOWN: Decision
DECISION_COMMIT: Decision
DECISION_ABORT: Decision

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InFlightTransaction(_message.Message):
    __slots__ = ("tx_id", "phase", "age_s")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    AGE_S_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    phase: str
    age_s: float
    def __init__(self, tx_id: _Optional[str] = ..., phase: _Optional[str] = ..., age_s: _Optional[float] = ...) -> None: ...

class StatusReply(_message.Message):
    __slots__ = ("node_id", "role", "term", "leader_id", "leader_address", "commit_index", "applied_index", "last_log_index", "in_flight", "transactions_begun", "transactions_open", "incarnation", "fenced_out")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    LEADER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    LAST_LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_BEGUN_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_OPEN_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    FENCED_OUT_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    role: str
    term: int
    leader_id: str
    leader_address: str
    commit_index: int
    applied_index: int
    last_log_index: int
    in_flight: _containers.RepeatedCompositeFieldContainer[InFlightTransaction]
    transactions_begun: int
    transactions_open: int
    incarnation: str
    fenced_out: str
    def __init__(self, node_id: _Optional[str] = ..., role: _Optional[str] = ..., term: _Optional[int] = ..., leader_id: _Optional[str] = ..., leader_address: _Optional[str] = ..., commit_index: _Optional[int] = ..., applied_index: _Optional[int] = ..., last_log_index: _Optional[int] = ..., in_flight: _Optional[_Iterable[_Union[InFlightTransaction, _Mapping]]] = ..., transactions_begun: _Optional[int] = ..., transactions_open: _Optional[int] = ..., incarnation: _Optional[str] = ..., fenced_out: _Optional[str] = ...) -> None: ...

class GetDecisionRequest(_message.Message):
    __slots__ = ("tx_id", "incarnation")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    incarnation: str
    def __init__(self, tx_id: _Optional[str] = ..., incarnation: _Optional[str] = ...) -> None: ...

class GetDecisionReply(_message.Message):
    __slots__ = ("decision", "reason", "term", "incarnation")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    reason: str
    term: int
    incarnation: str
    def __init__(self, decision: _Optional[_Union[Decision, str]] = ..., reason: _Optional[str] = ..., term: _Optional[int] = ..., incarnation: _Optional[str] = ...) -> None: ...

class GetTimelineRequest(_message.Message):
    __slots__ = ("tx_id",)
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    def __init__(self, tx_id: _Optional[str] = ...) -> None: ...

class TimelineEntry(_message.Message):
    __slots__ = ("kind", "at_s", "node_id", "term", "index", "participant", "ok", "detail", "round")
    KIND_FIELD_NUMBER: _ClassVar[int]
    AT_S_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    kind: str
    at_s: float
    node_id: str
    term: int
    index: int
    participant: str
    ok: bool
    detail: str
    round: int
    def __init__(self, kind: _Optional[str] = ..., at_s: _Optional[float] = ..., node_id: _Optional[str] = ..., term: _Optional[int] = ..., index: _Optional[int] = ..., participant: _Optional[str] = ..., ok: _Optional[bool] = ..., detail: _Optional[str] = ..., round: _Optional[int] = ...) -> None: ...

class GetTimelineReply(_message.Message):
    __slots__ = ("node_id", "entries", "dropped")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    entries: _containers.RepeatedCompositeFieldContainer[TimelineEntry]
    dropped: int
    def __init__(self, node_id: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[TimelineEntry, _Mapping]]] = ..., dropped: _Optional[int] = ...) -> None: ...
