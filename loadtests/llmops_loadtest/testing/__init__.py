"""Test doubles that are real processes: a scripted OpenAI-style SSE upstream."""
