"""order_executor/core."""
