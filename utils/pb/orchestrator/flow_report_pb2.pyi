from utils.pb.common import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FlowStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FLOW_STATUS_UNSPECIFIED: _ClassVar[FlowStatus]
    FLOW_STATUS_APPROVED: _ClassVar[FlowStatus]
    FLOW_STATUS_REJECTED: _ClassVar[FlowStatus]
    FLOW_STATUS_FAILED: _ClassVar[FlowStatus]
FLOW_STATUS_UNSPECIFIED: FlowStatus
FLOW_STATUS_APPROVED: FlowStatus
FLOW_STATUS_REJECTED: FlowStatus
FLOW_STATUS_FAILED: FlowStatus

class FlowOutcome(_message.Message):
    __slots__ = ("order_id", "status", "reasons", "suggestions", "clock", "service", "event", "trace")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    status: FlowStatus
    reasons: _containers.RepeatedScalarFieldContainer[str]
    suggestions: _containers.RepeatedCompositeFieldContainer[_common_pb2.SuggestedBook]
    clock: _common_pb2.VectorClock
    service: str
    event: str
    trace: _containers.RepeatedCompositeFieldContainer[_common_pb2.FlowEventRecord]
    def __init__(self, order_id: _Optional[str] = ..., status: _Optional[_Union[FlowStatus, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., suggestions: _Optional[_Iterable[_Union[_common_pb2.SuggestedBook, _Mapping]]] = ..., clock: _Optional[_Union[_common_pb2.VectorClock, _Mapping]] = ..., service: _Optional[str] = ..., event: _Optional[str] = ..., trace: _Optional[_Iterable[_Union[_common_pb2.FlowEventRecord, _Mapping]]] = ...) -> None: ...

class ReportAck(_message.Message):
    __slots__ = ("known",)
    KNOWN_FIELD_NUMBER: _ClassVar[int]
    known: bool
    def __init__(self, known: _Optional[bool] = ...) -> None: ...
