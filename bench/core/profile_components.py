"""Where a process's Python CPU goes, by component: py-spy's raw stacks (one line per stack and its sample count)
attributed to grpc, web (tornado/flask/werkzeug), raft, sqlite, opentelemetry, logging, protobuf, our code, other.

A sample is charged to the innermost frame of its stack that names a component: the standard library's frames
(threading, json, ssl, ...) are charged to whoever called them, so `json.dumps` from our code is our code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

OUR_PACKAGES = (
    "books_database/",
    "bench/",
    "frontend/",
    "fraud_detection/",
    "orchestrator/",
    "order_executor/",
    "order_queue/",
    "payment_service/",
    "suggestions/",
    "transaction_verification/",
    "utils/",
)
# (component, markers): the first component one of whose markers is in a frame's text wins; order matters
# (utils/raft/ before our code, grpc's protobuf messages before grpc).
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sqlite", ("sqlite", "pysqlite")),
    ("raft", ("utils/raft/",)),
    ("opentelemetry", ("opentelemetry/", "prometheus_client/")),
    ("protobuf", ("google/protobuf/", "_message.", "upb")),
    ("grpc", ("grpc/", "grpc_", "cygrpc", "libgrpc", "grpc.")),
    ("web", ("tornado/", "flask/", "werkzeug/", "requests/", "urllib3/")),
    ("logging", ("logging/", "pythonjsonlogger/")),
    ("our code", OUR_PACKAGES),
)
OTHER = "other (stdlib, interpreter)"


def frame_location(frame: str) -> str:
    """The text a frame is classified by: 'func (file:line)' → 'file func'; a native frame keeps its library."""
    name, _, rest = frame.rpartition(" (")
    return f"{rest.rstrip(')').rpartition(':')[0] or rest.rstrip(')')} {name}" if name else frame


def component_of(frame: str) -> str | None:
    location = frame_location(frame)
    for component, markers in RULES:
        if any(marker in location for marker in markers):
            return component
    return None


def stack_component(frames: list[str]) -> str:
    """The component of the innermost frame that has one; OTHER when none does."""
    for frame in reversed(frames):
        component = component_of(frame)
        if component is not None:
            return component
    return OTHER


def parse_raw(lines: Iterable[str]) -> list[tuple[list[str], int]]:
    """py-spy --format raw: 'frame;frame;...;leaf count' per line."""
    stacks: list[tuple[list[str], int]] = []
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def by_component(stacks: Iterable[tuple[list[str], int]]) -> dict[str, float]:
    """Component → share of the samples, largest first."""
    samples: Counter[str] = Counter()
    for frames, count in stacks:
        samples[stack_component(frames)] += count
    total = sum(samples.values()) or 1
    return {component: n / total for component, n in samples.most_common()}


def self_time(stacks: Iterable[tuple[list[str], int]], top: int = 12) -> list[tuple[str, float]]:
    """The leaf frames with the most samples (self time), as shares."""
    samples: Counter[str] = Counter()
    for frames, count in stacks:
        samples[frames[-1]] += count
    total = sum(samples.values()) or 1
    return [(frame, n / total) for frame, n in samples.most_common(top)]
