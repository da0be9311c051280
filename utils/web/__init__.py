"""The HTTP edge shared by the gateway and the storefront: the server (server.py), problem documents (problem.py)
and the pure admission bound behind early load shedding (core/admission.py)."""
