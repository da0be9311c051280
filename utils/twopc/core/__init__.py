"""twopc/core."""
