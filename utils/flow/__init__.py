"""The validation flow shared by transaction_verification, fraud_detection and suggestions.

The event graph, each service's per-order state and clock, and the node that runs events in causal order.
"""
