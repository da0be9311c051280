"""The HTTP gateway (Flask): checkout, order status, catalog and stock, cluster view, health and metrics."""
