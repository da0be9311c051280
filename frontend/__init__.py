"""The storefront: one static page (catalog, cart, checkout, live order state, cluster view).

The page talks to the orchestrator's HTTP API from the browser; this package only serves the files.
"""
