"""transaction_verification/core."""
