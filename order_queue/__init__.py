"""The durable priority queue of approved orders, served over gRPC (python -m order_queue)."""
