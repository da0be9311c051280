"""Card tokenization at checkout: the approved order's card goes to the payment service, the queue gets a token.

So nothing after the gateway ever holds the card number; the order carries the token and the last four only.
"""

from __future__ import annotations

import logging

import grpc

from orchestrator.checkout_errors import TokenizationUnavailable
from utils.order.order import Order
from utils.pb.payment_service import payment_service_pb2 as pb
from utils.pb.payment_service import payment_service_pb2_grpc as pb_grpc
from utils.rpc.client import call, open_channel

log = logging.getLogger("orchestrator.payments")


class PaymentTokenizer:
    """The checkout's Tokenizer over gRPC: the payment service's failures become TokenizationUnavailable."""

    def __init__(self, address: str, timeout_s: float) -> None:
        self._channel = open_channel(address, "payment_service")
        self._stub = pb_grpc.PaymentServiceStub(self._channel)
        self._timeout_s = timeout_s

    def close(self) -> None:
        self._channel.close()

    def tokenize(self, order: Order) -> str:
        # The token pays for this order only, for at most its total at checkout (docs/operations.md).
        card = order.credit_card
        total_cents = sum(item.quantity * item.unit_price_cents for item in order.items)
        request = pb.TokenizeRequest(
            card_number=card.number,
            expiration_date=card.expiration_date,
            order_id=order.order_id,
            amount_cents_max=total_cents,
        )
        try:
            reply = call(self._stub.Tokenize, request, timeout_s=self._timeout_s)
        except grpc.RpcError as error:
            code = error.code() if callable(getattr(error, "code", None)) else None
            log.warning("tokenization failed", extra={"code": code.name if code else "?"})
            raise TokenizationUnavailable("payment_service could not tokenize the card") from None
        return str(reply.token)
