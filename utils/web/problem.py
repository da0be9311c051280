"""RFC 9457 problem documents with the course API's `"error": {"code", "message"}` member: one shape for every
error the HTTP edge answers, whether the Flask app or the server itself (413/414/431/503 before the app) writes it.
"""

from __future__ import annotations

import json
from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:bookstore:problem:"


def problem_body(
    status: int, code: str, title: str, detail: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code.lower().replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "error": {"code": code, "message": detail},
    }
    body.update(extra or {})
    return body


def problem_bytes(status: int, code: str, title: str, detail: str) -> bytes:
    return json.dumps(problem_body(status, code, title, detail)).encode()
