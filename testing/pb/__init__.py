"""Protocol buffers of the test-only raft_kv service."""
