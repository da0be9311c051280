"""Benchmarks that print figures beside the raw costs measured in the same run: `python -m bench.<name>`."""
