"""suggestions/core."""
