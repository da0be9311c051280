"""Payment service: tokenization and a durable 2PC participant (hold, capture, void)."""
