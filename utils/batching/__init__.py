"""Batches that wait for a bound: the pure due batch (core/) and the thread that sends each batch once it is due."""
