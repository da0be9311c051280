"""Pure decisions of the gRPC plumbing: who may call which method (authz.py)."""
