"""Card tokenization at checkout: the approved order's card goes to the payment service, the queue gets a token.

So nothing after the gateway ever holds the card number; the order carries the token and the last four only.
"""

from __future__ import annotations

import logging

import grpc

from orchestrator.checkout_errors import TokenizationUnavailable
from utils.order.order import CreditCard
from utils.pb.payment_service import payment_service_pb2 as pb
from utils.pb.payment_service import payment_service_pb2_grpc as pb_grpc
from utils.rpc.client import call, open_channel

log = logging.getLogger("orchestrator.payments")


class PaymentTokenizer:
    """The checkout's Tokenizer over gRPC: the payment service's failures become TokenizationUnavailable."""

    def __init__(self, address: str, timeout_s: float) -> None:
        self._channel = open_channel(address)
        self._stub = pb_grpc.PaymentServiceStub(self._channel)
        self._timeout_s = timeout_s

    def close(self) -> None:
        self._channel.close()

    def tokenize(self, card: CreditCard) -> str:
        try:
            reply = call(
                self._stub.Tokenize,
                pb.TokenizeRequest(card_number=card.number, expiration_date=card.expiration_date),
                timeout_s=self._timeout_s,
            )
        except grpc.RpcError as error:
            code = error.code() if callable(getattr(error, "code", None)) else None
            log.warning("tokenization failed", extra={"code": code.name if code else "?"})
            raise TokenizationUnavailable("payment_service could not tokenize the card") from None
        return str(reply.token)
