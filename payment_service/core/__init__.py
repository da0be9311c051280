"""payment_service/core."""
