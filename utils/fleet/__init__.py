"""The local fleet: every service as a process on loopback, for `make run` and the tests."""
