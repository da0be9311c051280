from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EntryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTRY_KIND_NORMAL: _ClassVar[EntryKind]
    ENTRY_KIND_NOOP: _ClassVar[EntryKind]

class ResponseType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESPONSE_TYPE_UNSPECIFIED: _ClassVar[ResponseType]
    RESPONSE_TYPE_PRE_VOTE: _ClassVar[ResponseType]
    RESPONSE_TYPE_VOTE: _ClassVar[ResponseType]
    RESPONSE_TYPE_APPEND: _ClassVar[ResponseType]
    RESPONSE_TYPE_SNAPSHOT: _ClassVar[ResponseType]
ENTRY_KIND_NORMAL: EntryKind
ENTRY_KIND_NOOP: EntryKind
RESPONSE_TYPE_UNSPECIFIED: ResponseType
RESPONSE_TYPE_PRE_VOTE: ResponseType
RESPONSE_TYPE_VOTE: ResponseType
RESPONSE_TYPE_APPEND: ResponseType
RESPONSE_TYPE_SNAPSHOT: ResponseType

class Entry(_message.Message):
    __slots__ = ("term", "index", "kind", "data")
    TERM_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    term: int
    index: int
    kind: EntryKind
    data: bytes
    def __init__(self, term: _Optional[int] = ..., index: _Optional[int] = ..., kind: _Optional[_Union[EntryKind, str]] = ..., data: _Optional[bytes] = ...) -> None: ...

class Snapshot(_message.Message):
    __slots__ = ("index", "term", "data")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    index: int
    term: int
    data: bytes
    def __init__(self, index: _Optional[int] = ..., term: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class VoteRequest(_message.Message):
    __slots__ = ("candidate_id", "recipient_id", "term", "last_log_index", "last_log_term", "pre_vote", "context", "commit")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_ID_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    LAST_LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    LAST_LOG_TERM_FIELD_NUMBER: _ClassVar[int]
    PRE_VOTE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    recipient_id: str
    term: int
    last_log_index: int
    last_log_term: int
    pre_vote: bool
    context: bytes
    commit: int
    def __init__(self, candidate_id: _Optional[str] = ..., recipient_id: _Optional[str] = ..., term: _Optional[int] = ..., last_log_index: _Optional[int] = ..., last_log_term: _Optional[int] = ..., pre_vote: _Optional[bool] = ..., context: _Optional[bytes] = ..., commit: _Optional[int] = ...) -> None: ...

class AppendRequest(_message.Message):
    __slots__ = ("leader_id", "recipient_id", "term", "prev_log_index", "prev_log_term", "entries", "leader_commit", "context")
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_ID_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    PREV_LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    PREV_LOG_TERM_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    LEADER_COMMIT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    leader_id: str
    recipient_id: str
    term: int
    prev_log_index: int
    prev_log_term: int
    entries: _containers.RepeatedCompositeFieldContainer[Entry]
    leader_commit: int
    context: bytes
    def __init__(self, leader_id: _Optional[str] = ..., recipient_id: _Optional[str] = ..., term: _Optional[int] = ..., prev_log_index: _Optional[int] = ..., prev_log_term: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[Entry, _Mapping]]] = ..., leader_commit: _Optional[int] = ..., context: _Optional[bytes] = ...) -> None: ...

class SnapshotRequest(_message.Message):
    __slots__ = ("leader_id", "recipient_id", "term", "snapshot", "leader_commit", "prev_log_index", "prev_log_term")
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_ID_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    LEADER_COMMIT_FIELD_NUMBER: _ClassVar[int]
    PREV_LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    PREV_LOG_TERM_FIELD_NUMBER: _ClassVar[int]
    leader_id: str
    recipient_id: str
    term: int
    snapshot: Snapshot
    leader_commit: int
    prev_log_index: int
    prev_log_term: int
    def __init__(self, leader_id: _Optional[str] = ..., recipient_id: _Optional[str] = ..., term: _Optional[int] = ..., snapshot: _Optional[_Union[Snapshot, _Mapping]] = ..., leader_commit: _Optional[int] = ..., prev_log_index: _Optional[int] = ..., prev_log_term: _Optional[int] = ...) -> None: ...

