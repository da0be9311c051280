"""Card tokenization at checkout: the approved order's card goes to the payment service, the queue gets a token.

So nothing after the gateway ever holds the card number; the order carries the token and the last four only.
"""
from __future__ import annotations

import logging
from typing import Protocol

import grpc

from orchestrator.problems import Problem
from utils.pb.payment_service import payment_service_pb2 as pb
from utils.pb.payment_service import payment_service_pb2_grpc as pb_grpc
from utils.rpc.client import call, open_channel

log = logging.getLogger("orchestrator.payments")


class Tokenizer(Protocol):
    def tokenize(self, card_number: str, expiration_date: str) -> tuple[str, str]:
        """(token, last four digits). Raises Problem (503) when the payment service cannot tokenize now."""
        ...


class NoTokenizer:
    """For gateway tests with fakes: no token; the order keeps the last four the gateway computed."""

    def tokenize(self, card_number: str, expiration_date: str) -> tuple[str, str]:
        digits = "".join(ch for ch in card_number if ch.isdigit())
        return "", digits[-4:]


class PaymentTokenizer:
    def __init__(self, address: str, timeout_s: float) -> None:
        self._channel = open_channel(address)
        self._stub = pb_grpc.PaymentServiceStub(self._channel)
        self._timeout_s = timeout_s

    def close(self) -> None:
        self._channel.close()

    def tokenize(self, card_number: str, expiration_date: str) -> tuple[str, str]:
        try:
            reply = call(self._stub.Tokenize, pb.TokenizeRequest(card_number=card_number,
                                                                 expiration_date=expiration_date),
                         timeout_s=self._timeout_s)
        except grpc.RpcError as error:
            code = error.code() if callable(getattr(error, "code", None)) else None
            log.warning("tokenization failed", extra={"code": code.name if code else "?"})
            raise Problem(503, "DEPENDENCY_UNAVAILABLE", "Service Unavailable",
                          "payment_service could not tokenize the card; the order was not placed, try again",
                          headers={"Retry-After": "1"}) from None
        return str(reply.token), str(reply.card_last4)
