"""The suggestions servicer: event f GetSuggestions, the flow's last event, which reports the approval.

The recommender is a seam (`Recommender`): the catalog one by default.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from suggestions.core.recommender import SUGGESTIONS_COUNT, CatalogRecommender, Recommender, cart_books
from suggestions.llm_recommender import LlmRecommender
from utils.catalog import Book, Catalog
from utils.catalog.file import load_catalog
from utils.flow.core.checkout import Service
from utils.flow.node import EventHandler, FlowLimits, FlowNode
from utils.flow.outcome import EventResult, Suggestion
from utils.flow.service import flow_service
from utils.flow.servicer import FlowServicer
from utils.flow.transport import FlowTransport, GrpcFlowTransport
from utils.llm.json_client import JsonChatClient
from utils.llm.settings import LlmSettings
from utils.order.order import Order
from utils.order.wire import order_from_proto
from utils.pb.common import common_pb2
from utils.pb.suggestions import suggestions_pb2, suggestions_pb2_grpc
from utils.rpc.server import GrpcService
from utils.settings import FleetSettings, RuntimeSettings

SERVICE_NAME = suggestions_pb2.DESCRIPTOR.services_by_name["Suggestions"].full_name


def cart_of(catalog: Catalog, order: Order) -> tuple[Book, ...]:
    return cart_books(catalog, order.items)


def handlers(catalog: Catalog, recommender: Recommender) -> dict[str, EventHandler]:
    def get_suggestions(order_id: str, order: Order) -> EventResult:
        cart = cart_of(catalog, order)
        if isinstance(recommender, LlmRecommender):  # uses the answer prefetched when the order was initialised
            books = recommender.recommend_for(order_id, cart, SUGGESTIONS_COUNT)
        else:
            books = recommender.recommend(cart, SUGGESTIONS_COUNT)
        return EventResult.ok(tuple(Suggestion(b.id, b.title, b.author) for b in books))

    return {"GetSuggestions": get_suggestions}


class SuggestionsServicer(FlowServicer, suggestions_pb2_grpc.SuggestionsServicer):
    """With an LLM recommender, the model is asked as soon as the order is initialised, so its answer is
    ready by event f: TV and FD validate meanwhile, and an LLM outage costs a checkout one budget, not two."""

    def __init__(
        self, node: FlowNode, view: Callable[[Order], Order], catalog: Catalog, llm: LlmRecommender | None = None
    ) -> None:
        super().__init__(node, view)
        self.catalog = catalog
        self.llm = llm

    def InitOrder(
        self, request: common_pb2.InitOrderRequest, context: grpc.ServicerContext
    ) -> common_pb2.InitOrderResponse:
        reply = super().InitOrder(request, context)
        if self.llm is not None:
            self.llm.prefetch(
                request.order_id, cart_of(self.catalog, self.view(order_from_proto(request.order, request.order_id)))
            )
        return reply

    def ClearOrders(
        self, request: common_pb2.ClearOrdersRequest, context: grpc.ServicerContext
    ) -> common_pb2.ClearOrdersResponse:
        reply = super().ClearOrders(request, context)
        if self.llm is not None:
            for item in request.orders:
                self.llm.forget(item.order_id)  # event f has run: the model's answer is no longer needed
        return reply

    def GetSuggestions(self, request: common_pb2.EventRequest, context: grpc.ServicerContext) -> common_pb2.EventAck:
        return self.handle_event("GetSuggestions", request, context)


def create_node(transport: FlowTransport, limits: FlowLimits, recommender: Recommender | None = None) -> FlowNode:
    catalog = load_catalog()
    return FlowNode(
        Service.SUGGESTIONS, handlers(catalog, recommender or CatalogRecommender(catalog)), transport, limits
    )


def llm_recommender(settings: LlmSettings) -> LlmRecommender | None:
    """The model-backed recommender when OPENAI_API_KEY is set (the client says once at start if it is off)."""
    client = JsonChatClient(settings, "suggestions")
    if not client.enabled:
        return None
    catalog = load_catalog()
    return LlmRecommender(client, catalog, CatalogRecommender(catalog))


def create_service(
    fleet: FleetSettings,
    limits: FlowLimits,
    listen: str,
    runtime: RuntimeSettings | None = None,
    recommender: Recommender | None = None,
) -> GrpcService:
    transport = GrpcFlowTransport(fleet, limits.rpc_timeout_s)
    # Suggestions need the cart only: whatever else a caller sends is dropped on arrival.
    llm = recommender if isinstance(recommender, LlmRecommender) else None
    servicer = SuggestionsServicer(
        create_node(transport, limits, recommender), view=Order.items_only, catalog=load_catalog(), llm=llm
    )
    return flow_service(
        servicer.node,
        transport,
        lambda server: suggestions_pb2_grpc.add_SuggestionsServicer_to_server(servicer, server),
        SERVICE_NAME,
        listen,
        runtime,
    )