class TimeoutNowRequest(_message.Message):
    __slots__ = ("leader_id", "recipient_id", "term", "commit")
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_ID_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    leader_id: str
    recipient_id: str
    term: int
    commit: int
    def __init__(self, leader_id: _Optional[str] = ..., recipient_id: _Optional[str] = ..., term: _Optional[int] = ..., commit: _Optional[int] = ...) -> None: ...

class PeerReply(_message.Message):
    __slots__ = ("answered", "type", "sender_id", "recipient_id", "term", "log_term", "index", "commit", "reject", "reject_hint", "reject_term", "context")
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SENDER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_ID_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    LOG_TERM_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    REJECT_FIELD_NUMBER: _ClassVar[int]
    REJECT_HINT_FIELD_NUMBER: _ClassVar[int]
    REJECT_TERM_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    answered: bool
    type: ResponseType
    sender_id: str
    recipient_id: str
    term: int
    log_term: int
    index: int
    commit: int
    reject: bool
    reject_hint: int
    reject_term: int
    context: bytes
    def __init__(self, answered: _Optional[bool] = ..., type: _Optional[_Union[ResponseType, str]] = ..., sender_id: _Optional[str] = ..., recipient_id: _Optional[str] = ..., term: _Optional[int] = ..., log_term: _Optional[int] = ..., index: _Optional[int] = ..., commit: _Optional[int] = ..., reject: _Optional[bool] = ..., reject_hint: _Optional[int] = ..., reject_term: _Optional[int] = ..., context: _Optional[bytes] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusReply(_message.Message):
    __slots__ = ("node_id", "role", "term", "leader_id", "leader_address", "commit_index", "applied_index", "last_index", "snapshot_index", "log_entries", "peer_rpcs_sent", "peer_rpcs_failed", "log_tail", "match_index", "elections")
    class MatchIndexEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    LEADER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    LAST_INDEX_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_INDEX_FIELD_NUMBER: _ClassVar[int]
    LOG_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PEER_RPCS_SENT_FIELD_NUMBER: _ClassVar[int]
    PEER_RPCS_FAILED_FIELD_NUMBER: _ClassVar[int]
    LOG_TAIL_FIELD_NUMBER: _ClassVar[int]
    MATCH_INDEX_FIELD_NUMBER: _ClassVar[int]
    ELECTIONS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    role: str
    term: int
    leader_id: str
    leader_address: str
    commit_index: int
    applied_index: int
    last_index: int
    snapshot_index: int
    log_entries: int
    peer_rpcs_sent: int
    peer_rpcs_failed: int
    log_tail: _containers.RepeatedCompositeFieldContainer[LogTailEntry]
    match_index: _containers.ScalarMap[str, int]
    elections: _containers.RepeatedCompositeFieldContainer[Election]
    def __init__(self, node_id: _Optional[str] = ..., role: _Optional[str] = ..., term: _Optional[int] = ..., leader_id: _Optional[str] = ..., leader_address: _Optional[str] = ..., commit_index: _Optional[int] = ..., applied_index: _Optional[int] = ..., last_index: _Optional[int] = ..., snapshot_index: _Optional[int] = ..., log_entries: _Optional[int] = ..., peer_rpcs_sent: _Optional[int] = ..., peer_rpcs_failed: _Optional[int] = ..., log_tail: _Optional[_Iterable[_Union[LogTailEntry, _Mapping]]] = ..., match_index: _Optional[_Mapping[str, int]] = ..., elections: _Optional[_Iterable[_Union[Election, _Mapping]]] = ...) -> None: ...

class LogTailEntry(_message.Message):
    __slots__ = ("index", "term", "kind")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    index: int
    term: int
    kind: str
    def __init__(self, index: _Optional[int] = ..., term: _Optional[int] = ..., kind: _Optional[str] = ...) -> None: ...

class Election(_message.Message):
    __slots__ = ("term", "winner", "at_unix_s", "why")
    TERM_FIELD_NUMBER: _ClassVar[int]
    WINNER_FIELD_NUMBER: _ClassVar[int]
    AT_UNIX_S_FIELD_NUMBER: _ClassVar[int]
    WHY_FIELD_NUMBER: _ClassVar[int]
    term: int
    winner: str
    at_unix_s: float
    why: str
    def __init__(self, term: _Optional[int] = ..., winner: _Optional[str] = ..., at_unix_s: _Optional[float] = ..., why: _Optional[str] = ...) -> None: ...
