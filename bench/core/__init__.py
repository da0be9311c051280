"""The benchmarks' pure arithmetic: the knee rule, the spread over repeated rounds, gRPC call counts, profile
components, drain and failover pauses.

No I/O here (tests/core/test_purity.py); bench/*.py feed these from the running fleet.
"""
