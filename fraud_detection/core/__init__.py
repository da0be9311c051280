"""fraud_detection/core."""
