"""The containers' health check, standard library only: gRPC health (grpc.health.v1.Health/Check) spoken
over a raw HTTP/2 socket, or an HTTP GET that must answer 200. Exits 0 when healthy, 1 otherwise.

Why not `python -m utils.rpc.healthcheck`: importing grpc costs ~0.3 CPU-s per probe (more under
fuse-overlayfs), and thirteen containers probing every few seconds saturated a 2-core host; Docker
20.10 does not kill a probe past its timeout, so slow probes piled up. This one starts in ~20 ms and
bounds itself with a socket timeout. Usage: healthcheck.py HOST:PORT [SERVICE] | healthcheck.py http://HOST:PORT/PATH
"""
from __future__ import annotations

import socket
import struct
import sys

TIMEOUT_S = 2.0
HTTP_REPLY_BYTES_MAX = 65536
FRAMES_MAX = 32                       # a health reply is a handful of frames; more means something is off
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY = 0x0, 0x1, 0x3, 0x4, 0x7
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
SERVING = b"\x08\x01"                 # HealthCheckResponse{status: SERVING (1)}


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(name: str, value: str) -> bytes:
    # HPACK §6.2.2: literal header field without indexing, new name, no Huffman; lengths here are < 127.
    raw_name, raw_value = name.encode(), value.encode()
    assert len(raw_name) < 127 and len(raw_value) < 127, "header too long for a one-byte length"
    return b"\x00" + bytes([len(raw_name)]) + raw_name + bytes([len(raw_value)]) + raw_value


def protobuf_string(field: int, value: str) -> bytes:
    raw = value.encode()
    assert len(raw) < 128, "service name too long for a one-byte length"
    return bytes([field << 3 | 2, len(raw)]) + raw if raw else b""


def read_exact(sock: socket.socket, size: int) -> bytes:
    chunks = b""
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("closed mid-frame")
        chunks += chunk
    return chunks


def grpc_serving(host: str, port: int, service: str) -> bool:
    message = protobuf_string(1, service)
    headers = b"".join(literal(k, v) for k, v in (
        (":method", "POST"), (":scheme", "http"), (":path", "/grpc.health.v1.Health/Check"),
        (":authority", f"{host}:{port}"), ("content-type", "application/grpc"), ("te", "trailers")))
    with socket.create_connection((host, port), timeout=TIMEOUT_S) as sock:
        sock.sendall(PREFACE + frame(SETTINGS, 0, 0) + frame(HEADERS, END_HEADERS, 1, headers)
                     + frame(DATA, END_STREAM, 1, b"\x00" + struct.pack(">I", len(message)) + message))
        for _ in range(FRAMES_MAX):
            head = read_exact(sock, 9)
            length, kind, flags, stream = int.from_bytes(head[:3], "big"), head[3], head[4], \
                struct.unpack(">I", head[5:])[0] & 0x7FFFFFFF
            payload = read_exact(sock, length)
            if kind == SETTINGS and not flags & ACK:
                sock.sendall(frame(SETTINGS, ACK, 0))
            elif kind in (GOAWAY, RST_STREAM):
                return False
            elif kind == DATA and stream == 1:
                return payload[5:] == SERVING              # after the 5-byte gRPC message prefix
            elif kind == HEADERS and stream == 1 and flags & END_STREAM:
                return False                               # trailers only: an error status, no reply
    return False


def http_ok(url: str) -> bool:
    rest = url.split("://", 1)[1]
    authority, _, path = rest.partition("/")
    host, _, port = authority.partition(":")
    with socket.create_connection((host, int(port or 80)), timeout=TIMEOUT_S) as sock:
        sock.sendall(f"GET /{path} HTTP/1.0\r\nHost: {authority}\r\n\r\n".encode())
        reply = b""
        while len(reply) < HTTP_REPLY_BYTES_MAX and (chunk := sock.recv(4096)):
            reply += chunk                                  # read to the end, so the server never sees a reset
    status_line = reply.split(b"\r\n", 1)[0]
    return status_line.split(b" ")[1:2] == [b"200"]


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    target = argv[1]
    try:
        if target.startswith("http://"):
            healthy = http_ok(target)
        else:
            host, _, port = target.rpartition(":")
            healthy = grpc_serving(host, int(port), argv[2] if len(argv) == 3 else "")
    except (OSError, ValueError, IndexError) as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
