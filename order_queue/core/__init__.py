"""order_queue/core."""
