from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class WriteRequest(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class WriteReply(_message.Message):
    __slots__ = ("index",)
    INDEX_FIELD_NUMBER: _ClassVar[int]
    index: int
    def __init__(self, index: _Optional[int] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class GetReply(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: str
    def __init__(self, value: _Optional[str] = ...) -> None: ...

class DigestRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DigestReply(_message.Message):
    __slots__ = ("node_id", "applied_index", "sha256", "keys", "role", "term")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    applied_index: int
    sha256: str
    keys: int
    role: str
    term: int
    def __init__(self, node_id: _Optional[str] = ..., applied_index: _Optional[int] = ..., sha256: _Optional[str] = ..., keys: _Optional[int] = ..., role: _Optional[str] = ..., term: _Optional[int] = ...) -> None: ...

class LoadRequest(_message.Message):
    __slots__ = ("outstanding", "seconds", "value_bytes")
    OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    VALUE_BYTES_FIELD_NUMBER: _ClassVar[int]
    outstanding: int
    seconds: float
    value_bytes: int
    def __init__(self, outstanding: _Optional[int] = ..., seconds: _Optional[float] = ..., value_bytes: _Optional[int] = ...) -> None: ...

class LoadReply(_message.Message):
    __slots__ = ("committed", "failed", "elapsed_s", "p50_ms", "p99_ms")
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_S_FIELD_NUMBER: _ClassVar[int]
    P50_MS_FIELD_NUMBER: _ClassVar[int]
    P99_MS_FIELD_NUMBER: _ClassVar[int]
    committed: int
    failed: int
    elapsed_s: float
    p50_ms: float
    p99_ms: float
    def __init__(self, committed: _Optional[int] = ..., failed: _Optional[int] = ..., elapsed_s: _Optional[float] = ..., p50_ms: _Optional[float] = ..., p99_ms: _Optional[float] = ...) -> None: ...
