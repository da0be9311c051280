"""A tiny JSON-over-HTTP client for the gateway (stdlib only), so the tool needs nothing beyond the fleet's
own dependencies.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    body: Any  # parsed JSON, or None when the body is not JSON


class NoAnswer(Exception):
    """The request timed out or the connection failed: the server may or may not have acted on it."""


def request_json(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout_s: float = 10.0
) -> HttpAnswer:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return HttpAnswer(response.status, _parse(response.read()))
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, _parse(error.read()))
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        raise NoAnswer(str(getattr(error, "reason", error))) from None


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
