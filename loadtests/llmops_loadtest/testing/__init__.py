"""Test doubles that are real processes: the project's one scripted OpenAI-compatible upstream
(`sse_upstream`), used by the load-test and the gateway tests and benchmarks; standard
library only, so it imports anywhere."""
