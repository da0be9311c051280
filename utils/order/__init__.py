"""utils/order."""
