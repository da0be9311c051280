"""flow/core."""
