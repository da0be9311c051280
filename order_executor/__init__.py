"""The order executor: a Raft group whose leader runs each queued order as a two-phase commit."""
