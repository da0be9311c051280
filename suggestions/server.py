"""The suggestions servicer: event f GetSuggestions, the flow's last event, which reports the approval.

The recommender is a seam (`Recommender`): the catalog one by default.
"""
from __future__ import annotations

import grpc

from suggestions.recommender import SUGGESTIONS_COUNT, CatalogRecommender, Recommender, resolve_cart
from utils.catalog import Catalog, load_catalog
from utils.flow.checkout import Service
from utils.flow.node import EventHandler, FlowLimits, FlowNode
from utils.flow.order import Order
from utils.flow.outcome import EventResult, Suggestion
from utils.flow.service import flow_service
from utils.flow.servicer import FlowServicer
from utils.flow.transport import FlowTransport, GrpcFlowTransport
from utils.pb.common import common_pb2
from utils.pb.suggestions import suggestions_pb2, suggestions_pb2_grpc
from utils.rpc.server import GrpcService
from utils.settings import FleetSettings, RuntimeSettings

SERVICE_NAME = suggestions_pb2.DESCRIPTOR.services_by_name["Suggestions"].full_name


def handlers(catalog: Catalog, recommender: Recommender) -> dict[str, EventHandler]:
    def get_suggestions(_order_id: str, order: Order) -> EventResult:
        cart = resolve_cart(catalog, [(item.book_id, item.name) for item in order.items])
        books = recommender.recommend(cart, SUGGESTIONS_COUNT)
        return EventResult.ok(tuple(Suggestion(b.id, b.title, b.author) for b in books))

    return {"GetSuggestions": get_suggestions}


class SuggestionsServicer(FlowServicer, suggestions_pb2_grpc.SuggestionsServicer):
    def GetSuggestions(self, request: common_pb2.EventRequest, context: grpc.ServicerContext) -> common_pb2.EventAck:
        return self.handle_event("GetSuggestions", request, context)


def create_node(transport: FlowTransport, limits: FlowLimits, recommender: Recommender | None = None) -> FlowNode:
    catalog = load_catalog()
    return FlowNode(Service.SUGGESTIONS, handlers(catalog, recommender or CatalogRecommender(catalog)), transport, limits)


def create_service(fleet: FleetSettings, limits: FlowLimits, listen: str, runtime: RuntimeSettings | None = None,
                   recommender: Recommender | None = None) -> GrpcService:
    transport = GrpcFlowTransport(fleet, limits.rpc_timeout_s)
    # Suggestions need the cart only: whatever else a caller sends is dropped on arrival.
    servicer = SuggestionsServicer(create_node(transport, limits, recommender), view=Order.items_only)
    return flow_service(servicer.node, transport,
                        lambda server: suggestions_pb2_grpc.add_SuggestionsServicer_to_server(servicer, server),
                        SERVICE_NAME, listen, runtime)
