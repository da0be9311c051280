"""LLM assistance through the official OpenAI SDK: one JSON-answering client with strict limits.

Fraud detection and suggestions use it; when it is off or fails, they fall back to their rules.
"""
