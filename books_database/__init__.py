"""The books database: catalog, stock and 2PC reservations, replicated on three nodes by Raft.

The Raft leader is the primary; followers redirect clients to it (FAILED_PRECONDITION + x-leader-address).
"""
