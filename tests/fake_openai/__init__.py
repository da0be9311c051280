"""A small OpenAI-compatible HTTP server for tests, so the real SDK path is what is tested."""
