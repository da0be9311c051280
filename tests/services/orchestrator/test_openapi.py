"""Keeps utils/api/openapi.yaml true: every route is documented and every documented operation exists, and
real responses of every operation, for every documented status, validate against the document's schemas.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.views.faults import FaultLink
from orchestrator.views.faults import install as install_faults
from testing.local_fleet import free_port
from testing.orders import seed_order
from tests.services.orchestrator.conftest import Gateway, build_gateway
from tests.services.orchestrator.drawing_fakes import install_fakes
from tests.services.orchestrator.fault_fakes import fault_control

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a dev dependency: pip install jsonschema")
yaml = pytest.importorskip("yaml", reason="PyYAML is a dev dependency: pip install pyyaml")
from referencing import Registry, Resource  # noqa: E402  (installed with jsonschema)
from referencing.jsonschema import DRAFT202012  # noqa: E402

DOCUMENT = Path(__file__).resolve().parents[3] / "utils" / "api" / "openapi.yaml"
BASE_URI = "urn:bookstore:openapi"
METHODS = {"get", "post", "put", "patch", "delete"}


def _load() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text())
    return loaded


DOC = _load()
REGISTRY = Registry().with_resource(BASE_URI, Resource.from_contents(DOC, default_specification=DRAFT202012))


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _response_spec(path: str, method: str, status: int) -> tuple[dict[str, Any], str]:
    """The documented response (refs followed) and the JSON pointer of it."""
    responses = DOC["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answered {status}, which is not documented"
    spec = responses[str(status)]
    pointer = "#/" + _pointer("paths", path, method, "responses", str(status))
    if "$ref" in spec:
        pointer = spec["$ref"]
        spec = DOC
        for part in pointer.removeprefix("#/").split("/"):
            spec = spec[part]
    return spec, pointer


def _validate(path: str, method: str, response: Any) -> None:
    spec, pointer = _response_spec(path, method, response.status_code)
    media = response.mimetype
    assert media in spec.get("content", {}), f"{method.upper()} {path} {response.status_code}: undocumented {media}"
    schema_ref = f"{BASE_URI}{pointer}/content/{_pointer(media)}/schema"
    validator = jsonschema.Draft202012Validator({"$ref": schema_ref}, registry=REGISTRY)
    body = response.get_data(as_text=True) if media == "text/plain" else json.loads(response.get_data())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {path} {response.status_code}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors
    )
    for header in spec.get("headers", {}):
        if header != "Idempotent-Replayed":  # only on replays
            assert header in response.headers, f"{method.upper()} {path} {response.status_code} lacks {header}"


def test_the_document_is_openapi_3_1_and_its_schemas_are_valid_json_schema() -> None:
    assert DOC["openapi"].startswith("3.1")
    for schema in DOC["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_every_route_is_documented_and_every_documented_operation_exists() -> None:
    app = build_gateway().app
    routes = {
        (re.sub(r"<[^>]+>", "{}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods or ()
        if method.lower() in METHODS
    }
    documented = {
        (re.sub(r"\{[^}]+\}", "{}", path), method)
        for path, item in DOC["paths"].items()
        for method in item
        if method in METHODS
    }
    assert routes == documented


Call = Callable[[Gateway], Any]


def _checkout(body: Any, **kwargs: Any) -> Call:
    data = body if isinstance(body, bytes) else json.dumps(body)
    return lambda g: g.client.post("/checkout", data=data, **kwargs)


def _placed_order_id(g: Gateway) -> str:
    return str(g.client.post("/checkout", json=seed_order()).get_json()["orderId"])


def _checkout_while_another_runs(g: Gateway) -> Any:
    g.flow.gate = threading.Event()
    first = threading.Thread(
        target=lambda: g.client.post("/checkout", json=seed_order(), headers={"Idempotency-Key": "busy"})
    )
    first.start()
    assert g.flow.entered.wait(5)
    try:
        return g.client.post("/checkout", json=seed_order(), headers={"Idempotency-Key": "busy"})
    finally:
        g.flow.gate.set()
        first.join(10)


def _with(setup: Callable[[Gateway], None], call: Call) -> Call:
    def run(g: Gateway) -> Any:
        setup(g)
        return call(g)

    return run


def _flow_down(g: Gateway) -> None:
    g.flow.down = "transaction_verification"


def _queue_down(g: Gateway) -> None:
    g.queue.down = True


def _drawings(g: Gateway) -> None:
    install_fakes(g.app)


def _executors_down(g: Gateway) -> None:
    install_fakes(g.app)[1].down = True


def _key_used_with_another_body(g: Gateway) -> None:
    g.client.post("/checkout", json=seed_order(giftWrapping=True), headers={"Idempotency-Key": "k"})


_pause = "/faults/books-1/pause"


def _launcher_silent(g: Gateway) -> None:
    install_faults(g.app, FaultLink(f"http://127.0.0.1:{free_port()}", "token"))


def _with_launcher(call: Call) -> Call:
    def run(g: Gateway) -> Any:
        with fault_control(g.app):
            return call(g)

    return run


CASES: list[tuple[str, str, int, Call]] = [
    ("/checkout", "post", 200, _checkout(seed_order(), headers={"Idempotency-Key": "k1"})),
    ("/checkout", "post", 200, _checkout(seed_order(termsAndConditionsAccepted=False))),
    ("/checkout", "post", 400, _checkout(seed_order(items=[{"name": "Clean Code", "quantity": "2"}]))),
    ("/checkout", "post", 400, _checkout(b"[]")),
    ("/checkout", "post", 403, _checkout(seed_order(), headers={"Origin": "http://elsewhere.test"})),
    ("/checkout", "post", 409, _checkout_while_another_runs),
    ("/checkout", "post", 413, _checkout(seed_order(padding="x" * 70_000))),
    (
        "/checkout",
        "post",
        422,
        _with(_key_used_with_another_body, _checkout(seed_order(), headers={"Idempotency-Key": "k"})),
    ),
    ("/checkout", "post", 503, _with(_flow_down, _checkout(seed_order()))),
    ("/orders/{orderId}", "get", 200, lambda g: g.client.get(f"/orders/{_placed_order_id(g)}")),
    ("/orders/{orderId}", "get", 404, lambda g: g.client.get("/orders/unknown")),
    ("/orders/{orderId}", "get", 503, _with(_queue_down, lambda g: g.client.get("/orders/x"))),
    ("/orders/{orderId}/trace", "get", 200, _with(_drawings, lambda g: g.client.get("/orders/o-rejected/trace"))),
    ("/orders/{orderId}/trace", "get", 404, _with(_drawings, lambda g: g.client.get("/orders/unknown/trace"))),
    ("/orders/{orderId}/twopc", "get", 200, _with(_drawings, lambda g: g.client.get("/orders/o1/twopc"))),
    ("/orders/{orderId}/twopc", "get", 404, _with(_drawings, lambda g: g.client.get(f"/orders/{'x' * 129}/twopc"))),
    ("/orders/{orderId}/twopc", "get", 503, _with(_executors_down, lambda g: g.client.get("/orders/o1/twopc"))),
    ("/books", "get", 200, lambda g: g.client.get("/books")),
    ("/books", "get", 503, lambda g: build_gateway(books=_DownBooks()).client.get("/books")),
    ("/stock/read", "get", 200, lambda g: g.client.get("/stock/read?book_id=book_101_clean_code")),
    ("/stock/read", "get", 400, lambda g: g.client.get("/stock/read")),
    ("/stock/read", "get", 404, lambda g: g.client.get("/stock/read?book_id=nope")),
    ("/stock/read", "get", 503, lambda g: build_gateway(books=_DownBooks()).client.get("/stock/read?book_id=b")),
    (
        "/stock/increment",
        "post",
        200,
        lambda g: g.client.post("/stock/increment", json={"book_id": "book_101_clean_code", "amount": 2}),
    ),
    ("/stock/increment", "post", 400, lambda g: g.client.post("/stock/increment", json={"book_id": "x"})),
    (
        "/stock/increment",
        "post",
        401,
        lambda g: g.client.post("/stock/increment", json={"book_id": "b", "amount": 1}, environ_base=_REMOTE),
    ),
    (
        "/stock/increment",
        "post",
        403,
        lambda g: g.client.post("/stock/increment", json={}, headers={"Origin": "http://elsewhere.test"}),
    ),
    ("/stock/increment", "post", 413, lambda g: g.client.post("/stock/increment", data=b"{" + b" " * 70_000)),
    (
        "/stock/increment",
        "post",
        404,
        lambda g: g.client.post("/stock/increment", json={"book_id": "nope", "amount": 2}),
    ),
    (
        "/stock/increment",
        "post",
        503,
        lambda g: build_gateway(books=_DownBooks()).client.post("/stock/increment", json={"book_id": "b", "amount": 1}),
    ),
    ("/cluster", "get", 200, lambda g: g.client.get("/cluster")),
    ("/faults", "get", 200, lambda g: g.client.get("/faults")),
    ("/faults", "get", 503, _with(_launcher_silent, lambda g: g.client.get("/faults"))),
    ("/faults/{replica}/{action}", "post", 200, _with_launcher(lambda g: g.client.post("/faults/books-1/kill"))),
    ("/faults/{replica}/{action}", "post", 400, _with_launcher(lambda g: g.client.post(_pause, json={"seconds": 0}))),
    ("/faults/{replica}/{action}", "post", 403, lambda g: g.client.post("/faults/books-1/kill")),
    ("/faults/{replica}/{action}", "post", 404, _with_launcher(lambda g: g.client.post("/faults/books-9/kill"))),
    ("/faults/{replica}/{action}", "post", 409, _with_launcher(lambda g: g.client.post("/faults/books-1/restart"))),
    ("/faults/{replica}/{action}", "post", 503, _with(_launcher_silent, lambda g: g.client.post(_pause))),
    ("/healthz", "get", 200, lambda g: g.client.get("/healthz")),
    ("/readyz", "get", 200, lambda g: g.client.get("/readyz")),
    ("/readyz", "get", 503, _with(_queue_down, lambda g: g.client.get("/readyz"))),
    ("/metrics", "get", 200, lambda g: g.client.get("/metrics")),
]


_REMOTE: dict[str, str] = {"REMOTE_ADDR": "192.0.2.7"}  # not loopback: the operator token is needed


class _DownBooks:
    def list_books(self) -> Any:
        from orchestrator.books_source import BooksUnavailable

        raise BooksUnavailable("books database not available")

    read_stock = increment_stock = lambda self, *a: _DownBooks.list_books(self)  # noqa: E731

    def readiness(self) -> dict[str, bool]:
        return {"books_database": False}


@pytest.mark.parametrize("path, method, status, call", CASES, ids=[f"{m.upper()} {p} {s}" for p, m, s, _ in CASES])
def test_real_responses_match_the_document(gateway: Gateway, path: str, method: str, status: int, call: Call) -> None:
    response = call(gateway)
    assert response.status_code == status, response.get_data(as_text=True)
    _validate(path, method, response)


def test_every_documented_status_is_exercised() -> None:
    documented = {
        (path, method, int(status))
        for path, item in DOC["paths"].items()
        for method, operation in item.items()
        if method in METHODS
        for status in operation["responses"]
    }
    assert documented == {(p, m, s) for p, m, s, _ in CASES}


def test_the_schemas_refuse_what_the_api_never_sends() -> None:
    """The check has teeth: an undocumented member or a wrong enum value fails validation."""
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"{BASE_URI}#/components/schemas/OrderStatusResponse"}, registry=REGISTRY
    )
    good = {
        "orderId": "o",
        "status": "Order Approved",
        "message": "m",
        "reasons": [],
        "suggestedBooks": [],
        "finalVectorClock": {"suggestions": 1},
    }
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "status": "Approved"})
    assert not validator.is_valid({**good, "surprise": 1})
    problem = jsonschema.Draft202012Validator({"$ref": f"{BASE_URI}#/components/schemas/Problem"}, registry=REGISTRY)
    assert not problem.is_valid({"type": "t", "title": "t", "status": 400, "detail": "d"})  # no `error` member
