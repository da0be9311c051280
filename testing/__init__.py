"""The test harness, importable by tests, benchmarks and the chaos tool, and never shipped: simulated
network, clock and disk, the raft_kv test service, local fleets, test orders and the invariants checker."""
