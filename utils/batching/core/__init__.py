"""batching/core."""
