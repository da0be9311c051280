"""GET /books, GET /stock/read, POST /stock/increment: through the BooksSource seam (orchestrator/books_source.py).

Every stock write needs the operator credential (orchestrator/edge_guards.py); reads are open.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from orchestrator.api_models import StockIncrementRequest, invalid_request, parse_json_object, parse_model
from orchestrator.books_source import BooksUnavailable, UnknownBook
from orchestrator.dependencies import deps
from orchestrator.edge_guards import require_operator
from orchestrator.problems import Problem

blueprint = Blueprint("books", __name__)
BOOK_ID_CHARS_MAX = 64


@blueprint.get("/books")
def list_books() -> dict[str, Any]:
    try:
        books = deps().books.list_books()
    except BooksUnavailable as error:
        raise _unavailable(error) from None
    return {
        "books": [
            {
                "bookId": b.book_id,
                "title": b.title,
                "author": b.author,
                "category": b.category,
                "price": float(b.price),
                "stock": b.stock,
            }
            for b in books
        ]
    }


@blueprint.get("/stock/read")
def read_stock() -> dict[str, Any]:
    book_id = request.args.get("book_id", "").strip()
    if not book_id:
        raise invalid_request("book_id: the query parameter is required", [{"field": "book_id", "message": "required"}])
    if len(book_id) > BOOK_ID_CHARS_MAX:
        message = f"at most {BOOK_ID_CHARS_MAX} characters"
        raise invalid_request(f"book_id: {message}", [{"field": "book_id", "message": message}])
    try:
        quantity = deps().books.read_stock(book_id)
    except UnknownBook:
        raise _unknown(book_id) from None
    except BooksUnavailable as error:
        raise _unavailable(error) from None
    return {"success": True, "quantity": quantity}


@blueprint.post("/stock/increment")
def increment_stock() -> dict[str, Any]:
    require_operator()  # before the body is parsed: an anonymous caller learns nothing about the request
    body = parse_model(StockIncrementRequest, parse_json_object(request.get_data(cache=True)))
    try:
        quantity = deps().books.increment_stock(body.book_id, body.amount)
    except UnknownBook:
        raise _unknown(body.book_id) from None
    except BooksUnavailable as error:
        raise _unavailable(error) from None
    return {"status": "Success", "new_quantity": quantity}


def _unknown(book_id: str) -> Problem:
    return Problem(404, "BOOK_NOT_FOUND", "Not Found", f"no book with id {book_id!r}")


def _unavailable(error: BooksUnavailable) -> Problem:
    return Problem(
        503,
        "DEPENDENCY_UNAVAILABLE",
        "Service Unavailable",
        str(error) or "books database not available",
        headers={"Retry-After": "1"},
    )
