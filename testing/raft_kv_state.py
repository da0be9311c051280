"""A key-value state machine for exercising the Raft runtime: put and append on string keys.

Commands are small JSON objects; the snapshot is the whole map as JSON, so replicas compare by digest.
"""

from __future__ import annotations

import hashlib
import json


def encode_command(op: str, key: str, value: str) -> bytes:
    if op not in ("put", "append"):
        raise ValueError(f"unknown kv write {op!r}")
    return json.dumps({"op": op, "key": key, "value": value}, separators=(",", ":")).encode()


class KvStateMachine:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.applied_commands = 0

    def apply(self, index: int, command: bytes) -> int:
        decoded = json.loads(command)
        key, value = decoded["key"], decoded["value"]
        if decoded["op"] == "put":
            self.data[key] = value
        else:
            self.data[key] = self.data.get(key, "") + value
        self.applied_commands += 1
        return index

    def snapshot(self) -> bytes:
        return json.dumps(self.data, sort_keys=True, separators=(",", ":")).encode()

    def restore(self, data: bytes) -> None:
        self.data = json.loads(data)

    def get(self, key: str) -> str:
        return self.data.get(key, "")

    def digest(self) -> str:
        return hashlib.sha256(self.snapshot()).hexdigest()
